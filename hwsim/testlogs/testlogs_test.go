package testlogs

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// collected returns the text of every file in dir.
func collected(t *testing.T, dir string) (files int, text string) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var b strings.Builder
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return len(names), b.String()
}

// TestCollects: with the variable set, a logger's writer and a process's stderr also
// land in files of the directory (the process's stdout does not), and what the test
// itself reads stays whole.
func TestCollects(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(Env, dir)
	t.Run("sub/test", func(t *testing.T) {
		var own bytes.Buffer
		io.WriteString(Writer(t, &own), "level=INFO msg=serving\n")
		if own.String() != "level=INFO msg=serving\n" {
			t.Fatalf("the test's own writer got %q", own.String())
		}
		var out bytes.Buffer
		cmd := exec.Command("/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2")
		cmd.Stdout, cmd.Stderr = &out, &out
		TeeStderr(t, cmd)
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "to-stdout") || !strings.Contains(out.String(), "to-stderr") {
			t.Fatalf("the test's combined output lost a line: %q", out.String())
		}
		b, err := CombinedOutput(t, exec.Command("/bin/sh", "-c", "echo refused >&2; exit 1"))
		if err == nil || string(b) != "refused\n" {
			t.Fatalf("CombinedOutput: %q %v", b, err)
		}
	})
	n, text := collected(t, dir)
	if n != 3 || !strings.Contains(text, "msg=serving") || !strings.Contains(text, "to-stderr") || !strings.Contains(text, "refused") {
		t.Fatalf("%d files holding %q, want 3 with the log lines", n, text)
	}
	if strings.Contains(text, "to-stdout") {
		t.Fatalf("stdout was collected: %q", text)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "TestCollects_sub_test-*.log"))
	if len(names) != 3 {
		t.Fatalf("files are not named after the test: %v", names)
	}
}

// TestNothingWithoutTheVariable: unset, the writer is the test's own and a process
// keeps its writers.
func TestNothingWithoutTheVariable(t *testing.T) {
	t.Setenv(Env, "")
	var own bytes.Buffer
	if w := Writer(t, &own); w != io.Writer(&own) {
		t.Fatalf("Writer wrapped the test's writer: %T", w)
	}
	cmd := exec.Command("/bin/true")
	cmd.Stdout, cmd.Stderr = &own, &own
	TeeStderr(t, cmd)
	if cmd.Stdout != io.Writer(&own) || cmd.Stderr != io.Writer(&own) {
		t.Fatal("TeeStderr changed the process's writers")
	}
}
