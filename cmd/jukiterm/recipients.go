package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"jukiterm/store"
)

func (a *app) recipientCmd() *cobra.Command {
	c := &cobra.Command{Use: "recipient (add | list)", Short: "The bodies and departments records are provided to"}
	var r store.Recipient
	var items string
	add := a.addJSON(&cobra.Command{
		Use:   "add ID --name NAME --kind body|department --legal-basis TEXT --age-recipient age1… --items LIST",
		Short: "Register a recipient with its legal basis, age public key and the items it may receive (administrator)",
		Long: "Register another executive body (--kind body: 提供, under 住基法 別表第5/第6) or a department of\n" +
			"the prefecture (--kind department: 移転, under an 条例). Its provisions are encrypted to\n" +
			"--age-recipient and hold only --items (comma-separated record fields, e.g.\n" +
			"resident_code,name,name_kana,birth,sex,address).",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			r.ID = args[0]
			for _, it := range strings.Split(items, ",") {
				if it = strings.TrimSpace(it); it != "" {
					r.Items = append(r.Items, it)
				}
			}
			got, err := a.client().AddRecipient(c.Context(), r)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(got)
			}
			fmt.Printf("Recipient %s registered: %s (%s, %s), items %s.\n", got.ID, got.Name, got.Kind, got.LegalBasis, strings.Join(got.Items, ","))
			return nil
		},
	})
	add.Flags().StringVar(&r.Name, "name", "", "the body's or department's name")
	add.Flags().StringVar(&r.Kind, "kind", store.RecipientBody, "body (another executive body: 提供) or department (移転)")
	add.Flags().StringVar(&r.LegalBasis, "legal-basis", "", "e.g. 住基法 別表第5 第1号, or the 条例")
	add.Flags().StringVar(&r.LegalBasis, "basis", "", "the same as --legal-basis")
	add.Flags().StringVar(&r.AgeRecipient, "age-recipient", "", "the recipient's age public key (age1…)")
	add.Flags().StringVar(&r.AgeRecipient, "key", "", "the same as --age-recipient")
	add.Flags().StringVar(&items, "items", "", "the fields it may receive, comma-separated")
	list := a.addJSON(&cobra.Command{
		Use: "list", Short: "List the recipients", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			rs, err := a.client().Recipients(c.Context())
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(rs)
			}
			t := &table{head: []string{"id", "name", "kind", "legal basis", "items"}}
			for _, x := range rs {
				t.add(x.ID, x.Name, x.Kind, x.LegalBasis, strings.Join(x.Items, ","))
			}
			t.print(os.Stdout)
			return nil
		},
	})
	c.AddCommand(add, list)
	return c
}
