package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon/client"
	"jukiterm/daemon/config"
	"jukiterm/hsm"
	"jukiterm/hwsim/swtpm"
	"jukiterm/hwsim/testlogs"
	"jukiterm/store"
	"jukiterm/systemd/sdtest"

	"github.com/google/go-tpm/tpm2"
)

func build(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", dir+"/", "jukiterm/cmd/jukitermd").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "jukitermd")
}

// state makes a state directory as `jukiterm init` does; without db the database is
// not created.
func state(t *testing.T, db bool) (conf string, cfg config.Config) {
	t.Helper()
	dir := t.TempDir()
	cfg = config.Default(dir)
	if _, err := hw.Provision(cfg); err != nil {
		t.Fatal(err)
	}
	if db {
		if err := store.Create(cfg.Database); err != nil {
			t.Fatal(err)
		}
	}
	conf = filepath.Join(dir, config.FileName)
	if err := config.Write(conf, cfg); err != nil {
		t.Fatal(err)
	}
	return conf, cfg
}

func TestReadyOnlyOnceServingThenStopping(t *testing.T) {
	bin := build(t)
	conf, cfg := state(t, true)
	ch := sdtest.NotifySocket(t)
	cmd := exec.Command(bin, "--config", conf)
	testlogs.TeeStderr(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if got := untilReady(t, ch); !slices.Equal(got, []string{"STATUS=opening the HSM and the TPM",
		"STATUS=unsealing the storage key", "STATUS=opening the identity file " + cfg.Database,
		"STATUS=opening the fingerprint reader"}) {
		t.Fatalf("before READY: %q, want STATUS lines saying what it waits for", got)
	}
	if err := client.New(cfg.Socket).Health(context.Background()); err != nil {
		t.Fatalf("READY was sent before the API served: %v", err)
	}
	if m := sdtest.Next(t, ch); !strings.HasPrefix(m, "STATUS=serving") {
		t.Fatalf("status %q", m)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if m := sdtest.Next(t, ch); m != "STOPPING=1" {
		t.Fatalf("after SIGTERM %q, want STOPPING=1", m)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

func TestStatusSaysWhyItDoesNotServe(t *testing.T) {
	bin := build(t)
	conf, _ := state(t, false) // no database
	ch := sdtest.NotifySocket(t)
	cmd := exec.Command(bin, "--config", conf)
	out, err := testlogs.CombinedOutput(t, cmd)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v; output %s", err, out)
	}
	var m string
	for m = sdtest.Next(t, ch); !strings.HasPrefix(m, "STATUS=not serving"); m = sdtest.Next(t, ch) {
		if m == "READY=1" {
			t.Fatal("READY without a store")
		}
	}
	if !strings.HasPrefix(m, "STATUS=not serving") || !strings.Contains(m, "jukiterm init") {
		t.Fatalf("status %q", m)
	}
	if strings.Contains(string(out), "READY") || len(ch) > 0 && <-ch == "READY=1" {
		t.Fatal("READY without a store")
	}
}

// TestSocketActivation passes a listening socket as systemd does (LISTEN_FDS) and
// checks the API is served on it, not on the configured path.
func TestSocketActivation(t *testing.T) {
	bin := build(t)
	conf, cfg := state(t, true)
	path := filepath.Join(t.TempDir(), "activated.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ul := l.(*net.UnixListener)
	f, err := ul.File()
	if err != nil {
		t.Fatal(err)
	}
	ul.SetUnlinkOnClose(false) // the passed descriptor keeps listening on the path
	ul.Close()
	// LISTEN_PID must be the daemon's own pid: the shell execs it with its pid.
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" --config "$1"`, bin, conf)
	cmd.ExtraFiles = []*os.File{f}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	testlogs.TeeStderr(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close() // only the daemon holds the socket now: if it dies, connections are refused
	defer cmd.Process.Kill()
	c := client.New(path)
	var herr error
	for i := 0; i < 300; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		herr = c.Health(ctx)
		cancel()
		if herr == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if herr != nil {
		t.Fatalf("no API on the activated socket: %v\n%s", herr, out.String())
	}
	if _, err := os.Stat(cfg.Socket); err == nil {
		t.Fatal("the daemon made its own socket although one was passed")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal("the daemon removed the socket systemd owns")
	}
}

// syncBuffer is a bytes.Buffer safe to read while the daemon writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestSIGHUPReloads(t *testing.T) {
	bin := build(t)
	conf, cfg := state(t, true)
	ch := sdtest.NotifySocket(t)
	var logs syncBuffer
	cmd := exec.Command(bin, "--config", conf)
	cmd.Stderr = &logs
	testlogs.TeeStderr(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	untilReady(t, ch)
	sdtest.Next(t, ch) // STATUS=serving
	text, _ := os.ReadFile(conf)
	changed := strings.Replace(string(text), `log_level = "info"`, `log_level = "debug"`, 1)
	changed = strings.Replace(changed, "cache_mib = 256", "cache_mib = 64", 1)
	if err := os.WriteFile(conf, []byte(changed), 0o640); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	if m := sdtest.Next(t, ch); m != "RELOADING=1" {
		t.Fatalf("after SIGHUP %q", m)
	}
	if m := sdtest.Next(t, ch); m != "READY=1" {
		t.Fatalf("after reload %q", m)
	}
	waitLogs(t, &logs, "configuration reloaded", "cache_mib")
	os.WriteFile(conf, []byte("hardware = \"sim\"\nsocket = \"/x\"\nbogus = 1\n"), 0o640)
	cmd.Process.Signal(syscall.SIGHUP)
	sdtest.Next(t, ch)
	sdtest.Next(t, ch)
	waitLogs(t, &logs, "configuration not reloaded", "bogus")
	if err := client.New(cfg.Socket).Health(context.Background()); err != nil {
		t.Fatalf("not serving after a refused reload: %v", err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestRefusesWhenTheBootStateChanged seals the storage key while PCR 16 holds another
// value than the daemon's TPM will show at start: the daemon must refuse to serve, say
// why and what to do, in STATUS too, and exit 1.
func TestRefusesWhenTheBootStateChanged(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	cfg := config.Default(dir)
	cfg.PCRs = []uint{16}
	if _, err := hw.Provision(cfg); err != nil {
		t.Fatal(err)
	}
	// Seal again, this time with PCR 16 extended (swtpm resets it at its next start).
	tpm, err := swtpm.Start(cfg.TPM)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := hsm.Open(cfg.HSM)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tpm2.PCRExtend{PCRHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(16), Auth: tpm2.PasswordAuth(nil)},
		Digests: tpm2.TPMLDigestValues{Digests: []tpm2.TPMTHA{{HashAlg: tpm2.TPMAlgSHA256, Digest: make([]byte, 32)}}}}.Execute(tpm)
	if err != nil {
		t.Fatal(err)
	}
	kf, _, _, err := hsm.CreateKey(tok, tpm, cfg.PCRs)
	tok.Close()
	tpm.Stop()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := kf.Marshal()
	os.WriteFile(cfg.KeyFile, b, 0o600)
	if err := store.Create(cfg.Database); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, config.FileName)
	if err := config.Write(conf, cfg); err != nil {
		t.Fatal(err)
	}
	ch := sdtest.NotifySocket(t)
	out, err := testlogs.CombinedOutput(t, exec.Command(bin, "--config", conf))
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v: %s", err, out)
	}
	if !strings.Contains(string(out), "boot state") || !strings.Contains(string(out), "recovery secret") {
		t.Fatalf("the message does not say what happened and what to do:\n%s", out)
	}
	var status string
	for m := range ch {
		if strings.HasPrefix(m, "STATUS=not serving") {
			status = m
			break
		}
		if m == "READY=1" {
			t.Fatal("READY with a key that did not unseal")
		}
	}
	if !strings.Contains(status, "boot state") {
		t.Fatalf("STATUS %q", status)
	}
	if _, err := os.Stat(cfg.Socket); err == nil {
		t.Fatal("a socket was made although the key did not open")
	}
}

// TestRestartUnsealsAgain: the simulator keeps its state, so each start opens the key.
func TestRestartUnsealsAgain(t *testing.T) {
	bin := build(t)
	conf, cfg := state(t, true)
	for i := 0; i < 2; i++ {
		cmd := exec.Command(bin, "--config", conf)
		testlogs.TeeStderr(t, cmd)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var herr error
		for j := 0; j < 300; j++ {
			if herr = client.New(cfg.Socket).Health(context.Background()); herr == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		werr := cmd.Wait()
		if herr != nil || werr != nil {
			t.Fatalf("start %d: %v %v", i+1, herr, werr)
		}
	}
}

// untilReady returns the messages before READY=1.
func untilReady(t *testing.T, ch <-chan string) []string {
	t.Helper()
	var before []string
	for m := sdtest.Next(t, ch); m != "READY=1"; m = sdtest.Next(t, ch) {
		before = append(before, m)
	}
	return before
}

// waitLogs waits (the daemon's stderr reaches the buffer through a pipe) until the logs
// hold every one of want.
func waitLogs(t *testing.T, logs *syncBuffer, want ...string) {
	t.Helper()
	for i := 0; ; i++ {
		l := logs.String()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			return
		}
		if i > 200 {
			t.Fatalf("the logs lack %q:\n%s", want, l)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
