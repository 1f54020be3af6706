package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"
)

// exitTampered is the exit status of an audit verify that found the log altered.
const exitTampered = 5

func (a *app) auditCmd() *cobra.Command {
	c := &cobra.Command{Use: "audit (verify | lookup | prove | consistency | reconcile | export)", Short: "Check the tamper-evident operation log (auditor)"}
	var fromFile string
	verify := &cobra.Command{
		Use:   "verify [--from-checkpoint FILE]",
		Short: "Recompute the operation log's tree and check it against every signed checkpoint",
		Long: "Recompute every entry and the Merkle tree, check each recorded checkpoint's signature\n" +
			"and root and the consistency between them, and the consistency with an exported\n" +
			"checkpoint (FILE, e.g. from the medium it was exported to; default: the newest in the\n" +
			"export directory). Reports the first bad entry. Exit status 5 when the log was altered.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var from []byte
			if fromFile != "" {
				b, err := os.ReadFile(fromFile)
				if err != nil {
					return withCode(exitUsage, fmt.Errorf("read the checkpoint: %w", err))
				}
				from = b
			}
			rep, err := a.client().AuditVerify(c.Context(), from)
			if err != nil {
				return err
			}
			if a.json {
				if err := printJSON(rep); err != nil {
					return err
				}
			}
			if rep.Problem != nil {
				return &exitError{code: exitTampered, err: fmt.Errorf("the operation log was altered: %s: %s: report it; keep the terminal and its media as they are", rep.Problem.Where(), rep.Problem.What)}
			}
			if !a.json {
				fmt.Printf("The operation log verifies: %d entries (%d erased after retention), %d signed checkpoints checked", rep.Entries, rep.Erased, rep.Checkpoints)
				if rep.Exported > 0 {
					fmt.Printf(", consistent with the exported checkpoint of %d entries", rep.Exported)
				}
				fmt.Println(".")
			}
			return nil
		},
	}
	verify.Flags().StringVar(&fromFile, "from-checkpoint", "", "an exported checkpoint to check the log against")
	lookup := &cobra.Command{
		Use:   "lookup VALUE",
		Short: "Tell whether and when a personal value (a code, a number, a name) appears in the log",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			hits, err := a.client().AuditLookup(c.Context(), args[0])
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(hits)
			}
			if len(hits) == 0 {
				fmt.Println("The value appears in no entry of the operation log.")
				return nil
			}
			t := &table{head: []string{"entry", "at", "operator", "action", "as"}}
			for _, h := range hits {
				t.add(strconv.FormatInt(h.Index, 10), h.At.Local().Format("2006-01-02 15:04:05"), h.Operator, h.Action, fmt.Sprint(h.Fields))
			}
			t.print(os.Stdout)
			return nil
		},
	}
	a.addJSON(verify)
	a.addJSON(lookup)
	var from, to string
	export := &cobra.Command{
		Use:   "export --from DATE --to DATE",
		Short: "Write an encrypted (to backup_recipients), signed archive of a period's entries",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			file, n, err := a.client().AuditExport(c.Context(), from, to)
			if err != nil {
				return err
			}
			fmt.Printf("%d entries archived in %s (signature in %s.sig).\n", n, file, file)
			return nil
		},
	}
	export.Flags().StringVar(&from, "from", "", "first day, YYYY-MM-DD")
	export.Flags().StringVar(&to, "to", "", "last day, YYYY-MM-DD")
	c.AddCommand(verify, lookup, a.proveCmd(), a.consistencyCmd(), a.reconcileCmd(), export, a.auditServiceCmd())
	return c
}
