package update

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func keyPair(t *testing.T, name string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func release(t *testing.T) string {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	os.MkdirAll(filepath.Join(dir, "systemd"), 0o755)
	os.WriteFile(filepath.Join(dir, "bin", "jukitermd"), []byte("#!/bin/sh\necho new daemon\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "systemd", "jukitermd.service"), []byte("[Service]\nExecStart=/usr/sbin/jukitermd\n"), 0o644)
	return dir
}

func build(t *testing.T, version string, s note.Signer) []byte {
	var b bytes.Buffer
	if err := Build(&b, release(t), version, s); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rewrite returns pkg with its members passed through f (which may change them).
func rewrite(t *testing.T, pkg []byte, f func(h *tar.Header, body []byte) []byte) []byte {
	tr := tar.NewReader(bytes.NewReader(pkg))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		body = f(h, body)
		h.Size = int64(len(body))
		tw.WriteHeader(h)
		tw.Write(body)
	}
	tw.Close()
	return out.Bytes()
}

func TestVerifyAndStage(t *testing.T) {
	s, v := keyPair(t, "prefecture-release")
	_, other := keyPair(t, "vendor-release")
	keys := note.VerifierList(other, v)
	pkg := build(t, "1.2.0", s)
	p, err := Verify(bytes.NewReader(pkg), keys, "1.1.9")
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != "1.2.0" || p.Signer != "prefecture-release" || len(p.Files) != 2 {
		t.Fatalf("package %+v", p)
	}
	dir := t.TempDir()
	if _, _, err := Stage(bytes.NewReader(pkg), keys, "1.1.9", dir, func(*Package) error { return errors.New("the log is full") }); err == nil || !strings.Contains(err.Error(), "the log is full") {
		t.Fatalf("a stage whose log entry failed: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("a stage whose log entry failed left %v", left)
	}
	committed := ""
	_, staged, err := Stage(bytes.NewReader(pkg), keys, "1.1.9", dir, func(p *Package) error { committed = p.Version; return nil })
	if err != nil || committed != "1.2.0" {
		t.Fatal(committed, err)
	}
	b, err := os.ReadFile(filepath.Join(staged, "bin", "jukitermd"))
	fi, _ := os.Stat(filepath.Join(staged, "bin", "jukitermd"))
	if err != nil || !strings.Contains(string(b), "new daemon") || fi.Mode().Perm() != 0o755 {
		t.Fatalf("staged binary: %q %v %v", b, fi.Mode(), err)
	}
	if m, err := os.ReadFile(filepath.Join(staged, "MANIFEST")); err != nil || !bytes.Contains(m, []byte("version 1.2.0\n")) || !bytes.Contains(m, []byte("— prefecture-release ")) {
		t.Fatalf("the signed manifest is not kept beside the staged files: %q %v", m, err)
	}
	if _, _, err := Stage(bytes.NewReader(pkg), keys, "1.1.9", dir, nil); err == nil {
		t.Fatal("the same version staged twice")
	}
	if _, err := Activate(dir, "1.2.0", "1.2.0", keys); !errors.Is(err, ErrRefused) {
		t.Fatalf("a staged version activated over the same installed version: %v", err)
	}
	if _, err := Activate(dir, "1.2.0", "2.0.0", keys); !errors.Is(err, ErrRefused) {
		t.Fatalf("a staged version activated over a newer installed one (a downgrade): %v", err)
	}
	if l, err := Pending(dir, keys, "1.0.0"); l != nil || err != nil {
		t.Fatalf("a launch before any activation: %v %v", l, err)
	}
	prev, err := Activate(dir, "1.2.0", "1.0.0", keys)
	if err != nil || prev != "" {
		t.Fatal(prev, err)
	}
	if l, _ := os.Readlink(filepath.Join(dir, "current")); l != "1.2.0" {
		t.Fatalf("current -> %q", l)
	}
	if _, err := Activate(dir, "9.9.9", "1.0.0", keys); err == nil {
		t.Fatal("an unstaged version activated")
	}
	l, err := Pending(dir, keys, "1.0.0")
	if err != nil || l == nil || l.Version != "1.2.0" {
		t.Fatalf("the activated version is not launched: %+v %v", l, err)
	}
	got, _ := io.ReadAll(l.binary)
	l.Close()
	if len(got) != 0 { // read to the end while it was checked
		t.Fatalf("the launch's binary was not the checked descriptor")
	}
	if l, err := Pending(dir, keys, "1.2.0"); l != nil || err != nil {
		t.Fatalf("the launched version (installed 1.2.0) would launch itself again: %v %v", l, err)
	}
}

// TestStagedIsCheckedAgain: a staged version altered on disk after staging (a byte of
// the daemon, an added file, the manifest, a key no longer pinned) is refused at
// activation and at launch.
func TestStagedIsCheckedAgain(t *testing.T) {
	s, v := keyPair(t, "prefecture-release")
	_, other := keyPair(t, "vendor-release")
	keys := note.VerifierList(v)
	pkg := build(t, "1.2.0", s)
	for name, c := range map[string]struct {
		alter  func(staged string)
		keys   note.Verifiers
		reason string
	}{
		"a byte of the daemon": {alter: func(d string) {
			f, _ := os.OpenFile(filepath.Join(d, "bin", "jukitermd"), os.O_WRONLY, 0)
			f.WriteAt([]byte("X"), 3)
			f.Close()
		}, reason: "altered after staging"},
		"an added file": {alter: func(d string) {
			os.WriteFile(filepath.Join(d, "bin", "helper"), []byte("x"), 0o755)
		}, reason: "does not list"},
		"a mode": {alter: func(d string) {
			os.Chmod(filepath.Join(d, "systemd", "jukitermd.service"), 0o755)
		}, reason: "mode changed"},
		"the manifest": {alter: func(d string) {
			m, _ := os.ReadFile(filepath.Join(d, "MANIFEST"))
			os.WriteFile(filepath.Join(d, "MANIFEST"), bytes.Replace(m, []byte("1.2.0"), []byte("1.2.1"), 1), 0o644)
		}, reason: "signature"},
		"a removed manifest":     {alter: func(d string) { os.Remove(filepath.Join(d, "MANIFEST")) }, reason: "no MANIFEST"},
		"a key no longer pinned": {alter: func(string) {}, keys: note.VerifierList(other), reason: "does not trust"},
	} {
		dir := t.TempDir()
		_, staged, err := Stage(bytes.NewReader(pkg), keys, "1.0.0", dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Activate(dir, "1.2.0", "1.0.0", keys); err != nil {
			t.Fatal(err)
		}
		c.alter(staged)
		k := keys
		if c.keys != nil {
			k = c.keys
		}
		if _, err := Activate(dir, "1.2.0", "1.0.0", k); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: activation: %v, want refused because %q", name, err, c.reason)
		}
		if l, err := Pending(dir, k, "1.0.0"); l != nil || !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: launch: %v %v, want refused because %q", name, l, err, c.reason)
		}
	}
}

// TestRefused: every package that must be refused is, with ErrRefused and a reason.
func TestRefused(t *testing.T) {
	s, v := keyPair(t, "prefecture-release")
	stranger, _ := keyPair(t, "prefecture-release") // same name, another key
	keys := note.VerifierList(v)
	good := build(t, "1.2.0", s)
	cases := map[string]struct {
		pkg    []byte
		reason string
	}{
		"unsigned": {rewrite(t, good, func(h *tar.Header, b []byte) []byte {
			if h.Name == "MANIFEST" {
				text, _, _ := bytes.Cut(b, []byte("\n\n"))
				return append(text, '\n')
			}
			return b
		}), "unsigned"},
		"other key": {build(t, "1.2.0", stranger), "does not trust"},
		"one byte changed": {rewrite(t, good, func(h *tar.Header, b []byte) []byte {
			if h.Name == "bin/jukitermd" {
				b = bytes.Clone(b)
				b[3] ^= 1
			}
			return b
		}), "altered"},
		"manifest changed": {rewrite(t, good, func(h *tar.Header, b []byte) []byte {
			if h.Name == "MANIFEST" {
				return bytes.Replace(b, []byte("version 1.2.0"), []byte("version 1.3.0"), 1)
			}
			return b
		}), "signature"},
		"downgrade":    {build(t, "1.0.9", s), "not newer"},
		"same version": {build(t, "1.1.0", s), "not newer"},
		"path outside root": {rewrite(t, good, func(h *tar.Header, b []byte) []byte {
			if h.Name == "bin/jukitermd" {
				h.Name = "../../etc/cron.d/x"
			}
			return b
		}), "outside the package's root"},
		"absolute path": {rewrite(t, good, func(h *tar.Header, b []byte) []byte {
			if h.Name == "bin/jukitermd" {
				h.Name = "/usr/sbin/jukitermd"
			}
			return b
		}), "outside the package's root"},
		"symlink": {rewrite(t, good, func(h *tar.Header, b []byte) []byte {
			if h.Name == "bin/jukitermd" {
				h.Typeflag, h.Linkname = tar.TypeSymlink, "/etc/shadow"
				return nil
			}
			return b
		}), "not a regular file"},
		"not a tar": {[]byte("hello"), "does not begin with a MANIFEST"},
	}
	for name, c := range cases {
		_, err := Verify(bytes.NewReader(c.pkg), keys, "1.1.0")
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: %v, want refused because %q", name, err, c.reason)
		}
		dir := t.TempDir()
		if _, _, err := Stage(bytes.NewReader(c.pkg), keys, "1.1.0", dir, nil); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: staged: %v", name, err)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("%s: a refused package left %v in the updates directory", name, left)
		}
	}
}

func TestCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"1.2.0", "1.10.0", -1}, {"2", "1.9.9", 1}, {"1.2", "1.2.0", 0}} {
		if got := Compare(c.a, c.b); got != c.want {
			t.Errorf("Compare(%s, %s) = %d", c.a, c.b, got)
		}
	}
}
