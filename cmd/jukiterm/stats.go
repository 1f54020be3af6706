package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func (a *app) statsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "stats",
		Short: "Count what the identity file holds",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := a.client().Stats(c.Context())
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(st)
			}
			t := &table{}
			t.add("現存者 current residents", fmt.Sprint(st.Current))
			t.add("消除者 removed persons", fmt.Sprint(st.Removed))
			t.add("履歴 history rows", fmt.Sprint(st.HistoryRows))
			t.add("applied notifications", fmt.Sprint(st.Applied))
			t.add("rejected notifications", fmt.Sprint(st.Rejected))
			t.add("更新順番号 last update sequence", fmt.Sprint(st.UpdateSeq))
			t.add("database size", fmt.Sprintf("%.1f MiB", float64(st.DatabaseBytes)/(1<<20)))
			t.print(os.Stdout)
			return nil
		},
	}
	return a.addJSON(c)
}
