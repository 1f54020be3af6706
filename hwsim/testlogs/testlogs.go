// Package testlogs collects the log output of every jukitermd a test run starts, and of
// the in-process servers the daemon tests build, so that one test can read it all
// afterwards (`make test` runs TestWholeRunLogHoldsNoPersonalValue in cmd/jukiterm).
// Only tests import it. Without the variable Env nothing is collected.
package testlogs

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"sync"
	"testing"
)

// Env names the directory the logs are collected in.
const Env = "JUKITERM_TEST_LOGS"

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// file creates a new file for t in the collection directory, or returns nil when the
// variable is unset. It is closed when t ends; later writes are dropped.
func file(t testing.TB) *dropWriter {
	dir := os.Getenv(Env)
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("the test log directory %s (%s) cannot be made: %v", dir, Env, err)
	}
	f, err := os.CreateTemp(dir, unsafeChars.ReplaceAllString(t.Name(), "_")+"-*.log")
	if err != nil {
		t.Fatalf("no test log file in %s (%s): %v", dir, Env, err)
	}
	w := &dropWriter{f: f}
	t.Cleanup(w.close)
	return w
}

// Writer returns w, which also writes to a new file of the collection when the
// variable is set. Use it for the writer of a test's *slog.Logger.
func Writer(t testing.TB, w io.Writer) io.Writer {
	f := file(t)
	if f == nil {
		return w
	}
	return io.MultiWriter(w, f)
}

// TeeStderr makes cmd, a jukitermd not yet started, also write its stderr (where its
// log goes) to a new file of the collection when the variable is set. Call it after
// setting cmd.Stdout and cmd.Stderr. Its stdout is left out: it carries only the demo
// hints of `make run`, which name a synthetic person on purpose and are no log line.
func TeeStderr(t testing.TB, cmd *exec.Cmd) {
	f := file(t)
	if f == nil {
		return
	}
	switch {
	case cmd.Stderr == nil:
		cmd.Stderr = f
	case sameWriter(cmd.Stdout, cmd.Stderr):
		// One writer for both: exec writes to it from one goroutine only when the
		// two are the same; now they differ, so the writes are serialised here.
		shared := &lockedWriter{w: cmd.Stderr}
		cmd.Stdout, cmd.Stderr = shared, io.MultiWriter(shared, f)
	default:
		cmd.Stderr = io.MultiWriter(cmd.Stderr, f)
	}
}

// CombinedOutput runs cmd as cmd.CombinedOutput does, with its stderr also collected.
func CombinedOutput(t testing.TB, cmd *exec.Cmd) ([]byte, error) {
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	TeeStderr(t, cmd)
	err := cmd.Run()
	return b.Bytes(), err
}

func sameWriter(a, b io.Writer) bool {
	return a != nil && b != nil && reflect.TypeOf(a).Comparable() && a == b
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// dropWriter writes to its file until closed, then drops what comes (a daemon killed
// at the end of a test may still be writing); it never fails the writer it is in.
type dropWriter struct {
	mu sync.Mutex
	f  *os.File
}

func (d *dropWriter) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f != nil {
		d.f.Write(p)
	}
	return len(p), nil
}

func (d *dropWriter) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.f.Close()
	d.f = nil
}
