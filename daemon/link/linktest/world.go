package linktest

import (
	"crypto/sha256"
	"path/filepath"
	"testing"
	"time"

	"jukiterm/daemon/link"
	"jukiterm/daemon/link/national"
	"jukiterm/hwsim/cssim"
	"jukiterm/hwsim/linkworld"
	"jukiterm/store"
)

// Party is one end of a link.
type Party = linkworld.Party

// World is a terminal with its links and a national simulator.
type World struct {
	*linkworld.World
}

// NewParty makes a party or fails the test.
func NewParty(t testing.TB, name string) Party {
	t.Helper()
	p, err := linkworld.NewParty(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
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

// Start opens a world whose terminal accepts the CS in csPins; it stops with the test.
func Start(t testing.TB, csPins ...link.Pin) *World {
	t.Helper()
	dir := t.TempDir()
	w, err := linkworld.Start(OpenStore(t, dir), dir, csPins...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return &World{w}
}

// Sender starts the national sender.
func (w *World) Sender(t testing.TB) {
	w.World.Sender("", national.Sender{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Poll: 5 * time.Millisecond})
}

// SenderVia starts the national sender connecting through addr.
func (w *World) SenderVia(t testing.TB, addr string) {
	w.World.Sender(addr, national.Sender{MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Poll: 5 * time.Millisecond, Window: 64})
}

// CS is a CS simulator of municipality with party's key.
func (w *World) CS(t testing.TB, municipality string, p Party) *cssim.Sim {
	t.Helper()
	s, err := w.World.CS(municipality, p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// CSVia is a CS simulator that connects through addr (a Cutter) instead.
func (w *World) CSVia(t testing.TB, municipality string, p Party, addr string) *cssim.Sim {
	s := w.CS(t, municipality, p)
	s.Address = addr
	s.Retries = 100
	return s
}
