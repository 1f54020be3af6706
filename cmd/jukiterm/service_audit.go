package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) auditServiceCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "service [SESSION]",
		Short: "Transcripts of the vendors' service sessions from the operation log (an auditor)",
		Long: "Print each service (保守) session: vendor, supervisor, start, every confirmation, pause\n" +
			"and end with the reason, and every command with its result, from the operation log.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			ts, err := a.client().AuditService(c.Context(), id)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(ts)
			}
			if len(ts) == 0 {
				fmt.Println("No service session in the operation log.")
			}
			for _, t := range ts {
				end := "not ended"
				if t.Ended != "" {
					end = "ended " + localTime(t.Ended) + ": " + t.EndReason
				}
				fmt.Printf("Service session %s: vendor %s, supervisor %s, started %s, %s\n", t.Session, t.Vendor, t.Supervisor, localTime(t.Started), end)
				for _, s := range t.Steps {
					fmt.Printf("  #%d %s %-24s %s\n", s.Index, localTime(s.At), s.Step, strings.Join(s.Detail, " "))
				}
			}
			return nil
		},
	}
	return a.addJSON(c)
}
