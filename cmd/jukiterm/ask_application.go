package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"jukiterm/daemon/client"
)

// askApplication asks, at a terminal, which 申請 (application) a search is done under,
// listing the ones valid today. It returns "" when the person gives none (the search
// is then logged as made without one and reported by the audit reconcile), and asks
// nothing when input or output is not a terminal (scripts pass --application).
func askApplication(ctx context.Context, cl *client.Client) string {
	if !term.IsTerminal(int(os.Stdin.Fd())) || !term.IsTerminal(int(os.Stderr.Fd())) {
		return ""
	}
	return promptApplication(ctx, cl, os.Stdin, os.Stderr, time.Now())
}

func promptApplication(ctx context.Context, cl *client.Client, in io.Reader, out io.Writer, now time.Time) string {
	apps, err := cl.Applications(ctx)
	if err != nil {
		return "" // the search itself says what is wrong with the session
	}
	today := now.Format(time.DateOnly)
	var valid []string
	for _, a := range apps {
		if a.ClosedAt == nil && a.ValidFrom <= today && today <= a.ValidTo {
			valid = append(valid, a.ID)
			if len(valid) <= 10 {
				fmt.Fprintf(out, "  %s  %s — %s (%s, until %s)\n", a.ID, a.Body, a.Purpose, a.LegalBasis, a.ValidTo)
			}
		}
	}
	if len(valid) == 0 {
		fmt.Fprintln(out, "No 申請 (application) is open today: the search is logged without one and reported to the auditor.")
		return ""
	}
	if len(valid) > 10 {
		fmt.Fprintf(out, "  … and %d more (jukiterm application list)\n", len(valid)-10)
	}
	fmt.Fprint(out, "申請番号 (application ID) this search is done under [Enter: none, reported to the auditor]: ")
	line, _ := bufio.NewReader(in).ReadString('\n')
	return strings.TrimSpace(line)
}
