package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDebianPackage builds the package with `make deb`, unpacks it into a temporary
// root and checks what it installs.
func TestDebianPackage(t *testing.T) {
	if out, err := exec.Command("make", "-C", "..", "--no-print-directory", "deb").CombinedOutput(); err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob("../bin/jukiterm_*.deb")
	if len(debs) != 1 {
		t.Fatalf("packages: %v", debs)
	}
	root := t.TempDir()
	if out, err := exec.Command("dpkg", "-x", debs[0], root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -x: %v\n%s", err, out)
	}
	want := map[string]os.FileMode{
		"usr/bin/jukitermd": 0o755, "usr/bin/jukiterm": 0o755,
		"usr/lib/systemd/system/jukitermd.service": 0o644, "usr/lib/systemd/system/jukitermd.socket": 0o644,
		"usr/lib/sysusers.d/jukiterm.conf": 0o644, "usr/lib/tmpfiles.d/jukiterm.conf": 0o644,
		"usr/lib/udev/rules.d/70-jukiterm.rules": 0o644, "etc/jukiterm/jukiterm.conf": 0o640,
		"usr/share/man/man1/jukiterm.1.gz": 0o644, "usr/share/man/man5/jukiterm.conf.5.gz": 0o644,
		"usr/share/man/man8/jukitermd.8.gz": 0o644, "usr/share/bash-completion/completions/jukiterm": 0o644,
	}
	for f, mode := range want {
		fi, err := os.Stat(filepath.Join(root, f))
		if err != nil {
			t.Errorf("missing %s", f)
			continue
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", f, fi.Mode().Perm(), mode)
		}
	}
	// The packaged daemon has no simulators, and its default config is for real hardware.
	out, _ := exec.Command(filepath.Join(root, "usr/bin/jukiterm"), "--help").CombinedOutput()
	if strings.Contains(string(out), "sim ") || strings.Contains(string(out), "bench") {
		t.Errorf("the packaged jukiterm offers simulators:\n%s", out)
	}
	conf, _ := os.ReadFile(filepath.Join(root, "etc/jukiterm/jukiterm.conf"))
	if !strings.Contains(string(conf), `hardware = "real"`) {
		t.Errorf("default config:\n%s", conf)
	}
	// Every document the man pages and the README cite is shipped.
	cites := regexp.MustCompile(`docs/([A-Za-z_-]+\.(?:md|sh))`)
	for _, src := range []string{"../README.md", "../docs/man/jukiterm.1", "../docs/man/jukitermd.8", "../docs/man/jukiterm.conf.5"} {
		b, _ := os.ReadFile(src)
		for _, m := range append(cites.FindAllStringSubmatch(string(b), -1), []string{"", "README.md"}) {
			if _, err := os.Stat(filepath.Join(root, "usr/share/doc/jukiterm", m[1])); err != nil {
				t.Errorf("%s cites %s, which the package does not ship in /usr/share/doc/jukiterm", src, m[1])
			}
		}
	}
	comp, _ := os.ReadFile(filepath.Join(root, "usr/share/bash-completion/completions/jukiterm"))
	if !strings.Contains(string(comp), "__start_jukiterm") {
		t.Error("bash completion does not complete jukiterm")
	}
	for _, field := range []string{"Package", "Version", "Depends"} {
		v, err := exec.Command("dpkg-deb", "-f", debs[0], field).Output()
		if err != nil || len(strings.TrimSpace(string(v))) == 0 {
			t.Errorf("control field %s: %q %v", field, v, err)
		}
	}
	ctrl := t.TempDir() + "/DEBIAN"
	if out, err := exec.Command("dpkg-deb", "-e", debs[0], ctrl).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -e: %v\n%s", err, out)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if fi, err := os.Stat(filepath.Join(ctrl, s)); err != nil || fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("maintainer script %s missing or not executable (%v)", s, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(ctrl, "conffiles")); !strings.Contains(string(b), "/etc/jukiterm/jukiterm.conf") {
		t.Error("the configuration is not a conffile: an upgrade would overwrite local changes")
	}
}
