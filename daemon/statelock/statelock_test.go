package statelock

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSecondHolderIsRefusedWithPidAndDir(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, Daemon)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	_, err = Acquire(dir, "jukiterm keys recover")
	var be *BusyError
	if !errors.As(err, &be) {
		t.Fatalf("second Acquire: %v, want a BusyError", err)
	}
	want := "another jukitermd (pid " + strconv.Itoa(os.Getpid()) + ") is serving this state (" + dir + ")"
	if err.Error() != want || !be.Daemon() {
		t.Fatalf("got %q, want %q", err, want)
	}
	if fi, err := os.Stat(filepath.Join(dir, FileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v %v, want mode 0600", fi, err)
	}
}

func TestOfflineCommandNamedAsHolder(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "jukiterm backup restore")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	_, err = Acquire(dir, Daemon)
	if err == nil || !strings.Contains(err.Error(), "`jukiterm backup restore` (pid ") {
		t.Fatalf("got %v, want the command named", err)
	}
}

func TestReleaseLetsTheNextOneIn(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, Daemon)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l.Release() // twice is harmless
	l2, err := Acquire(dir, "jukiterm init")
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	l2.Release()
}

func TestMissingDirectorySaysSo(t *testing.T) {
	_, err := Acquire(filepath.Join(t.TempDir(), "nope"), Daemon)
	if err == nil || !strings.Contains(err.Error(), "does not exist") || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

// TestKilledHolderLeavesNoStaleLock holds the lock in a child process, kills it, and
// takes the lock at once: the kernel released it.
func TestKilledHolderLeavesNoStaleLock(t *testing.T) {
	if dir := os.Getenv("STATELOCK_HOLD"); dir != "" {
		if _, err := Acquire(dir, Daemon); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("held\n")
		time.Sleep(time.Minute)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledHolderLeavesNoStaleLock$")
	cmd.Env = append(os.Environ(), "STATELOCK_HOLD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf) != "held\n" {
		t.Fatalf("child: %q %v", buf, err)
	}
	var be *BusyError
	if _, err := Acquire(dir, Daemon); !errors.As(err, &be) || be.PID != cmd.Process.Pid {
		t.Fatalf("while the child holds it: %v, want busy with pid %d", err, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := Acquire(dir, Daemon)
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	l.Release()
}
