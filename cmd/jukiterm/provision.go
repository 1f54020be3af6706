package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"jukiterm/daemon/api"
	"jukiterm/daemon/client"
)

// exitUnverified: a provision was written whole but could not be read back.
const exitUnverified = 5

func (a *app) provisionCmd() *cobra.Command {
	c := &cobra.Command{Use: "provision (run | list)", Short: "Bulk provision (一括提供) and transfer (移転) on issued media"}
	var req api.ProvisionRequest
	var file string
	run := a.addJSON(&cobra.Command{
		Use:   "run --application ID --request FILE.csv --medium SERIAL",
		Short: "Run a request file (FORMATS §5) and write the encrypted, signed result to an issued stick",
		Long: "The request is checked whole first (bad rows are listed, nothing is written); the\n" +
			"stick must be issued to you, of an approved model, mass storage only, unlocked and\n" +
			"mounted. The results (only the items the recipient may receive) and the not-found list\n" +
			"are encrypted to the application's recipient, written with a signed manifest, and read\n" +
			"back. Exit status: 0 written, 2 nothing written (request, application, usage),\n" +
			"4 the medium was refused, 5 written whole but not read back (check the medium with\n" +
			"jukiterm media verify before it is handed over).",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if req.Application == "" || file == "" || req.Medium == "" {
				return withCode(exitUsage, errors.New("give --application ID, --request FILE.csv and --medium SERIAL (jukiterm media list shows the connected sticks)"))
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("cannot read the request file, nothing was written: %w", err))
			}
			req.Request, req.RequestName = data, filepath.Base(file)
			var bar *progressbar.ProgressBar
			stage := ""
			res, err := a.client().Provision(c.Context(), req, func(p api.ProvisionProgress) {
				if !term.IsTerminal(int(os.Stderr.Fd())) {
					return
				}
				if p.Stage != stage {
					if bar != nil {
						bar.Finish()
					}
					stage = p.Stage
					desc := map[string]string{"search": "searching", "write": "writing to the medium"}[p.Stage]
					bar = progressbar.NewOptions(p.Total, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription(desc),
						progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
				}
				bar.Set(p.Done)
			})
			if bar != nil {
				bar.Finish()
			}
			if err != nil {
				var pe *client.ProvisionError
				if errors.As(err, &pe) {
					if a.json {
						printJSON(map[string]any{"error": pe.Err, "problems": pe.Problems})
					}
					switch pe.Err.Kind {
					case api.KindDenied:
						return withCode(exitRefused, err)
					case api.KindUnverified:
						return withCode(exitUnverified, err)
					}
				}
				return withCode(exitUsage, err)
			}
			if a.json {
				return printJSON(res)
			}
			what := map[string]string{"provision": "提供 (provision)", "transfer": "移転 (transfer)"}[res.Kind]
			fmt.Printf("%s %s written to medium %s in %s and read back: verified.\n", what, res.ID, res.Medium, res.Directory)
			fmt.Printf("  application %s → recipient %s: %d queries, %d result rows, %d not found (更新順番号 %d)\n",
				res.Application, res.Recipient, res.Queries, res.Matched, res.NotFound, res.UpdateSeq)
			if res.NationalRows > 0 {
				fmt.Printf("  %d of the result rows are the national server's answers (機構への照会) for queries this file matched nobody for\n", res.NationalRows)
			}
			if res.NationalError != "" {
				fmt.Printf("  national server: %s\n", res.NationalError)
			}
			fmt.Printf("  the application expects %d records; %d provided under it so far\n", res.ApplicationExpected, res.ApplicationProvided)
			if res.ApplicationExpected > 0 && res.ApplicationProvided > res.ApplicationExpected {
				fmt.Fprintf(os.Stderr, "Note: more records were provided under %s than it expects: the auditor's reconcile reports it.\n", res.Application)
			}
			return nil
		},
	})
	run.Flags().StringVar(&req.Application, "application", "", "the 申請 (application) the provision is made under")
	run.Flags().StringVar(&file, "request", "", "the request file (CSV, FORMATS §5)")
	run.Flags().StringVar(&req.Medium, "medium", "", "the serial number of the issued stick")
	run.Flags().StringVar(&req.Recipient, "recipient", "", "the recipient (optional: the application's)")
	var app string
	list := a.addJSON(&cobra.Command{
		Use: "list [--application ID]", Short: "List the provisions made", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ps, err := a.client().Provisions(c.Context(), app)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(ps)
			}
			t := &table{head: []string{"id", "time", "kind", "application", "recipient", "operator", "medium", "queries", "rows", "not found", "outcome"}}
			for _, p := range ps {
				t.add(p.ID, p.At.Local().Format("2006-01-02 15:04"), p.Kind, p.Application, p.Recipient, p.Operator, p.Medium,
					fmt.Sprint(p.Queries), fmt.Sprint(p.Matched), fmt.Sprint(p.NotFound), p.Outcome)
			}
			t.print(os.Stdout)
			return nil
		},
	})
	list.Flags().StringVar(&app, "application", "", "only those of this application")
	c.AddCommand(run, list)
	return c
}
