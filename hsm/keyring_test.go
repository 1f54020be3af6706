package hsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2/transport/simulator"
)

func TestKeyHierarchyAndRecovery(t *testing.T) {
	tok, _ := newToken(t)
	tpm, err := simulator.OpenSimulator()
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	kf, dek, secret, err := CreateKey(tok, tpm, []uint{16})
	if err != nil {
		t.Fatal(err)
	}
	file, _ := kf.Marshal()
	if bytes.Contains(file, dek.key) {
		t.Fatal("the key file holds the storage key in the clear")
	}
	got, err := OpenKey(tok, tpm, kf)
	if err != nil || !bytes.Equal(got.key, dek.key) {
		t.Fatalf("open: %v", err)
	}
	// The boot state changes: the TPM refuses, with the documented error.
	extend(t, tpm, 16)
	if _, err := OpenKey(tok, tpm, kf); !errors.Is(err, ErrPCRChanged) {
		t.Fatalf("open after a PCR change: %v", err)
	}
	// Recovery drill: the recovery secret (typed with spaces, lower case) restores
	// access and seals the key to the new state.
	if _, err := Recover(tok, tpm, kf, "WRONG-"+secret[5:], []uint{16}); !errors.Is(err, ErrRecovery) {
		t.Fatalf("recover with a wrong secret: %v", err)
	}
	typed := strings.ToLower(strings.ReplaceAll(secret, "-", " "))
	rec, err := Recover(tok, tpm, kf, typed, []uint{16})
	if err != nil || !bytes.Equal(rec.key, dek.key) {
		t.Fatalf("recover: %v", err)
	}
	if again, err := OpenKey(tok, tpm, kf); err != nil || !bytes.Equal(again.key, dek.key) {
		t.Fatalf("open after recovery: %v", err)
	}
	reset(t, tpm, 16)
}

func TestDEKRefusesToLeak(t *testing.T) {
	d, err := NewDEK()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(d), fmt.Sprintf("%v %+v %#v %s %x", d, d, d, d, d)} {
		if strings.Contains(s, fmt.Sprintf("%x", d.key[:4])) || !strings.Contains(s, "secret") {
			t.Fatalf("printed: %q", s)
		}
	}
	if _, err := json.Marshal(struct{ K *DEK }{d}); err == nil {
		t.Fatal("a DEK was serialised to JSON")
	}
	a, b := d.Derive("records"), d.Derive("index code")
	if bytes.Equal(a, b) || len(a) != 32 || bytes.Equal(a, d.key) {
		t.Fatal("derived keys are not distinct")
	}
	d.Destroy()
	if !bytes.Equal(d.key, make([]byte, DEKSize)) {
		t.Fatal("Destroy left the key in memory")
	}
}

// TestRotationKeepsRecovery: a rotated key file holds both keys until the rotation
// finishes, and the same recovery secret opens the new key without being asked for.
func TestRotationKeepsRecovery(t *testing.T) {
	tok, _ := newToken(t)
	tpm, err := simulator.OpenSimulator()
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	kf, old, secret, err := CreateKey(tok, tpm, []uint{16})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := OpenNext(tok, tpm, kf); n != nil || err != nil {
		t.Fatalf("a new key file has a rotation under way: %v", err)
	}
	next, err := kf.BeginRotation(tok, tpm, []uint{16})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kf.BeginRotation(tok, tpm, []uint{16}); err == nil {
		t.Fatal("a second rotation began while one was under way")
	}
	b, _ := kf.Marshal()
	kf2, err := ParseKeyFile(b)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := OpenKey(tok, tpm, kf2)
	if err != nil || !bytes.Equal(cur.key, old.key) {
		t.Fatalf("current key during rotation: %v", err)
	}
	n, err := OpenNext(tok, tpm, kf2)
	if err != nil || !bytes.Equal(n.key, next.key) || bytes.Equal(n.key, old.key) {
		t.Fatalf("next key during rotation: %v", err)
	}
	kf2.FinishRotation()
	if kf2.Next != nil {
		t.Fatal("the finished rotation left a next key")
	}
	got, err := OpenKey(tok, tpm, kf2)
	if err != nil || !bytes.Equal(got.key, next.key) {
		t.Fatalf("open after rotation: %v", err)
	}
	rec, err := kf2.RecoveryKey(secret, kf2.Recovery)
	if err != nil || !bytes.Equal(rec.key, next.key) {
		t.Fatalf("the recovery secret does not open the rotated key: %v", err)
	}
	if _, err := kf2.RecoveryKey(secret, []byte("not age")); !errors.Is(err, ErrRecovery) {
		t.Fatalf("a garbled copy: %v", err)
	}
}

// TestRecoverDuringRotation: after a boot-state change in the middle of a rotation,
// recovery restores both keys, and reseal seals both.
func TestRecoverDuringRotation(t *testing.T) {
	tok, _ := newToken(t)
	tpm, err := simulator.OpenSimulator()
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	kf, old, secret, err := CreateKey(tok, tpm, []uint{16})
	if err != nil {
		t.Fatal(err)
	}
	next, err := kf.BeginRotation(tok, tpm, []uint{16})
	if err != nil {
		t.Fatal(err)
	}
	extend(t, tpm, 16)
	defer reset(t, tpm, 16)
	if _, err := OpenNext(tok, tpm, kf); !errors.Is(err, ErrPCRChanged) {
		t.Fatalf("the new key after a PCR change: %v", err)
	}
	got, err := Recover(tok, tpm, kf, secret, []uint{16})
	if err != nil || !bytes.Equal(got.key, old.key) {
		t.Fatalf("recover: %v", err)
	}
	n, err := OpenNext(tok, tpm, kf)
	if err != nil || !bytes.Equal(n.key, next.key) {
		t.Fatalf("the new key after recovery: %v", err)
	}
	extend(t, tpm, 16)
	if err := Reseal(tok, tpm, kf, got, []uint{16}); err == nil {
		t.Fatal("reseal with a new key that does not open succeeded")
	}
}
