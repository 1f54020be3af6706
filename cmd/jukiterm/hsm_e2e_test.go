package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"jukiterm/hwsim/testlogs"
)

// TestReplacedHSMDrill: the HSM is replaced by an empty, initialised token, and the
// former signing.pub is lost. keys recover makes new keys and sets the reader's
// pairing key aside; jukitermd refuses to start until the former key, as `keys public
// --note` printed it, is trusted with `keys trust`; a key slipped into log-verifiers by
// hand is refused. After the reader's reset and the administrator's re-enrolment,
// jukitermd signs a checkpoint extending the former key's.
func TestReplacedHSMDrill(t *testing.T) {
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		t.Skip("softhsm2-util is not installed (make test installs it)")
	}
	bin := binaries(t)
	state := filepath.Join(t.TempDir(), "state")
	r := cli(t, bin, "", "init", "--state", state, "--demo")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	secret := strings.TrimSpace(lines[len(lines)-1])
	if r.code != 0 || len(secret) != 39 {
		t.Fatalf("init: %+v", r)
	}
	conf, socket := filepath.Join(state, "jukiterm.conf"), filepath.Join(state, "jukiterm.sock")
	b, _ := os.ReadFile(conf)
	os.WriteFile(conf, bytes.Replace(b, []byte("checkpoint_seconds = 30"), []byte("checkpoint_seconds = 1"), 1), 0o640)
	checkpoints := func() int { m, _ := filepath.Glob(filepath.Join(state, "checkpoints", "checkpoint-*")); return len(m) }
	d := startDaemon(t, bin, conf, socket)
	waitFor(t, "a first checkpoint", func() bool { return checkpoints() > 0 })
	d.stop(t)
	before := checkpoints()

	note := cli(t, bin, "", "keys", "public", "--note", "--config", conf) // printed while the former HSM was in
	if note.code != 0 {
		t.Fatalf("keys public --note: %+v", note)
	}
	// The new HSM: an empty token of the same label and PIN.
	tokens := filepath.Join(state, "hsm", "tokens")
	os.RemoveAll(tokens)
	os.Mkdir(tokens, 0o700)
	pin, _ := os.ReadFile(filepath.Join(state, "hsm", "user.pin"))
	ini := exec.Command("softhsm2-util", "--init-token", "--free", "--label", "jukiterm", "--pin", strings.TrimSpace(string(pin)), "--so-pin", "12345678")
	ini.Env = append(os.Environ(), "SOFTHSM2_CONF="+filepath.Join(state, "hsm", "softhsm2.conf"))
	if out, err := ini.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util: %v\n%s", err, out)
	}
	oldPub, _ := os.ReadFile(filepath.Join(state, "signing.pub"))
	os.Remove(filepath.Join(state, "signing.pub")) // and signing.pub lost
	if r := cliIn(t, bin, secret+"\n", "keys", "recover", "--config", conf); r.code != 0 || !strings.Contains(r.stderr, "No former signing.pub") || !strings.Contains(r.stderr, "sim reader reset") {
		t.Fatalf("recover onto a new HSM: %+v", r)
	}
	if newPub, _ := os.ReadFile(filepath.Join(state, "signing.pub")); bytes.Equal(oldPub, newPub) {
		t.Fatal("signing.pub still holds the former key")
	}
	if left, _ := filepath.Glob(filepath.Join(state, "reader.key.former-hsm-*")); len(left) != 1 {
		t.Fatalf("the former pairing key was not set aside: %v", left)
	}
	for _, args := range [][]string{{"sim", "reader", "reset", "--state", state}, {"operator", "reenrol", "admin", "--config", conf}} {
		if r := cli(t, bin, "", args...); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	// Without the former key, the exported checkpoints do not verify: jukitermd refuses.
	if out, err := testlogs.CombinedOutput(t, exec.Command(filepath.Join(bin, "jukitermd"), "--config", conf)); err == nil || !strings.Contains(string(out), "keys public --note") {
		t.Fatalf("jukitermd started without the former key: %v\n%s", err, out)
	}
	if r := cli(t, bin, "", "keys", "trust", "--config", conf, "--reason", "the former HSM's key, from the drill's record", strings.TrimSpace(note.stdout)); r.code != 0 {
		t.Fatalf("keys trust: %+v", r)
	}
	// A key slipped into the file by hand: refused at start.
	vf := filepath.Join(state, "log-verifiers")
	signed, _ := os.ReadFile(vf)
	os.WriteFile(vf, append([]byte("jukiterm-x+"+strings.Split(strings.TrimSpace(note.stdout), "+")[1]+"+"+strings.Split(strings.TrimSpace(note.stdout), "+")[2]+"\n"), signed...), 0o600)
	if out, err := testlogs.CombinedOutput(t, exec.Command(filepath.Join(bin, "jukitermd"), "--config", conf)); err == nil || !strings.Contains(string(out), "not signed by this terminal's HSM key") {
		t.Fatalf("jukitermd started with a hand-edited log-verifiers: %v\n%s", err, out)
	}
	os.WriteFile(vf, signed, 0o600)
	d = startDaemon(t, bin, conf, socket)
	defer d.stop(t)
	signIn(t, bin, socket, "admin")
	// A new checkpoint, consistent with those the former key signed.
	waitFor(t, "a checkpoint signed by the new key", func() bool { return checkpoints() > before })
}
