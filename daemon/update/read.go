package update

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Verify reads a package from r and checks it against the pinned keys and the
// installed version, keeping nothing. Every refusal wraps ErrRefused and says why.
func Verify(r io.Reader, keys note.Verifiers, installed string) (*Package, error) {
	return read(r, keys, installed, nil)
}

// Stage reads a package from r, checks it as Verify does, and unpacks it into
// dir/VERSION with its signed MANIFEST beside the files (so that activation and every
// start can check them again). The members are written as they arrive into a
// temporary directory, which is renamed when the whole package is checked and commit
// (the caller's log entry) has succeeded; on any refusal or error nothing is left.
func Stage(r io.Reader, keys note.Verifiers, installed, dir string, commit func(*Package) error) (*Package, string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, "", fmt.Errorf("create the updates directory: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".stage-")
	if err != nil {
		return nil, "", fmt.Errorf("create a staging directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return nil, "", err
	}
	defer root.Close()
	p, err := read(r, keys, installed, root)
	if err != nil {
		return nil, "", err
	}
	dest := filepath.Join(dir, p.Version)
	if _, err := os.Lstat(dest); err == nil {
		return nil, "", fmt.Errorf("version %s is staged already in %s: activate it, or remove that directory to stage it again", p.Version, dest)
	}
	if err := writeFile(root, manifestName, 0o644, p.note); err != nil {
		return nil, "", err
	}
	if commit != nil {
		if err := commit(p); err != nil {
			return nil, "", err
		}
	}
	if err := os.Chmod(tmp, 0o750); err != nil {
		return nil, "", err
	}
	if err := os.Rename(tmp, dest); err != nil {
		return nil, "", fmt.Errorf("move the staged files into %s: %w", dest, err)
	}
	return p, dest, nil
}

func writeFile(root *os.Root, name string, mode fs.FileMode, b []byte) error {
	w, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("stage %s: %w", name, err)
	}
	_, err = w.Write(b)
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("stage %s: %w", name, err)
	}
	return nil
}

// openManifest checks a signed manifest against the keys and parses it.
func openManifest(msg []byte, keys note.Verifiers) (*Package, map[string]File, error) {
	n, err := note.Open(msg, keys)
	var unknown *note.UnverifiedNoteError
	switch {
	case errors.As(err, &unknown):
		names := []string{}
		for _, s := range unknown.Note.UnverifiedSigs {
			names = append(names, s.Name)
		}
		return nil, nil, refused("its manifest is signed by a key this terminal does not trust (%s): only the keys in update_keys are accepted; ask the prefecture whether the package is genuine", strings.Join(names, ", "))
	case err != nil && err.Error() == "malformed note":
		return nil, nil, refused("its manifest is unsigned or malformed: only packages signed by a key in update_keys are accepted")
	case err != nil:
		return nil, nil, refused("its manifest's signature does not verify (the package was altered, or the key is not the one pinned): %v", err)
	}
	p := &Package{Signer: n.Sigs[0].Name, note: msg}
	want := map[string]File{}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 2 || lines[0] != header {
		return nil, nil, refused("its manifest does not begin with %q", header)
	}
	v, ok := strings.CutPrefix(lines[1], "version ")
	if !ok || !versionRE.MatchString(v) {
		return nil, nil, refused("its manifest's second line is not \"version N.N.N\"")
	}
	p.Version = v
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) != 5 || f[0] != "file" {
			return nil, nil, refused("its manifest has a line that is not \"file MODE SIZE SHA256 PATH\"")
		}
		mode, err1 := strconv.ParseUint(f[1], 8, 32)
		size, err2 := strconv.ParseInt(f[2], 10, 64)
		name, err3 := cleanPath(f[4])
		if err1 != nil || err2 != nil || (mode != 0o755 && mode != 0o644) || len(f[3]) != 64 || size < 0 || size > MaxFile {
			return nil, nil, refused("its manifest's line for %q is not valid (mode 0755 or 0644, size up to %d bytes, 64 hex digits)", f[4], MaxFile)
		}
		if err3 != nil {
			return nil, nil, err3
		}
		if _, dup := want[name]; dup {
			return nil, nil, refused("its manifest lists %q twice", name)
		}
		want[name] = File{Path: name, Mode: fs.FileMode(mode), Size: size, SHA256: f[3]}
		if len(want) > MaxFiles {
			return nil, nil, refused("its manifest lists more than %d files", MaxFiles)
		}
	}
	return p, want, nil
}

// read checks a package as it streams by; with a root, each member is also written
// there (0600 until complete), so nothing is held in memory.
func read(r io.Reader, keys note.Verifiers, installed string, root *os.Root) (*Package, error) {
	tr := tar.NewReader(r)
	h, err := tr.Next()
	if err != nil || h.Name != manifestName || h.Typeflag != tar.TypeReg || h.Size > 1<<20 {
		return nil, refused("it does not begin with a %s (not an update package, or damaged)", manifestName)
	}
	msg, err := io.ReadAll(tr)
	if err != nil {
		return nil, refused("its %s cannot be read: %v", manifestName, err)
	}
	p, want, err := openManifest(msg, keys)
	if err != nil {
		return nil, err
	}
	if Compare(p.Version, installed) <= 0 {
		return nil, refused("it is version %s, not newer than the installed %s: a downgrade or reinstall is not allowed", p.Version, installed)
	}
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, refused("it is damaged after %d files: %v", len(p.Files), err)
		}
		name, err := cleanPath(h.Name)
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			return nil, refused("member %q is not a regular file (links and devices could point outside the package's root)", name)
		}
		f, ok := want[name]
		if !ok {
			return nil, refused("member %q is not in the signed manifest", name)
		}
		if seen[name] {
			return nil, refused("member %q appears twice", name)
		}
		seen[name] = true
		if h.Size != f.Size {
			return nil, refused("member %q is %d bytes, the manifest says %d", name, h.Size, f.Size)
		}
		if err := copyMember(tr, f, root); err != nil {
			return nil, err
		}
		p.Files = append(p.Files, f)
	}
	for name := range want {
		if !seen[name] {
			return nil, refused("file %q of the manifest is missing from the package", name)
		}
	}
	return p, nil
}

// copyMember hashes one member as it streams by (writing it under root when given) and
// checks it against the manifest.
func copyMember(tr io.Reader, f File, root *os.Root) error {
	sum := sha256.New()
	var dst io.Writer = sum
	var w *os.File
	if root != nil {
		if d := path.Dir(f.Path); d != "." {
			if err := root.MkdirAll(d, 0o750); err != nil {
				return fmt.Errorf("stage %s: %w", f.Path, err)
			}
		}
		var err error
		if w, err = root.OpenFile(f.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return fmt.Errorf("stage %s: %w", f.Path, err)
		}
		defer w.Close()
		dst = io.MultiWriter(sum, w)
	}
	if _, err := io.Copy(dst, io.LimitReader(tr, f.Size)); err != nil {
		if root != nil && !isReadError(err) {
			return fmt.Errorf("stage %s: %w", f.Path, err)
		}
		return refused("member %q cannot be read: %v", f.Path, err)
	}
	if hex.EncodeToString(sum.Sum(nil)) != f.SHA256 {
		return refused("member %q does not match the SHA-256 in the signed manifest: it was altered", f.Path)
	}
	if w == nil {
		return nil
	}
	if err := w.Sync(); err != nil {
		return fmt.Errorf("stage %s: %w", f.Path, err)
	}
	if err := w.Chmod(f.Mode); err != nil {
		return fmt.Errorf("stage %s: %w", f.Path, err)
	}
	return w.Close()
}

// isReadError tells a failure of the package's stream from one of the disk.
func isReadError(err error) bool {
	var pe *fs.PathError
	return !errors.As(err, &pe)
}
