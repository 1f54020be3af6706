package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// shownRejections is how many rejections the table shows; --json and --rejections
// FILE give them all.
const shownRejections = 20

func (a *app) ingestCmd() *cobra.Command {
	var rejectionsFile string
	c := &cobra.Command{
		Use:   "ingest FILE",
		Short: "Apply a file of change notifications from municipalities (JSON Lines)",
		Long: "Apply a file of change notifications (FORMATS: one JSON object per line).\n" +
			"The file is sent as it is read; the same file again resumes an ingest that stopped early.\n" +
			fmt.Sprintf("Without --json, the first %d rejections are shown, then the counts;\n", shownRejections) +
			"--rejections FILE writes every rejection to FILE (JSON Lines).\n" +
			"Exit status: 0 all applied, 3 some rejected (the rest applied), 2 usage or I/O error.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			f, sum, lines, err := openNotifications(args[0])
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("cannot read the notification file, nothing was applied: %w", err))
			}
			defer f.Close()
			var bar *progressbar.ProgressBar
			if term.IsTerminal(int(os.Stderr.Fd())) {
				bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(os.Stderr),
					progressbar.OptionSetDescription("applying"), progressbar.OptionShowCount(),
					progressbar.OptionSetItsString("lines"), progressbar.OptionShowIts(),
					progressbar.OptionClearOnFinish())
			}
			res, err := a.client().IngestStream(c.Context(), f, sum, lines, func(p api.Progress) {
				if bar != nil {
					if p.Total > 0 {
						bar.ChangeMax(p.Total)
					}
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
			if rejectionsFile != "" {
				if werr := writeRejections(rejectionsFile, res.Rejections); werr != nil {
					defer fmt.Fprintf(os.Stderr, "jukiterm: the rejections could not be written to %s (%v): see them with --json\n", rejectionsFile, werr)
				}
			}
			if a.json {
				enc := json.NewEncoder(os.Stdout)
				enc.SetEscapeHTML(false)
				enc.Encode(res)
			} else {
				printIngest(res, rejectionsFile)
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
	c.Flags().StringVar(&rejectionsFile, "rejections", "", "write every rejection to this file, one JSON object per line")
	return a.addJSON(c)
}

// openNotifications opens a notification file and, when it is a regular file, reads
// it once for its SHA-256 and line count (which name it to jukitermd, so that an
// interrupted ingest of it resumes) and rewinds it. A pipe is sent unnamed.
func openNotifications(path string) (r io.ReadCloser, sum string, lines int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", 0, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return f, "", 0, nil
	}
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var last byte
	var size int64
	for {
		n, rerr := f.Read(buf)
		h.Write(buf[:n])
		lines += bytes.Count(buf[:n], []byte("\n"))
		if n > 0 {
			last = buf[n-1]
			size += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			f.Close()
			return nil, "", 0, rerr
		}
	}
	if size > 0 && last != '\n' {
		lines++
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, "", 0, err
	}
	// Exactly the bytes hashed: a file that grows meanwhile sends what was named.
	return limitedFile{io.LimitReader(f, size), f}, hex.EncodeToString(h.Sum(nil)), lines, nil
}

// limitedFile reads a prefix of a file and closes the file.
type limitedFile struct {
	io.Reader
	io.Closer
}

// writeRejections writes every rejection to path, one JSON object per line.
func writeRejections(path string, rs []store.Rejection) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range rs {
		if err := enc.Encode(r); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// printIngest prints the first rejections, how many more there are, and the counts
// last, where they stay in view.
func printIngest(res store.IngestResult, rejectionsFile string) {
	if len(res.Rejections) > 0 {
		t := &table{head: []string{"line", "id", "rule", "reason for rejection"}}
		for _, r := range res.Rejections[:min(len(res.Rejections), shownRejections)] {
			t.add(fmt.Sprint(r.Line), r.ID, r.Rule, r.Message)
		}
		t.print(os.Stdout)
		if more := len(res.Rejections) - shownRejections; more > 0 {
			where := "see them all with --json or --rejections FILE"
			if rejectionsFile != "" {
				where = "all are in " + rejectionsFile
			}
			fmt.Printf("… and %d more: %s\n", more, where)
		}
		fmt.Println()
	}
	resumed := ""
	if res.ResumedAfterLine > 0 {
		resumed = fmt.Sprintf(" (an interrupted ingest of this file resumed after line %d; the counts cover the whole file)", res.ResumedAfterLine)
	}
	fmt.Printf("applied %d, duplicates %d, rejected %d%s\n", res.Applied, res.Duplicates, res.Rejected, resumed)
}
