package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newSigner(t *testing.T, name string) *NoteSigner {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewNoteSigner(name, key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A log whose last checkpoint another key signed (a restored backup, a replaced HSM
// key): a new checkpoint is refused until that key is trusted, then extends it; the
// log verifies with the trusted keys and not with the new key alone.
func TestCheckpointAfterAnotherKey(t *testing.T) {
	ctx := context.Background()
	s := openLogStore(t, newClock())
	old, cur := newSigner(t, "jukiterm-terminal-01"), newSigner(t, "jukiterm-terminal-01")
	appendEntries(t, s, 0, 10)
	if _, err := s.Checkpoint(ctx, old, testOrigin); err != nil {
		t.Fatal(err)
	}
	appendEntries(t, s, 10, 5)
	if _, err := s.Checkpoint(ctx, cur, testOrigin); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("checkpoint over another key's, untrusted: %v", err)
	}
	if _, err := s.VerifyLog(ctx, cur.Verifier(), nil); err == nil {
		t.Fatal("the log verified without the key of its first checkpoint")
	}
	cur.Trust(old.Verifier(), old.Verifier(), cur.Verifier()) // duplicates count once
	msg, err := s.Checkpoint(ctx, cur, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := OpenCheckpoint(msg, cur.Verifier()); err != nil || c.Size != 15 {
		t.Fatalf("the new checkpoint: %+v %v", c, err)
	}
	if rep, err := s.VerifyLog(ctx, cur.Verifiers(), nil); err != nil || rep.Checkpoints != 2 {
		t.Fatalf("verify with the trusted keys: %+v %v", rep, err)
	}
}

func TestTrustedKeysFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log-verifiers")
	if vs, err := ReadTrustedKeys(path); err != nil || len(vs) != 0 {
		t.Fatalf("a missing file: %v %v", vs, err)
	}
	a, b := newSigner(t, "jukiterm-a").Verifier(), newSigner(t, "jukiterm-b").Verifier()
	for i, v := range []*NoteVerifier{a, b, a} {
		added, err := AddTrustedKey(path, v, "test\nkey")
		if err != nil || added != (i < 2) {
			t.Fatalf("add %d: %v %v", i, added, err)
		}
	}
	vs, err := ReadTrustedKeys(path)
	if err != nil || len(vs) != 2 || vs[0].VerifierKey() != a.VerifierKey() || vs[1].VerifierKey() != b.VerifierKey() {
		t.Fatalf("read back: %v %v", vs, err)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("jukiterm-c+00000000+AAAA\n")
	f.Close()
	if _, err := ReadTrustedKeys(path); err == nil || !strings.Contains(err.Error(), "line 5") {
		t.Fatalf("a bad line: %v", err)
	}
}
