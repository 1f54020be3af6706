package swtpm

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestSocketsWhereTPM2TSSLooks: the control socket is tpm.sock.ctrl beside tpm.sock,
// so tpm2-tools reach the simulated TPM with TPM2TOOLS_TCTI=swtpm:path=DIR/tpm.sock,
// while it runs (swtpm takes one connection at a time, and go-tpm connects per
// command), and read what the daemon's connection extended.
func TestSocketsWhereTPM2TSSLooks(t *testing.T) {
	dir := t.TempDir()
	tpm, err := Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Stop()
	for _, name := range []string{Socket, CtrlSocket} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode()&os.ModeSocket == 0 {
			t.Fatalf("%s: %v %v, want a socket", name, fi, err)
		}
	}
	if _, err := exec.LookPath("tpm2_pcrread"); err != nil {
		t.Skip("tpm2-tools is not installed (make deps)")
	}
	_, err = tpm2.PCRExtend{PCRHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(16), Auth: tpm2.PasswordAuth(nil)},
		Digests: tpm2.TPMLDigestValues{Digests: []tpm2.TPMTHA{{HashAlg: tpm2.TPMAlgSHA256, Digest: make([]byte, 32)}}}}.Execute(tpm)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("tpm2_pcrread", "sha256:7,16")
	cmd.Env = append(os.Environ(), "TPM2TOOLS_TCTI=swtpm:path="+filepath.Join(dir, Socket))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tpm2_pcrread: %v\n%s", err, out)
	}
	// PCR 16 after one extend of zeros from zeros: SHA-256(32 zero bytes ‖ 32 zero bytes).
	if !strings.Contains(string(out), "16: 0xF5A5FD42D16A20302798EF6ED309979B43003D2320D9F0E8EA9831A92759FB4B") {
		t.Fatalf("tpm2_pcrread did not read the simulated TPM's PCR 16:\n%s", out)
	}
	// The daemon's connection still works after the third party's.
	if _, err := (tpm2.GetRandom{BytesRequested: 8}).Execute(tpm); err != nil {
		t.Fatalf("after tpm2_pcrread: %v", err)
	}
}

// TestSecondStartTouchesNothing: starting swtpm on a directory whose swtpm runs is
// refused at once, and the running one keeps its sockets and answers.
func TestSecondStartTouchesNothing(t *testing.T) {
	dir := t.TempDir()
	tpm, err := Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Stop()
	begin := time.Now()
	if _, err := Start(dir); err == nil || !strings.Contains(err.Error(), "already runs") {
		t.Fatalf("second Start: %v", err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Fatalf("second Start took %v", d)
	}
	for _, name := range []string{Socket, CtrlSocket} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("the running swtpm lost %s: %v", name, err)
		}
	}
	if _, err := (tpm2.GetRandom{BytesRequested: 8}).Execute(tpm); err != nil {
		t.Fatalf("the running swtpm does not answer: %v", err)
	}
}

// TestStateOfBeforeStarts: a state directory made before the control socket's
// rename (ctrl.sock, state files 0640) starts: the old socket is gone, the state files
// become 0600, and what was sealed before still unseals.
func TestStateOfBeforeStarts(t *testing.T) {
	dir := t.TempDir()
	tpm, err := Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := hsm.Seal(tpm, []byte("k"), []uint{7})
	tpm.Stop()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "ctrl.sock"), nil, 0o600) // stands for the old socket
	os.Chmod(filepath.Join(dir, "tpm2-00.permall"), 0o640)
	tpm, err = Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Stop()
	if _, err := os.Stat(filepath.Join(dir, "ctrl.sock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ctrl.sock stays: %v", err)
	}
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if fi, _ := e.Info(); fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is mode %04o, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
	if got, err := hsm.Unseal(tpm, s); err != nil || string(got) != "k" {
		t.Fatalf("unseal: %q %v", got, err)
	}
}

// TestSwtpmFailureSaysWhyAtOnce: when swtpm itself refuses to start (here: another
// swtpm holds its state's lock, its socket file gone), Start says what swtpm said,
// at once, rather than waiting 15 s and pointing at a log.
func TestSwtpmFailureSaysWhyAtOnce(t *testing.T) {
	dir := t.TempDir()
	tpm, err := Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Stop()
	os.Remove(filepath.Join(dir, Socket))
	begin := time.Now()
	_, err = Start(dir)
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "swtpm said") || !strings.Contains(strings.ToLower(err.Error()), "lock") {
		t.Fatalf("Start beside a running swtpm: %v", err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}
