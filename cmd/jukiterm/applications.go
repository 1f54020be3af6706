package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"jukiterm/store"
)

func (a *app) applicationCmd() *cobra.Command {
	c := &cobra.Command{Use: "application (add | list | close)", Short: "The applications (申請) searches and provisions are done under"}
	var ap store.Application
	add := &cobra.Command{
		Use:   "add ID --body BODY --purpose TEXT --legal-basis TEXT --expected N --from DATE --to DATE",
		Short: "Register an application (administrator)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ap.ID = args[0]
			got, err := a.client().AddApplication(c.Context(), ap)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(got)
			}
			fmt.Printf("Application %s registered: %s, %s (%s), %d records expected, valid %s to %s.\n",
				got.ID, got.Body, got.Purpose, got.LegalBasis, got.Expected, got.ValidFrom, got.ValidTo)
			return nil
		},
	}
	add.Flags().StringVar(&ap.Body, "body", "", "the requesting body or department")
	add.Flags().StringVar(&ap.Purpose, "purpose", "", "利用目的")
	add.Flags().StringVar(&ap.LegalBasis, "legal-basis", "", "e.g. 住基法 別表第5 第1号")
	add.Flags().IntVar(&ap.Expected, "expected", 0, "the number of records expected")
	add.Flags().StringVar(&ap.ValidFrom, "from", "", "first valid day, YYYY-MM-DD")
	add.Flags().StringVar(&ap.ValidTo, "to", "", "last valid day, YYYY-MM-DD")
	add.Flags().StringVar(&ap.Recipient, "recipient", "", "the registered recipient provisions under it go to (default: the recipient whose id or name is --body)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the applications and their state today",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			apps, err := a.client().Applications(c.Context())
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(apps)
			}
			t := &table{head: []string{"id", "body", "purpose", "legal basis", "expected", "valid", "state"}}
			for _, x := range apps {
				t.add(x.ID, x.Body, x.Purpose, x.LegalBasis, fmt.Sprint(x.Expected), x.ValidFrom+"〜"+x.ValidTo, x.StateAt(time.Now(), time.Local))
			}
			t.print(os.Stdout)
			return nil
		},
	}
	var reason string
	closeCmd := &cobra.Command{
		Use:   "close ID --reason TEXT",
		Short: "Close an application before its end (administrator)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			got, err := a.client().CloseApplication(c.Context(), args[0], reason)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(got)
			}
			fmt.Printf("Application %s closed.\n", got.ID)
			return nil
		},
	}
	closeCmd.Flags().StringVar(&reason, "reason", "", "why it is closed (required)")
	for _, x := range []*cobra.Command{add, list, closeCmd} {
		a.addJSON(x)
	}
	c.AddCommand(add, list, closeCmd)
	return c
}

func (a *app) reconcileCmd() *cobra.Command {
	var from, to string
	c := &cobra.Command{
		Use:   "reconcile --from DATE --to DATE",
		Short: "Report use per operator and application: counts against expected, no or bad application, out-of-hours use, unusual volume",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			rep, err := a.client().Reconcile(c.Context(), from, to)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(rep)
			}
			fmt.Printf("利用状況の照合 (reconciliation) %s to %s\n\n", from, to)
			t := &table{head: []string{"operator", "application", "searches", "views", "provisions", "records", "expected", ""}}
			for _, l := range rep.Lines {
				flag, app, exp := "", l.Application, "-"
				if l.OverExpected {
					flag = "OVER EXPECTED"
				}
				if app == "" {
					app = "(none)"
				}
				if l.Expected > 0 {
					exp = fmt.Sprint(l.Expected)
				}
				t.add(l.Operator, app, fmt.Sprint(l.Searches), fmt.Sprint(l.Views), fmt.Sprint(l.Provisions), fmt.Sprint(l.Records), exp, flag)
			}
			t.print(os.Stdout)
			for _, g := range []struct {
				title string
				fs    []store.Finding
			}{{"Without an application", rep.NoApplication}, {"Under an unknown, closed, expired or not yet valid application", rep.BadApplication},
				{"Outside office hours", rep.OutOfHours}} {
				fmt.Printf("\n%s: %d\n", g.title, len(g.fs))
				for i, f := range g.fs {
					if i == 20 {
						fmt.Printf("  … and %d more (--json lists all)\n", len(g.fs)-20)
						break
					}
					fmt.Printf("  entry %d  %s  %s  %s  %s\n", f.Index, f.At.Local().Format("2006-01-02 15:04"), f.Operator, f.Action, f.Why)
				}
			}
			fmt.Printf("\nUnusual volume: %d\n", len(rep.UnusualVolume))
			for _, v := range rep.UnusualVolume {
				fmt.Printf("  %s  %s  %d searches and views\n", v.Day, v.Operator, v.Count)
			}
			return nil
		},
	}
	c.Flags().StringVar(&from, "from", "", "first day, YYYY-MM-DD")
	c.Flags().StringVar(&to, "to", "", "last day, YYYY-MM-DD")
	return a.addJSON(c)
}
