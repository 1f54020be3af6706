package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"jukiterm/daemon/client"
	"jukiterm/store"
)

// groupHex prints a key's SHA-256 in groups of four hex digits, for reading aloud on
// the telephone.
func groupHex(h string) string {
	if _, err := hex.DecodeString(h); err != nil {
		return h
	}
	var parts []string
	for i := 0; i < len(h); i += 4 {
		parts = append(parts, h[i:min(i+4, len(h))])
	}
	return strings.Join(parts, " ")
}

func (a *app) peerCmd() *cobra.Command {
	c := &cobra.Command{Use: "peer (add | list | remove)", Short: "The municipalities' CS and the national server this terminal links to (administrator)"}
	var req client.PeerRequest
	var national bool
	var certFile string
	add := a.addJSON(&cobra.Command{
		Use:   "add (--cs MUNICIPALITY | --national --address HOST:PORT) --cert FILE --reason TEXT",
		Short: "Pin a peer by its certificate's public key (administrator)",
		Long: "Pin a municipality's CS (--cs 052019) or the national server (--national, with the\n" +
			"address to connect to) by the SHA-256 of its certificate's public key. The key's\n" +
			"fingerprint is printed in groups of four: read it to the peer's operator on the\n" +
			"telephone before the link is used. Only pinned peers are let in (docs/links.md).",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			switch {
			case national && req.Municipality != "":
				return withCode(exitUsage, errors.New("give either --cs MUNICIPALITY or --national, not both"))
			case national:
				req.Role = store.PeerNational
			case req.Municipality != "":
				req.Role = store.PeerCS
			default:
				return withCode(exitUsage, errors.New("give --cs MUNICIPALITY (a municipality's CS) or --national --address HOST:PORT"))
			}
			b, err := os.ReadFile(certFile)
			if err != nil {
				return fmt.Errorf("read the peer's certificate: %w", err)
			}
			req.CertPEM = string(b)
			p, err := a.client().AddPeer(c.Context(), req)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(p)
			}
			fmt.Printf("Pinned %s (%s), its certificate valid until %s.\nKey SHA-256: %s\nRead it to the peer's operator to check it is theirs.\n",
				p.Name, p.Role, p.NotAfter.Format("2006-01-02"), groupHex(p.SPKISHA256))
			return nil
		},
	})
	add.Flags().StringVar(&req.Municipality, "cs", "", "the CS's 市町村コード (six digits)")
	add.Flags().BoolVar(&national, "national", false, "the national server (全国サーバ)")
	add.Flags().StringVar(&req.Address, "address", "", "the national server's HOST:PORT")
	add.Flags().StringVar(&certFile, "cert", "", "the peer's certificate (PEM)")
	add.Flags().StringVar(&req.Reason, "reason", "", "why (e.g. the letter announcing the certificate)")
	add.MarkFlagRequired("cert")
	add.MarkFlagRequired("reason")

	var all bool
	list := a.addJSON(&cobra.Command{
		Use: "list [--all]", Short: "List the pinned peers with their keys' fingerprints", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ps, err := a.client().Peers(c.Context(), all)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(ps)
			}
			t := &table{head: []string{"name", "role", "address", "valid until", "key SHA-256", "pinned", "removed"}}
			for _, p := range ps {
				removed := ""
				if p.RemovedAt != nil {
					removed = p.RemovedAt.Local().Format("2006-01-02 15:04") + " by " + p.RemovedBy
				}
				t.add(p.Name, p.Role, p.Address, p.NotAfter.Format("2006-01-02"), groupHex(p.SPKISHA256),
					p.AddedAt.Local().Format("2006-01-02 15:04")+" by "+p.AddedBy, removed)
			}
			t.print(os.Stdout)
			return nil
		},
	})
	list.Flags().BoolVar(&all, "all", false, "also the removed pins")

	var reason string
	remove := &cobra.Command{
		Use: "remove NAME --reason TEXT", Short: "Remove a peer's pin: it is refused from now on (administrator)", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := a.client().RemovePeer(c.Context(), args[0], reason); err != nil {
				return err
			}
			fmt.Printf("The pin of %s is removed: it is refused from its next connection.\n", args[0])
			return nil
		},
	}
	remove.Flags().StringVar(&reason, "reason", "", "why")
	remove.MarkFlagRequired("reason")
	c.AddCommand(add, list, remove)
	return c
}
