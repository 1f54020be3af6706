//go:build !nohwsim

package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"jukiterm/daemon/config"
	"jukiterm/daemon/link"
	"jukiterm/hwsim/nationalsim"
	"jukiterm/hwsim/simpeer"
	"jukiterm/store"
)

// The demo's link addresses (make run): the CS listener and the national simulator.
const (
	demoCSListen = "127.0.0.1:7441"
	demoNational = "127.0.0.1:7442"
)

// demoNationalExample is a person of another prefecture the demo hints show;
// demoCSCert the certificate of the simulated CS of 052019, made for the hints.
var demoNationalExample, demoCSCert string

// demoCSListen lets a demo listen for CS links on demoCSListen when the configuration
// sets no cs_listen and the port is free.
func demoLinkConfig(cfg *config.Config, log *slog.Logger) {
	if cfg.CSListen != "" {
		return
	}
	l, err := net.Listen("tcp", demoCSListen)
	if err != nil {
		log.Info("demo: no CS listener (its port is taken)", "address", demoCSListen)
		return
	}
	l.Close()
	cfg.CSListen = demoCSListen
}

// demoNationalServer runs the national server simulator inside the demo jukitermd and
// pins it when no national server is pinned, so that `jukiterm search --national` and
// the outbox work at once. Its failure only costs the demo its national server.
func demoNationalServer(ctx context.Context, bg *sync.WaitGroup, st *store.Store, cfg config.Config, terminalCert []byte, log *slog.Logger) {
	if _, cert, err := simpeer.Identity(filepath.Join(cfg.StateDir, "sim", "cs-052019"), "cs-052019"); err == nil {
		demoCSCert = cert
	}
	dir := filepath.Join(cfg.StateDir, "sim", "national")
	id, _, err := simpeer.Identity(dir, "national-server-simulator")
	if err != nil {
		log.Warn("demo: no national server simulator", "err", err)
		return
	}
	sim, err := nationalsim.Open(filepath.Join(dir, "national.db"))
	if err != nil {
		log.Warn("demo: no national server simulator", "err", err)
		return
	}
	if demoNationalExample, err = sim.Seed(ctx, 4242, 1000); err != nil {
		log.Warn("demo: the national server simulator's persons", "err", err)
	}
	tc, err := x509.ParseCertificate(terminalCert)
	if err != nil {
		sim.Close()
		return
	}
	pins, err := link.NewPinSet([]link.Pin{{Name: "terminal", Role: link.RoleTerminal, SPKISHA256: sha256.Sum256(tc.RawSubjectPublicKeyInfo)}})
	if err != nil {
		sim.Close()
		return
	}
	sim.Identity, sim.Pins, sim.Log = id, pins, log
	l, err := net.Listen("tcp", demoNational)
	if err != nil {
		log.Info("demo: no national server simulator (its port is taken)", "address", demoNational)
		sim.Close()
		return
	}
	bg.Go(func() {
		defer sim.Close()
		sim.Serve(ctx, l)
	})
	ps, err := st.Peers(ctx, false)
	if err != nil {
		return
	}
	for _, p := range ps {
		if p.Role == store.PeerNational {
			return
		}
	}
	nc, _ := x509.ParseCertificate(id.Certificate)
	sum := sha256.Sum256(nc.RawSubjectPublicKeyInfo)
	if err := st.AddPeer(ctx, store.Peer{Role: store.PeerNational, Address: demoNational, SPKISHA256: hex.EncodeToString(sum[:]),
		NotAfter: nc.NotAfter, Reason: "demo: the national server simulator (jukitermd --demo)"}, "jukitermd", time.Now()); err != nil {
		log.Warn("demo: the national server simulator is not pinned", "err", err)
	}
}
