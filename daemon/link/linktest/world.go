package linktest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"jukiterm/daemon/link"
	"jukiterm/daemon/link/cs"
	"jukiterm/daemon/link/national"
	"jukiterm/daemon/link/peerstate"
	"jukiterm/hwsim/cssim"
	"jukiterm/hwsim/nationalsim"
	"jukiterm/store"
)

// Party is one end: its key, certificate and the pin others give it.
type Party struct {
	Key  crypto.Signer
	Cert []byte
}

// NewParty makes a key and a self-signed certificate valid for a year.
func NewParty(t testing.TB, name string) Party {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := link.SelfSigned(k, name, time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return Party{Key: k, Cert: c}
}

// Identity is the party as a link end.
func (p Party) Identity() link.Identity { return link.Identity{Certificate: p.Cert, Key: p.Key} }

// SPKI is the SHA-256 of the party's public key.
func (p Party) SPKI(t testing.TB) [32]byte {
	c, err := x509.ParseCertificate(p.Cert)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(c.RawSubjectPublicKeyInfo)
}

// Pins makes a pin set or fails.
func Pins(t testing.TB, pins ...link.Pin) *link.PinSet {
	t.Helper()
	s, err := link.NewPinSet(pins)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// World is a terminal with its CS listener, a national simulator and the sender.
type World struct {
	Store    *store.Store
	Terminal Party
	National Party
	Sim      *nationalsim.Sim
	Status   *peerstate.Status
	CSAddr   string
	NatAddr  string
	Refused  chan *link.RefusedError
	csPins   []link.Pin
	cancel   context.CancelFunc
	Log      *slog.Logger
}

var testKeys = func() *store.Keys {
	k, err := store.NewKeys(func(p string) []byte { h := sha256.Sum256([]byte("link test key " + p)); return h[:] })
	if err != nil {
		panic(err)
	}
	return k
}()

// OpenStore makes an identity file in dir.
func OpenStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	path := filepath.Join(dir, "jukiterm.db")
	if err := store.Create(path); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(path, store.Options{CacheMiB: 16, Keys: testKeys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Start opens a world whose terminal accepts the CS in csPins (with their keys).
func Start(t testing.TB, csPins ...link.Pin) *World {
	t.Helper()
	dir := t.TempDir()
	w := &World{Store: OpenStore(t, dir), Terminal: NewParty(t, "terminal"), National: NewParty(t, "national"),
		Status: peerstate.New(nil), Refused: make(chan *link.RefusedError, 100), csPins: csPins,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	sim, err := nationalsim.Open(filepath.Join(dir, "national.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	sim.Identity = w.National.Identity()
	sim.Pins = Pins(t, link.Pin{Name: "terminal", Role: link.RoleTerminal, SPKISHA256: w.Terminal.SPKI(t)})
	sim.Log = w.Log
	w.Sim = sim
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	nl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.NatAddr = nl.Addr().String()
	done := make(chan struct{}, 2)
	go func() { sim.Serve(ctx, nl); done <- struct{}{} }()
	cl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.CSAddr = cl.Addr().String()
	srv := &cs.Server{Store: w.Store, Log: w.Log, Status: w.Status, Software: "jukitermd test",
		Identity: func() (link.Identity, error) { return w.Terminal.Identity(), nil },
		Pins:     func(context.Context) (*link.PinSet, error) { return link.NewPinSet(w.csPins) },
		Refused:  func(e *link.RefusedError) { w.Refused <- e }}
	go func() { srv.Serve(ctx, cl); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	return w
}

// NationalPeer is the terminal's way to the national simulator.
func (w *World) NationalPeer(t testing.TB) national.Peer {
	cfg, err := link.ClientConfig(w.Terminal.Identity(), link.Policy{Role: link.RoleNational,
		Pins: Pins(t, link.Pin{Name: "national", Role: link.RoleNational, SPKISHA256: w.National.SPKI(t)})})
	if err != nil {
		t.Fatal(err)
	}
	return national.Peer{Address: w.NatAddr, TLS: cfg}
}

// Sender starts the national sender; it stops with the test.
func (w *World) Sender(t testing.TB) {
	s := &national.Sender{Store: w.Store, Log: w.Log, Status: w.Status.Peer("national"), Software: "jukitermd test",
		Peer:       func(context.Context) (national.Peer, error) { return w.NationalPeer(t), nil },
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Poll: 5 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// CS is a CS simulator of municipality with party's key, pinning the terminal.
func (w *World) CS(t testing.TB, municipality string, p Party) *cssim.Sim {
	cfg, err := link.ClientConfig(p.Identity(), link.Policy{Role: link.RoleTerminal,
		Pins: Pins(t, link.Pin{Name: "terminal", Role: link.RoleTerminal, SPKISHA256: w.Terminal.SPKI(t)})})
	if err != nil {
		t.Fatal(err)
	}
	return &cssim.Sim{Municipality: municipality, Address: w.CSAddr, TLS: cfg, Log: w.Log, Backoff: 20 * time.Millisecond}
}

// ClientTLS is a TLS client configuration of party towards the terminal, for attacks.
func (w *World) ClientTLS(t testing.TB, p Party) *tls.Config {
	cfg, err := link.ClientConfig(p.Identity(), link.Policy{Role: link.RoleTerminal,
		Pins: Pins(t, link.Pin{Name: "terminal", Role: link.RoleTerminal, SPKISHA256: w.Terminal.SPKI(t)})})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// CSVia is a CS simulator that connects through addr (a Cutter) instead.
func (w *World) CSVia(t testing.TB, municipality string, p Party, addr string) *cssim.Sim {
	s := w.CS(t, municipality, p)
	s.Address = addr
	s.Retries = 100
	return s
}

// SenderVia starts the national sender connecting through addr.
func (w *World) SenderVia(t testing.TB, addr string) {
	s := &national.Sender{Store: w.Store, Log: w.Log, Status: w.Status.Peer("national"), Software: "jukitermd test",
		Peer: func(context.Context) (national.Peer, error) {
			p := w.NationalPeer(t)
			p.Address = addr
			return p, nil
		},
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Poll: 5 * time.Millisecond, Window: 64}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}
