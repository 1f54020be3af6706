package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

func (a *app) linkCmd() *cobra.Command {
	c := &cobra.Command{Use: "link (status | cert)", Short: "The links to the municipalities' CS and the national server (administrator, auditor)"}
	status := a.addJSON(&cobra.Command{
		Use: "status", Short: "Show each link: connected, sequences received, sent and acknowledged, backlog, last error", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var st api.LinkStatus
			if err := a.client().LinkStatus(c.Context(), &st); err != nil {
				return err
			}
			if a.json {
				return printJSON(st)
			}
			printLinks(st)
			return nil
		},
	})
	cert := &cobra.Command{
		Use: "cert", Short: "Print this terminal's link certificate (PEM) for the peers to pin, and its key's fingerprint", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			pem, fp, err := a.client().LinkCert(c.Context())
			if err != nil {
				return err
			}
			fmt.Print(pem)
			fmt.Fprintf(os.Stderr, "Key SHA-256: %s\nGive the certificate to the peer's operator; read them the fingerprint on the telephone.\n", fp)
			return nil
		},
	}
	c.AddCommand(status, cert)
	return c
}

func printLinks(st api.LinkStatus) {
	views := map[string]int{}
	for i, v := range st.Links {
		views[v.Name] = i
	}
	t := &table{head: []string{"peer", "state", "since", "received", "sent", "acknowledged", "backlog", "outcomes", "last error"}}
	for _, p := range st.Peers {
		state, since, recv, sent, acked, backlog, outcomes, lastErr := "not connected", "", "", "", "", "", "", ""
		if p.Role == store.PeerCS {
			acked = fmt.Sprint(st.CS[p.Name])
		} else {
			acked = fmt.Sprint(st.Outbox.Acked)
			backlog = fmt.Sprint(st.Outbox.Backlog)
		}
		if i, ok := views[p.Name]; ok {
			v := st.Links[i]
			if v.Connected {
				state = "connected from " + v.Remote
				if p.Role == store.PeerNational {
					state = "connected to " + v.Remote
				}
			}
			if v.Since != nil {
				since = v.Since.Local().Format("2006-01-02 15:04:05")
			}
			if v.Received > 0 {
				recv = fmt.Sprint(v.Received)
			}
			if v.Sent > 0 {
				sent = fmt.Sprint(v.Sent)
			}
			var parts []string
			for k, n := range v.Outcomes {
				parts = append(parts, fmt.Sprintf("%s %d", k, n))
			}
			sort.Strings(parts)
			outcomes = strings.Join(parts, ", ")
			if v.LastError != "" {
				lastErr = v.LastError
				if v.LastErrorAt != nil {
					lastErr = v.LastErrorAt.Local().Format("15:04:05") + " " + lastErr
				}
			}
		}
		t.add(p.Name, state, since, recv, sent, acked, backlog, outcomes, lastErr)
	}
	t.print(os.Stdout)
	if len(st.Peers) == 0 {
		fmt.Println("No peer is pinned: the administrator pins them with `jukiterm peer add`.")
	}
	fmt.Printf("Outbox to the national server: %d updates waiting; acknowledged up to 更新順番号 %d.\n", st.Outbox.Backlog, st.Outbox.Acked)
}
