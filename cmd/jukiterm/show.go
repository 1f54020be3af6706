package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"jukiterm/store/record"
)

func (a *app) showCmd() *cobra.Command {
	var history bool
	c := &cobra.Command{
		Use:   "show CODE",
		Short: "Show one person's record by 住民票コード, with --history its earlier versions",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if !record.ValidResidentCode(args[0]) {
				return withCode(exitUsage, fmt.Errorf("住民票コード %q is not 11 digits", args[0]))
			}
			p, err := a.client().Show(c.Context(), args[0], history)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(p)
			}
			printRecord(p.Record)
			if history {
				fmt.Printf("\n履歴 (history), oldest first: %d earlier version(s)\n", len(p.Versions()))
				for i, h := range p.Versions() {
					fmt.Printf("\n[%d] %s %s (更新順番号 %d)\n", i+1, h.Reason, h.ChangedOn, h.UpdateSeq)
					printRecord(h)
				}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&history, "history", false, "also show every earlier version (oldest first)")
	return a.addJSON(c)
}

func printRecord(r record.Record) {
	t := &table{head: []string{"項目", "内容"}}
	opt := func(label, v string) {
		if v != "" {
			t.add(label, v)
		}
	}
	t.add("住民票コード", r.ResidentCode)
	t.add("個人番号", r.MyNumber)
	t.add("氏名", r.Name+gaiji(r.NameGaiji))
	t.add("ふりがな", r.NameKana)
	t.add("清音化かな氏名", r.NameKanaSeion)
	t.add("生年月日", r.Birth+" ("+record.Wareki(r.Birth)+")")
	t.add("性別", sexName(r.Sex))
	t.add("住所", r.Address+gaiji(r.AddressGaiji))
	t.add("市町村コード", r.Municipality)
	opt("大字・字コード", r.DistrictCode)
	opt("旧氏", r.FormerSurname+gaiji(r.FormerSurnameGaiji))
	opt("旧氏ふりがな", r.FormerSurnameKana)
	t.add("異動事由", r.Reason)
	t.add("異動年月日", r.ChangedOn)
	t.add("通知を受けた年月日", r.NotifiedOn)
	t.add("更新順番号", fmt.Sprint(r.UpdateSeq))
	t.add("状態", statusName(r.Status))
	t.print(os.Stdout)
}

func gaiji(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (外字 %d)", n)
}
