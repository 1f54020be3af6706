package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon"
	"jukiterm/daemon/config"
	"jukiterm/daemon/link"
	"jukiterm/daemon/link/cs"
	"jukiterm/daemon/link/linkpb"
	"jukiterm/daemon/link/national"
	"jukiterm/daemon/link/peerstate"
	"jukiterm/daemon/update"
	"jukiterm/store"
	"jukiterm/store/record"
)

// linkCertYears is how long this terminal's self-signed link certificate is valid;
// peers pin its key, so a new certificate for the same key keeps their pins.
const linkCertYears = 10

// links are the terminal's links: its identity (the HSM's jukiterm-tls key and the
// link certificate), the pins from the peer ledger, the CS listener and the national
// sender.
type links struct {
	st      *store.Store
	cfg     config.Config
	log     *slog.Logger
	status  *peerstate.Status
	id      link.Identity
	certPEM []byte
}

// setLinks opens the links (docs/links.md) and runs them in the background until ctx
// ends. The CS listener runs only when cs_listen is set.
func setLinks(ctx context.Context, bg *sync.WaitGroup, srv *daemon.Server, st *store.Store, cfg config.Config, keys *hw.Keys, demo bool, log *slog.Logger) error {
	if demo {
		demoLinkConfig(&cfg, log)
	}
	signer, err := keys.Token.TLSSigner()
	if err != nil {
		return fmt.Errorf("the HSM's link key (jukiterm-tls): %w", err)
	}
	certPEM, der, err := linkCertificate(cfg, signer, log)
	if err != nil {
		return err
	}
	l := &links{st: st, cfg: cfg, log: log, status: peerstate.New(nil), id: link.Identity{Certificate: der, Key: signer}, certPEM: certPEM}
	srv.SetLinks(daemon.Links{Status: l.status, Cert: l.cert, National: l.nationalSearch, NationalMany: l.nationalMany})
	if demo {
		demoNationalServer(ctx, bg, st, cfg, der, log)
	}
	if cfg.CSListen != "" {
		ln, err := net.Listen("tcp", cfg.CSListen)
		if err != nil {
			return fmt.Errorf("listen for the CS links on %s (cs_listen): %w", cfg.CSListen, err)
		}
		s := &cs.Server{Store: st, Log: log, Status: l.status, Software: "jukitermd " + update.Version,
			Identity: func() (link.Identity, error) { return l.id, nil },
			Pins:     l.pins(store.PeerCS),
			Refused:  newRefusals(st, log).record}
		bg.Go(func() {
			if err := s.Serve(ctx, ln); err != nil {
				log.Error("the CS links stopped", "err", err, "what_to_do", "restart jukitermd")
			}
		})
		log.Info("listening for the CS links", "address", ln.Addr().String())
	}
	sender := &national.Sender{Store: st, Log: log, Status: l.status.Peer("national"), Software: "jukitermd " + update.Version, Peer: l.national}
	bg.Go(func() { sender.Run(ctx) })
	return nil
}

// linkCertificate reads this terminal's link certificate, making it (self-signed by
// the HSM's key) when missing. A certificate of another key (a replaced HSM, or a
// backup of another terminal restored here) is set aside as link.crt.old and a new one
// made: the terminal serves, and its peers must pin the new key before its links work.
func linkCertificate(cfg config.Config, signer crypto.Signer, log *slog.Logger) ([]byte, []byte, error) {
	b, err := os.ReadFile(cfg.LinkCert)
	if err == nil {
		blk, _ := pem.Decode(b)
		if blk != nil {
			if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
				if k, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && k.Equal(signer.Public()) {
					return b, blk.Bytes, nil
				}
			}
		}
		if err := os.Rename(cfg.LinkCert, cfg.LinkCert+".old"); err != nil {
			return nil, nil, fmt.Errorf("set aside the link certificate %s: %w", cfg.LinkCert, err)
		}
		log.Warn("the link certificate was not that of the HSM's link key (a replaced HSM, or a restored backup): a new one is made and the old one kept as link.crt.old",
			"what_to_do", "give every peer the new certificate (`jukiterm link cert`) to pin; until then they refuse this terminal")
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("read the link certificate: %w", err)
	}
	der, err := link.SelfSigned(signer, "jukiterm "+cfg.TerminalID, time.Now().AddDate(linkCertYears, 0, 0))
	if err != nil {
		return nil, nil, err
	}
	b = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(cfg.LinkCert, b, 0o600); err != nil {
		return nil, nil, fmt.Errorf("write the link certificate %s: %w", cfg.LinkCert, err)
	}
	return b, der, nil
}

func (l *links) cert() ([]byte, string, error) {
	c, err := x509.ParseCertificate(l.id.Certificate)
	if err != nil {
		return nil, "", err
	}
	return l.certPEM, link.FormatFingerprint(link.SPKIFingerprint(c)), nil
}

// pins reads the peer ledger's pins of a role, at every connection.
func (l *links) pins(role string) func(context.Context) (*link.PinSet, error) {
	return func(ctx context.Context) (*link.PinSet, error) {
		ps, err := l.st.Peers(ctx, false)
		if err != nil {
			return nil, err
		}
		var pins []link.Pin
		for _, p := range ps {
			if p.Role != role {
				continue
			}
			var k [32]byte
			if b, err := hex.DecodeString(p.SPKISHA256); err != nil || len(b) != 32 {
				return nil, fmt.Errorf("peer %s: its pinned key is not a SHA-256", p.Name)
			} else {
				copy(k[:], b)
			}
			pins = append(pins, link.Pin{Name: p.Name, Role: link.Role(p.Role), Municipality: p.Municipality, SPKISHA256: k})
		}
		return link.NewPinSet(pins)
	}
}

// national is the national server's address and TLS configuration, from the ledger.
func (l *links) national(ctx context.Context) (national.Peer, error) {
	pins, err := l.pins(store.PeerNational)(ctx)
	if err != nil {
		return national.Peer{}, err
	}
	ps, err := l.st.Peers(ctx, false)
	if err != nil {
		return national.Peer{}, err
	}
	for _, p := range ps {
		if p.Role == store.PeerNational {
			cfg, err := link.ClientConfig(l.id, link.Policy{Pins: pins, Role: link.RoleNational})
			return national.Peer{Address: p.Address, TLS: cfg}, err
		}
	}
	return national.Peer{}, nil
}

func (l *links) nationalSearch(ctx context.Context, q store.Query) ([]record.Record, error) {
	p, err := l.national(ctx)
	if err != nil {
		return nil, err
	}
	lq := national.QueryOf(q.Code, q.Number, q.Kana, q.Name, q.Birth, q.Sex, q.Address)
	return national.Query(ctx, p, "jukitermd "+update.Version, lq)
}

// nationalMany asks the national server the queries of a bulk provision that found
// nobody here; nil answers when no national server is pinned.
func (l *links) nationalMany(ctx context.Context, qs []store.Query) ([]national.Answer, error) {
	p, err := l.national(ctx)
	if err != nil || p.Address == "" {
		return nil, err
	}
	lqs := make([]*linkpb.Query, len(qs))
	for i, q := range qs {
		lqs[i] = national.QueryOf(q.Code, q.Number, q.Kana, q.Name, q.Birth, q.Sex, q.Address)
	}
	return national.QueryMany(ctx, p, "jukitermd "+update.Version, lqs)
}
