package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

func (a *app) ingestCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "ingest FILE",
		Short: "Apply a file of change notifications from municipalities (JSON Lines)",
		Long: "Apply a file of change notifications (FORMATS: one JSON object per line).\n" +
			"Exit status: 0 all applied, 3 some rejected (the rest applied), 2 usage or I/O error.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("cannot read the notification file, nothing was applied: %w", err))
			}
			var bar *progressbar.ProgressBar
			if term.IsTerminal(int(os.Stderr.Fd())) {
				bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(os.Stderr),
					progressbar.OptionSetDescription("applying"), progressbar.OptionShowCount(),
					progressbar.OptionSetItsString("lines"), progressbar.OptionShowIts(),
					progressbar.OptionClearOnFinish())
			}
			res, err := a.client().Ingest(c.Context(), data, func(p api.Progress) {
				if bar != nil {
					bar.ChangeMax(p.Total)
					bar.Set(p.Lines)
				}
			})
			if bar != nil {
				bar.Finish()
			}
			var ae *api.Error
			if err != nil && (!errors.As(err, &ae) || res.Rejections == nil) {
				return withCode(exitUsage, err) // no result: nothing of this file was applied
			}
			if a.json {
				enc := json.NewEncoder(os.Stdout)
				enc.SetEscapeHTML(false)
				enc.Encode(res)
			} else {
				printIngest(res)
			}
			if err != nil {
				return withCode(exitUsage, err)
			}
			if res.Rejected > 0 {
				others := "the others were applied"
				if res.Applied+res.Duplicates == 0 {
					others = "nothing was applied"
				}
				return &exitError{code: exitRejected, err: fmt.Errorf("%d notification(s) rejected, %s. Each rejection is recorded with its reason; send it back to its municipality for correction", res.Rejected, others)}
			}
			return nil
		},
	}
	return a.addJSON(c)
}

func printIngest(res store.IngestResult) {
	fmt.Printf("applied %d, duplicates %d, rejected %d\n", res.Applied, res.Duplicates, res.Rejected)
	if len(res.Rejections) == 0 {
		return
	}
	t := &table{head: []string{"line", "id", "rule", "reason for rejection"}}
	for _, r := range res.Rejections {
		t.add(fmt.Sprint(r.Line), r.ID, r.Rule, r.Message)
	}
	fmt.Println()
	t.print(os.Stdout)
}
