// Package linkworld runs the links in one process: a terminal's identity file with its
// CS listener and national sender, the national server simulator, and CS simulators,
// over real TLS on loopback sockets — for the links' tests and `jukiterm bench links`.
package linkworld

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"jukiterm/daemon/link"
	"jukiterm/daemon/link/cs"
	"jukiterm/daemon/link/national"
	"jukiterm/daemon/link/peerstate"
	"jukiterm/hwsim/cssim"
	"jukiterm/hwsim/nationalsim"
	"jukiterm/store"
)

// Party is one end of a link: its key and self-signed certificate.
type Party struct {
	Key  crypto.Signer
	Cert []byte
	spki [32]byte
}

// NewParty makes a key and a certificate valid for a year.
func NewParty(name string) (Party, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Party{}, err
	}
	c, err := link.SelfSigned(k, name, time.Now().AddDate(1, 0, 0))
	if err != nil {
		return Party{}, err
	}
	return PartyOf(k, c)
}

// PartyOf makes a party of a key and its certificate (DER).
func PartyOf(k crypto.Signer, cert []byte) (Party, error) {
	c, err := x509.ParseCertificate(cert)
	if err != nil {
		return Party{}, err
	}
	return Party{Key: k, Cert: cert, spki: sha256.Sum256(c.RawSubjectPublicKeyInfo)}, nil
}

// Identity is the party as a link end.
func (p Party) Identity() link.Identity { return link.Identity{Certificate: p.Cert, Key: p.Key} }

// SPKI is the SHA-256 of the party's public key.
func (p Party) SPKI() [32]byte { return p.spki }

// World is a terminal with its CS listener, a national simulator and (once Sender is
// called) the national sender.
type World struct {
	Store    *store.Store
	Terminal Party
	National Party
	Sim      *nationalsim.Sim
	Status   *peerstate.Status
	CSAddr   string
	NatAddr  string
	Refused  chan *link.RefusedError
	Log      *slog.Logger

	csPins []link.Pin
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start opens a world on the identity file st (owned by the caller), keeping the
// simulator's file in dir; its terminal accepts the CS in csPins.
func Start(st *store.Store, dir string, csPins ...link.Pin) (*World, error) {
	w := &World{Store: st, Status: peerstate.New(nil), Refused: make(chan *link.RefusedError, 100), csPins: csPins,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var err error
	if w.Terminal, err = NewParty("terminal"); err != nil {
		return nil, err
	}
	if w.National, err = NewParty("national"); err != nil {
		return nil, err
	}
	if w.Sim, err = nationalsim.Open(filepath.Join(dir, "national.db")); err != nil {
		return nil, err
	}
	w.Sim.Identity, w.Sim.Log = w.National.Identity(), w.Log
	if w.Sim.Pins, err = link.NewPinSet([]link.Pin{{Name: "terminal", Role: link.RoleTerminal, SPKISHA256: w.Terminal.SPKI()}}); err != nil {
		return nil, err
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	nl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		nl.Close()
		return nil, err
	}
	w.NatAddr, w.CSAddr = nl.Addr().String(), cl.Addr().String()
	srv := &cs.Server{Store: st, Log: w.Log, Status: w.Status, Software: "jukitermd (linkworld)",
		Identity: func() (link.Identity, error) { return w.Terminal.Identity(), nil },
		Pins:     func(context.Context) (*link.PinSet, error) { return link.NewPinSet(w.csPins) },
		Refused: func(e *link.RefusedError) {
			select {
			case w.Refused <- e:
			default:
			}
		}}
	w.wg.Go(func() { w.Sim.Serve(w.ctx, nl) })
	w.wg.Go(func() { srv.Serve(w.ctx, cl) })
	return w, nil
}

// Close stops everything the world started.
func (w *World) Close() {
	w.cancel()
	w.wg.Wait()
	w.Sim.Close()
}

// NationalPeer is the terminal's way to the national simulator (through addr when not
// empty, e.g. a proxy).
func (w *World) NationalPeer(addr string) (national.Peer, error) {
	pins, err := link.NewPinSet([]link.Pin{{Name: "national", Role: link.RoleNational, SPKISHA256: w.National.SPKI()}})
	if err != nil {
		return national.Peer{}, err
	}
	cfg, err := link.ClientConfig(w.Terminal.Identity(), link.Policy{Role: link.RoleNational, Pins: pins})
	if addr == "" {
		addr = w.NatAddr
	}
	return national.Peer{Address: addr, TLS: cfg}, err
}

// Sender starts the national sender (through addr when not empty) with s's tuning.
func (w *World) Sender(addr string, s national.Sender) {
	s.Store, s.Log, s.Status, s.Software = w.Store, w.Log, w.Status.Peer("national"), "jukitermd (linkworld)"
	s.Peer = func(context.Context) (national.Peer, error) { return w.NationalPeer(addr) }
	w.wg.Go(func() { s.Run(w.ctx) })
}

// CS is a CS simulator of municipality with party's key, pinning the terminal.
func (w *World) CS(municipality string, p Party) (*cssim.Sim, error) {
	pins, err := link.NewPinSet([]link.Pin{{Name: "terminal", Role: link.RoleTerminal, SPKISHA256: w.Terminal.SPKI()}})
	if err != nil {
		return nil, err
	}
	cfg, err := link.ClientConfig(p.Identity(), link.Policy{Role: link.RoleTerminal, Pins: pins})
	if err != nil {
		return nil, err
	}
	return &cssim.Sim{Municipality: municipality, Address: w.CSAddr, TLS: cfg, Log: w.Log, Backoff: 20 * time.Millisecond}, nil
}
