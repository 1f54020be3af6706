package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"jukiterm/daemon/client"
	"jukiterm/daemon/config"
	"jukiterm/store"
	"jukiterm/systemd/sdtest"
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
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if m := sdtest.Next(t, ch); !strings.HasPrefix(m, "STATUS=opening the identity file") {
		t.Fatalf("first message %q, want a STATUS saying what it waits for", m)
	}
	if m := sdtest.Next(t, ch); m != "READY=1" {
		t.Fatalf("second message %q, want READY=1", m)
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
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v; output %s", err, out)
	}
	sdtest.Next(t, ch) // STATUS=opening
	m := sdtest.Next(t, ch)
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
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	c := client.New(path)
	var herr error
	for i := 0; i < 300; i++ {
		if herr = c.Health(context.Background()); herr == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if herr != nil {
		t.Fatalf("no API on the activated socket: %v", herr)
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
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sdtest.Next(t, ch) // STATUS=opening
	sdtest.Next(t, ch) // READY=1
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
	if l := logs.String(); !strings.Contains(l, "configuration reloaded") || !strings.Contains(l, "cache_mib") {
		t.Fatalf("logs after reload:\n%s", l)
	}
	os.WriteFile(conf, []byte("hardware = \"sim\"\nsocket = \"/x\"\nbogus = 1\n"), 0o640)
	cmd.Process.Signal(syscall.SIGHUP)
	sdtest.Next(t, ch)
	sdtest.Next(t, ch)
	if l := logs.String(); !strings.Contains(l, "configuration not reloaded") || !strings.Contains(l, "bogus") {
		t.Fatalf("logs after a bad reload:\n%s", l)
	}
	if err := client.New(cfg.Socket).Health(context.Background()); err != nil {
		t.Fatalf("not serving after a refused reload: %v", err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}
