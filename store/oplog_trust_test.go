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

// TestTrustedKeysFile: keys are added once each, the file is signed by the HSM key
// and any change by hand, or a check with another key, is refused; after an HSM
// replacement the new key re-signs what the former one signed.
func TestTrustedKeysFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log-verifiers")
	hsmKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if vs, err := ReadTrustedKeys(path, &hsmKey.PublicKey); err != nil || len(vs) != 0 {
		t.Fatalf("a missing file: %v %v", vs, err)
	}
	a, b := newSigner(t, "jukiterm-a").Verifier(), newSigner(t, "jukiterm-b").Verifier()
	for i, v := range []*NoteVerifier{a, b, a} {
		added, err := AddTrustedKey(path, v, "test\nkey", hsmKey, nil)
		if err != nil || added != (i < 2) {
			t.Fatalf("add %d: %v %v", i, added, err)
		}
	}
	vs, err := ReadTrustedKeys(path, &hsmKey.PublicKey)
	if err != nil || len(vs) != 2 || vs[0].VerifierKey() != a.VerifierKey() || vs[1].VerifierKey() != b.VerifierKey() {
		t.Fatalf("read back: %v %v", vs, err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := ReadTrustedKeys(path, &other.PublicKey); !errors.Is(err, ErrTrustedKeys) {
		t.Fatalf("checked with another key: %v", err)
	}
	signed, _ := os.ReadFile(path)
	// A key slipped in by hand, anywhere, is refused.
	evil := newSigner(t, "jukiterm-evil").Verifier().VerifierKey()
	for _, changed := range []string{evil + "\n" + string(signed), strings.Replace(string(signed), a.VerifierKey(), evil, 1)} {
		os.WriteFile(path, []byte(changed), 0o600)
		if _, err := ReadTrustedKeys(path, &hsmKey.PublicKey); !errors.Is(err, ErrTrustedKeys) {
			t.Fatalf("a changed file: %v", err)
		}
	}
	os.WriteFile(path, signed, 0o600)
	// A new HSM: the former key's file is re-signed by the new key as a key is added.
	c := newSigner(t, "jukiterm-c").Verifier()
	if added, err := AddTrustedKey(path, c, "former", other, &hsmKey.PublicKey); err != nil || !added {
		t.Fatalf("add under a new HSM key: %v %v", added, err)
	}
	if vs, err := ReadTrustedKeys(path, &other.PublicKey); err != nil || len(vs) != 3 {
		t.Fatalf("after the new HSM: %v %v", vs, err)
	}
}
