package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"jukiterm/daemon/client"
	"jukiterm/hwsim/testlogs"
)

// simState makes a sim state directory with `jukiterm init --state --demo`.
func simState(t *testing.T, bin string) (state, conf, socket string) {
	t.Helper()
	state = filepath.Join(t.TempDir(), "state")
	if r := cli(t, bin, "", "init", "--state", state, "--demo"); r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	return state, filepath.Join(state, "jukiterm.conf"), filepath.Join(state, "jukiterm.sock")
}

// startRefused runs jukitermd on conf, which must exit with status 1 within limit;
// it returns what it printed.
func startRefused(t *testing.T, bin, conf string, limit time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	begin := time.Now()
	out, err := testlogs.CombinedOutput(t, exec.CommandContext(ctx, filepath.Join(bin, "jukitermd"), "--config", conf))
	took := time.Since(begin)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("jukitermd: %v, want exit status 1\n%s", err, out)
	}
	if took > limit {
		t.Errorf("jukitermd took %v to give up, want under %v\n%s", took, limit, out)
	}
	return string(out)
}

// TestOneProcessPerState: a second jukitermd on a served state exits at once saying
// who serves it, and touches nothing of the first (its sockets, its swtpm); the offline
// administration commands are refused the same way while it runs.
func TestOneProcessPerState(t *testing.T) {
	bin := binaries(t)
	state, conf, socket := simState(t, bin)
	d := startDaemon(t, bin, conf, socket)
	out := startRefused(t, bin, conf, 8*time.Second) // at once, not after swtpm's 15 s
	want := "another jukitermd (pid " + strconv.Itoa(d.cmd.Process.Pid) + ") is serving this state (" + state + ")"
	if !strings.Contains(out, want) || !strings.Contains(out, "What to do") {
		t.Fatalf("second jukitermd said:\n%s\nwant %q and what to do", out, want)
	}
	for _, p := range []string{socket, filepath.Join(state, "tpm", "tpm.sock"), filepath.Join(state, "tpm", "tpm.sock.ctrl")} {
		if fi, err := os.Stat(p); err != nil || fi.Mode()&os.ModeSocket == 0 {
			t.Fatalf("after the second jukitermd, %s: %v", p, err)
		}
	}
	note := cli(t, bin, socket, "keys", "public", "--config", conf, "--note")
	if note.code != 0 {
		t.Fatalf("keys public: %+v", note)
	}
	for _, args := range [][]string{
		{"init", "--config", conf},
		{"keys", "recover", "--config", conf},
		{"keys", "reseal", "--config", conf},
		{"keys", "trust", "--config", conf, "--reason", "test", strings.TrimSpace(note.stdout)},
		{"backup", "restore", "--config", conf, "--identity", filepath.Join(state, "backup-identity.txt"), filepath.Join(state, "no-such-backup")},
		{"operator", "reenrol", "admin", "--config", conf},
	} {
		cmd := exec.Command(filepath.Join(bin, "jukiterm"), args...)
		cmd.Stdin = strings.NewReader("not-a-secret\n")
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err := cmd.Run()
		if err == nil || !strings.Contains(errb.String(), "a running jukitermd (pid "+strconv.Itoa(d.cmd.Process.Pid)+") is serving this state") ||
			!strings.Contains(errb.String(), "Nothing was changed") {
			t.Errorf("%s while jukitermd runs: %v\n%s", strings.Join(args[:2], " "), err, errb.String())
		}
	}
	if err := client.New(socket).Health(context.Background()); err != nil {
		t.Fatalf("the first jukitermd no longer answers: %v\n%s", err, d.out)
	}
	d.stop(t)
	// Stopped: the lock is free for the next one.
	startDaemon(t, bin, conf, socket).stop(t)
}

// TestSecretFilesPrivate: a fresh `init --state` makes no file its group or others
// may read (signing.pub, a public key, aside), nor does jukitermd while it serves
// (the identity file's -wal and -shm); and jukitermd refuses to start while any
// secret file is open to others, naming the file, its mode and the chmod to run.
func TestSecretFilesPrivate(t *testing.T) {
	bin := binaries(t)
	state, conf, socket := simState(t, bin)
	walk := func(when string) {
		filepath.WalkDir(state, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := e.Info()
			if !fi.Mode().IsRegular() || filepath.Base(p) == "signing.pub" {
				return nil
			}
			if fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s: %s is mode %04o, want 0600", when, p, fi.Mode().Perm())
			}
			return nil
		})
	}
	walk("after init")
	d := startDaemon(t, bin, conf, socket)
	if _, err := os.Stat(filepath.Join(state, "jukiterm.db-wal")); err != nil {
		t.Fatalf("no -wal while serving: %v", err)
	}
	walk("while serving")
	d.stop(t)

	tokens, _ := filepath.Glob(filepath.Join(state, "hsm", "tokens", "*", "token.object"))
	secrets := append([]string{"storage.key", "hsm/user.pin", "reader.key", "jukiterm.db", "jukiterm.db-wal",
		"backup-identity.txt", "sim/reader/reader.json"}, tokens...)
	for _, name := range secrets {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(state, name)
		}
		made := false
		if _, err := os.Stat(p); os.IsNotExist(err) { // -wal exists only while served
			os.WriteFile(p, nil, 0o644)
			made = true
		}
		os.Chmod(p, 0o644)
		out := startRefused(t, bin, conf, 5*time.Second)
		if !strings.Contains(out, p+" is mode 0644") || !strings.Contains(out, "chmod 0600 "+p) {
			t.Errorf("%s at 0644: jukitermd said\n%s", name, out)
		}
		if made {
			os.Remove(p)
		} else {
			os.Chmod(p, 0o600)
		}
	}
	startDaemon(t, bin, conf, socket).stop(t)
}

// TestEmptyPINFile: an empty or missing HSM PIN file is named at start, with what is
// wrong and what to do, not as PKCS#11's CKR_ARGUMENTS_BAD.
func TestEmptyPINFile(t *testing.T) {
	bin := binaries(t)
	state, conf, _ := simState(t, bin)
	pin := filepath.Join(state, "hsm", "user.pin")
	if err := os.WriteFile(pin, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out := startRefused(t, bin, conf, 10*time.Second)
	if !strings.Contains(out, pin+" is empty") || !strings.Contains(out, "What to do: put the HSM token's user PIN") || strings.Contains(out, "CKR_") {
		t.Fatalf("empty PIN file: jukitermd said\n%s", out)
	}
	os.Remove(pin)
	if out := startRefused(t, bin, conf, 10*time.Second); !strings.Contains(out, pin+" is missing") && !strings.Contains(out, pin+" does not exist") {
		t.Fatalf("missing PIN file: jukitermd said\n%s", out)
	}
}

// TestSimFindsStateFromSocket: `sim usb` and `sim finger` find the state directory
// from the daemon's socket, given by JUKITERM_SOCKET or --socket, as the other
// commands find the daemon.
func TestSimFindsStateFromSocket(t *testing.T) {
	bin := binaries(t)
	state, _, socket := simState(t, bin)
	os.Unsetenv("JUKITERM_STATE")
	if r := cli(t, bin, socket, "sim", "usb", "plug", "--serial", "S1"); r.code != 0 {
		t.Fatalf("sim usb plug with JUKITERM_SOCKET: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(state, "sim", "usb")); err != nil {
		t.Fatalf("the stick is not in the state directory: %v", err)
	}
	if r := cli(t, bin, "", "--socket", socket, "sim", "usb", "list"); r.code != 0 || !strings.Contains(r.stdout, "S1") {
		t.Fatalf("sim usb list with --socket: %+v", r)
	}
	if r := cli(t, bin, socket, "sim", "finger", "present", "admin"); r.code != 0 {
		t.Fatalf("sim finger present with JUKITERM_SOCKET: %+v", r)
	}
	if r := cli(t, bin, socket, "sim", "reader", "status"); r.code != 0 || !strings.Contains(r.stdout, "admin") {
		t.Fatalf("sim reader status: %+v", r)
	}
	other := filepath.Join(t.TempDir(), "x.sock")
	if r := cli(t, bin, other, "sim", "usb", "list"); r.code != 2 || !strings.Contains(r.stderr, "not that of a jukitermd in sim mode") {
		t.Fatalf("a socket with no sim state beside it: %+v", r)
	}
}
