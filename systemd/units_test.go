package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// unitRoot lays out a root directory with the host's systemd units (for the targets
// ours depend on), our units, and an executable where ExecStart points.
func unitRoot(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatal("systemd-analyze is missing: run `make deps` (Debian package systemd)")
	}
	root := t.TempDir()
	sys := filepath.Join(root, "usr/lib/systemd/system")
	os.MkdirAll(filepath.Dir(sys), 0o755)
	if out, err := exec.Command("cp", "-r", "/lib/systemd/system", filepath.Dir(sys)).CombinedOutput(); err != nil {
		t.Fatalf("copy the host's units: %v %s", err, out)
	}
	for _, u := range []string{"jukitermd.service", "jukitermd.socket"} {
		b, err := os.ReadFile(filepath.Join("units", u))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sys, u), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, exe := range []string{"usr/bin/jukitermd", "bin/kill"} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(exe)), 0o755)
		if err := os.WriteFile(filepath.Join(root, exe), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestUnitsVerifyClean(t *testing.T) {
	root := unitRoot(t)
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", "--root="+root,
		"/usr/lib/systemd/system/jukitermd.service", "/usr/lib/systemd/system/jukitermd.socket").CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestUnitsExposure(t *testing.T) {
	root := unitRoot(t)
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--root="+root, "jukitermd.service").CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for jukitermd\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	level, _ := strconv.ParseFloat(string(m[1]), 64)
	if level > 1.5 {
		t.Fatalf("exposure %.1f, want at most 1.5:\n%s", level, out)
	}
	t.Logf("exposure %.1f", level)
}

func TestManPagesRenderCleanly(t *testing.T) {
	pages, _ := filepath.Glob("../docs/man/*.[158]")
	if len(pages) != 3 {
		t.Fatalf("man pages: %v", pages)
	}
	for _, p := range pages {
		cmd := exec.Command("man", "--warnings", "-l", p)
		cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "MANPAGER=cat", "PAGER=cat")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 || len(out) < 200 {
			t.Errorf("%s: %v\n%s", p, err, stderr.String())
		}
	}
}
