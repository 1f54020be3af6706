package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

const testOrigin = "jukiterm.test/terminal-01/oplog"

var testSigner = func() *NoteSigner {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	s, err := NewNoteSigner("jukiterm.test/terminal-01", key)
	if err != nil {
		panic(err)
	}
	return s
}()

// clock is a clock tests move.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openLogStore opens a new identity file whose log uses clk.
func openLogStore(t testing.TB, clk *clock) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jukiterm.db")
	if err := Create(path); err != nil {
		t.Fatal(err)
	}
	return reopen(t, path, clk)
}

func reopen(t testing.TB, path string, clk *clock) *Store {
	t.Helper()
	s, err := Open(path, Options{CacheMiB: cacheMiB, Keys: testKeys, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var testActions = []string{"signin.success", "search", "view", "signin.failure", "provision", "disclosure"}

// testEntry is entry i of a test log: every other one names a resident code.
func testEntry(i int) Entry {
	e := Entry{Operator: fmt.Sprintf("op%d", i%3), Action: testActions[i%len(testActions)], Detail: map[string]any{"i": i, "application": "A-2026-17"}}
	if i%2 == 0 {
		e.Keyed = []Keyed{{"resident_code", residentCode(i % 7)}}
	}
	if i%5 == 0 {
		e.Keyed = append(e.Keyed, Keyed{"kana_name", "アキタタロウ"})
	}
	return e
}

func residentCode(i int) string { return fmt.Sprintf("%011d", 12000000000+i) }

// logEntries logs entries from..to-1 one by one through Log, moving clk a minute each.
func logEntries(t testing.TB, s *Store, clk *clock, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		idx, err := s.Log(context.Background(), testEntry(i))
		if err != nil {
			t.Fatal(err)
		}
		if idx != int64(i) {
			t.Fatalf("entry %d got index %d", i, idx)
		}
		clk.add(time.Minute)
	}
}

// appendEntries appends n entries in one transaction (fast: for large logs).
func appendEntries(t testing.TB, s *Store, from, n int) {
	t.Helper()
	err := s.writeTx(func(tx *sql.Tx) error {
		for i := from; i < from+n; i++ {
			if _, err := s.appendInTx(tx, testEntry(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkpoint(t testing.TB, s *Store) []byte {
	t.Helper()
	msg, err := s.Checkpoint(context.Background(), testSigner, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func mustVerify(t testing.TB, s *Store, from []byte) Report {
	t.Helper()
	rep, err := s.VerifyLog(context.Background(), testSigner.Verifier(), from)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

// noSync makes the test's writes cheap (mutation tests commit thousands of times).
func noSync(t testing.TB, s *Store) {
	t.Helper()
	if _, err := s.w.Exec(`PRAGMA synchronous = OFF`); err != nil {
		t.Fatal(err)
	}
}
