package swtpm

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"jukiterm/hsm"
)

// TestStatePersistsAcrossRestarts: what is sealed before a restart of swtpm unseals
// after it (the daemon's TPM keeps its state in the state dir), and a changed PCR
// still refuses.
func TestStatePersistsAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	tpm, err := Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("wrapped storage key")
	s, err := hsm.Seal(tpm, secret, []uint{16})
	if err != nil {
		tpm.Stop()
		t.Fatal(err)
	}
	tpm.Stop()

	tpm, err = Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Stop()
	got, err := hsm.Unseal(tpm, s)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("unseal after restart: %q %v", got, err)
	}
	_, err = tpm2.PCRExtend{PCRHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(16), Auth: tpm2.PasswordAuth(nil)},
		Digests: tpm2.TPMLDigestValues{Digests: []tpm2.TPMTHA{{HashAlg: tpm2.TPMAlgSHA256, Digest: make([]byte, 32)}}}}.Execute(tpm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hsm.Unseal(tpm, s); !errors.Is(err, hsm.ErrPCRChanged) {
		t.Fatalf("unseal after PCR 16 changed: %v", err)
	}
}

func TestAnotherTPMCannotUnseal(t *testing.T) {
	a, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	b, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	s, err := hsm.Seal(a, []byte("k"), []uint{16})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hsm.Unseal(b, s); err == nil {
		t.Fatal("a key sealed by one TPM unsealed on another")
	}
}
