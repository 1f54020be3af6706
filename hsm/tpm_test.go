package hsm

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/simulator"
)

// Tests touch only the resettable PCRs 16 and 23.
func extend(t *testing.T, tpm transport.TPM, pcr uint) {
	t.Helper()
	_, err := tpm2.PCRExtend{PCRHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(pcr), Auth: tpm2.PasswordAuth(nil)},
		Digests: tpm2.TPMLDigestValues{Digests: []tpm2.TPMTHA{{HashAlg: tpm2.TPMAlgSHA256, Digest: bytes.Repeat([]byte{1}, 32)}}}}.Execute(tpm)
	if err != nil {
		t.Fatal(err)
	}
}

func reset(t *testing.T, tpm transport.TPM, pcr uint) {
	t.Helper()
	if _, err := (tpm2.PCRReset{PCRHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(pcr), Auth: tpm2.PasswordAuth(nil)}}).Execute(tpm); err != nil {
		t.Fatal(err)
	}
}

func TestSealToPCRs(t *testing.T) {
	tpm, err := simulator.OpenSimulator()
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	secret := []byte("wrapped storage key: 0123456789abcdef")
	s, err := Seal(tpm, secret, []uint{16, 23})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(s.Private, secret) || bytes.Contains(s.Public, secret) {
		t.Fatal("the sealed blob holds the secret in the clear")
	}
	got, err := Unseal(tpm, s)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("unseal: %q %v", got, err)
	}
	extend(t, tpm, 16)
	if _, err := Unseal(tpm, s); !errors.Is(err, ErrPCRChanged) {
		t.Fatalf("unseal after PCR 16 changed: %v", err)
	}
	reset(t, tpm, 16) // the planned change is undone: the same state opens it again
	if got, err := Unseal(tpm, s); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("unseal after reset: %q %v", got, err)
	}
	extend(t, tpm, 23)
	if _, err := Unseal(tpm, s); !errors.Is(err, ErrPCRChanged) {
		t.Fatalf("unseal after PCR 23 changed: %v", err)
	}
	reset(t, tpm, 23)
	s.Private[len(s.Private)-1] ^= 1
	if _, err := Unseal(tpm, s); err == nil {
		t.Fatal("a tampered sealed blob unsealed")
	}
}
