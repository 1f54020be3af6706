// Package update verifies, stages and builds signed update packages: the new
// binaries and unit files that the terminal receives from the prefecture's server and
// hands on. A package is a tar whose first member, MANIFEST, is a C2SP signed note
// (golang.org/x/mod/sumdb/note, the format of the operation log's checkpoints) by a
// release key the configuration pins (update_keys). Its text names the version and
// every other member with its SHA-256, size and mode:
//
//	jukiterm update package v1
//	version 1.2.0
//	file 0755 21833216 9f86d0…(64 hex) bin/jukitermd
//	file 0644 1210 5e884898…(64 hex) systemd/jukitermd.service
//
// A package is refused when its manifest is unsigned or signed by another key, when a
// member differs from the manifest by one byte, when a member is not listed or a
// listed one is missing, when a path leaves the package's root (absolute, "..", a
// link), and when its version is not newer than the installed one (no downgrade).
package update

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Version is the installed version (set at build time with
// -ldflags "-X jukiterm/daemon/update.Version=1.2.0").
var Version = "0.1.0"

// ErrRefused wraps every reason a package is refused.
var ErrRefused = errors.New("update package refused")

const (
	manifestName = "MANIFEST"
	header       = "jukiterm update package v1"
	// MaxFile bounds one member, MaxFiles the number of members.
	MaxFile  = 1 << 30
	MaxFiles = 256
)

// File is one member of a package.
type File struct {
	Path   string      `json:"path"`
	Mode   fs.FileMode `json:"mode"`
	Size   int64       `json:"size"`
	SHA256 string      `json:"sha256"`
}

// Package is a verified package.
type Package struct {
	Version string `json:"version"`
	Signer  string `json:"signer"` // the name of the key that signed it
	Files   []File `json:"files"`
	data    map[string][]byte
}

func refused(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, a...))
}

var versionRE = regexp.MustCompile(`^[0-9]{1,6}(\.[0-9]{1,6}){0,3}$`)

// Compare compares two dotted numeric versions: -1, 0 or 1.
func Compare(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// cleanPath checks that name stays inside the package's root.
func cleanPath(name string) (string, error) {
	switch {
	case name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\"):
		return "", refused("member %q has a path outside the package's root (absolute or empty): packages hold relative paths only", name)
	case path.Clean(name) != name || name == "." || slices.Contains(strings.Split(name, "/"), ".."):
		return "", refused("member %q has a path outside the package's root or not in plain form ('..', '.', '//')", name)
	case name == manifestName:
		return "", refused("the package holds %s twice", manifestName)
	}
	for _, r := range name {
		if r < 0x21 || r == 0x7f {
			return "", refused("member %q has a control character or space in its path", name)
		}
	}
	return name, nil
}

// Verify reads a package from r and checks it against the pinned keys and the
// installed version. Every refusal wraps ErrRefused and says why.
func Verify(r io.Reader, keys note.Verifiers, installed string) (*Package, error) {
	tr := tar.NewReader(r)
	h, err := tr.Next()
	if err != nil || h.Name != manifestName || h.Typeflag != tar.TypeReg || h.Size > 1<<20 {
		return nil, refused("it does not begin with a %s (not an update package, or damaged)", manifestName)
	}
	msg, err := io.ReadAll(tr)
	if err != nil {
		return nil, refused("its %s cannot be read: %v", manifestName, err)
	}
	n, err := note.Open(msg, keys)
	var unknown *note.UnverifiedNoteError
	switch {
	case errors.As(err, &unknown):
		names := []string{}
		for _, s := range unknown.Note.UnverifiedSigs {
			names = append(names, s.Name)
		}
		return nil, refused("its manifest is signed by a key this terminal does not trust (%s): only the keys in update_keys are accepted; ask the prefecture whether the package is genuine", strings.Join(names, ", "))
	case err != nil && err.Error() == "malformed note":
		return nil, refused("its manifest is unsigned or malformed: only packages signed by a key in update_keys are accepted")
	case err != nil:
		return nil, refused("its manifest's signature does not verify (the package was altered, or the key is not the one pinned): %v", err)
	}
	p := &Package{Signer: n.Sigs[0].Name, data: map[string][]byte{}}
	want := map[string]File{}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 2 || lines[0] != header {
		return nil, refused("its manifest does not begin with %q", header)
	}
	v, ok := strings.CutPrefix(lines[1], "version ")
	if !ok || !versionRE.MatchString(v) {
		return nil, refused("its manifest's second line is not \"version N.N.N\"")
	}
	p.Version = v
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) != 5 || f[0] != "file" {
			return nil, refused("its manifest has a line that is not \"file MODE SIZE SHA256 PATH\"")
		}
		mode, err1 := strconv.ParseUint(f[1], 8, 32)
		size, err2 := strconv.ParseInt(f[2], 10, 64)
		name, err3 := cleanPath(f[4])
		if err1 != nil || err2 != nil || (mode != 0o755 && mode != 0o644) || len(f[3]) != 64 {
			return nil, refused("its manifest's line for %q is not valid (mode 0755 or 0644, size, 64 hex digits)", f[4])
		}
		if err3 != nil {
			return nil, err3
		}
		if _, dup := want[name]; dup {
			return nil, refused("its manifest lists %q twice", name)
		}
		want[name] = File{Path: name, Mode: fs.FileMode(mode), Size: size, SHA256: f[3]}
	}
	if len(want) > MaxFiles {
		return nil, refused("its manifest lists %d files, more than %d", len(want), MaxFiles)
	}
	if Compare(p.Version, installed) <= 0 {
		return nil, refused("it is version %s, not newer than the installed %s: a downgrade or reinstall is not allowed", p.Version, installed)
	}
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
		if _, dup := p.data[name]; dup {
			return nil, refused("member %q appears twice", name)
		}
		if h.Size != f.Size || h.Size > MaxFile {
			return nil, refused("member %q is %d bytes, the manifest says %d", name, h.Size, f.Size)
		}
		b, err := io.ReadAll(io.LimitReader(tr, MaxFile))
		if err != nil {
			return nil, refused("member %q cannot be read: %v", name, err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != f.SHA256 {
			return nil, refused("member %q does not match the SHA-256 in the signed manifest: it was altered", name)
		}
		p.data[name] = b
		p.Files = append(p.Files, f)
	}
	for name := range want {
		if _, ok := p.data[name]; !ok {
			return nil, refused("file %q of the manifest is missing from the package", name)
		}
	}
	return p, nil
}

// Stage unpacks a verified package into dir/VERSION (through a temporary directory,
// renamed when complete) and returns that directory. A version staged already is
// refused.
func (p *Package) Stage(dir string) (string, error) {
	dest := filepath.Join(dir, p.Version)
	if _, err := os.Lstat(dest); err == nil {
		return "", fmt.Errorf("version %s is staged already in %s: activate it, or remove that directory to stage it again", p.Version, dest)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("create the updates directory: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".stage-")
	if err != nil {
		return "", fmt.Errorf("create a staging directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return "", err
	}
	defer root.Close()
	for _, f := range p.Files {
		if d := path.Dir(f.Path); d != "." {
			if err := root.MkdirAll(d, 0o750); err != nil {
				return "", fmt.Errorf("stage %s: %w", f.Path, err)
			}
		}
		w, err := root.OpenFile(f.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.Mode)
		if err != nil {
			return "", fmt.Errorf("stage %s: %w", f.Path, err)
		}
		_, err = w.Write(p.data[f.Path])
		if err == nil {
			err = w.Sync()
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("stage %s: %w", f.Path, err)
		}
	}
	if err := os.Chmod(tmp, 0o750); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dest); err != nil {
		return "", fmt.Errorf("move the staged files into %s: %w", dest, err)
	}
	return dest, nil
}

// Build writes a package of every regular file under dir, as version, signed by
// signer (a note signer key, e.g. from note.GenerateKey). For the release side and
// tests: the real release key lives in the vendor's or the prefecture's HSM.
func Build(w io.Writer, dir, version string, signer note.Signer) error {
	if !versionRE.MatchString(version) {
		return fmt.Errorf("version %q is not N.N.N (digits and dots)", version)
	}
	var files []File
	data := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file: a package holds regular files only", p)
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if _, err := cleanPath(rel); err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
		sum := sha256.Sum256(b)
		files = append(files, File{Path: rel, Mode: mode, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])})
		data[rel] = b
		return nil
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("%s holds no files to package", dir)
	}
	var text bytes.Buffer
	fmt.Fprintf(&text, "%s\nversion %s\n", header, version)
	for _, f := range files {
		fmt.Fprintf(&text, "file %04o %d %s %s\n", f.Mode, f.Size, f.SHA256, f.Path)
	}
	msg, err := note.Sign(&note.Note{Text: text.String()}, signer)
	if err != nil {
		return fmt.Errorf("sign the manifest: %w", err)
	}
	tw := tar.NewWriter(w)
	add := func(name string, mode int64, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(b)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := add(manifestName, 0o644, msg); err != nil {
		return err
	}
	for _, f := range files {
		if err := add(f.Path, int64(f.Mode), data[f.Path]); err != nil {
			return err
		}
	}
	return tw.Close()
}

// Keys reads pinned verifier keys (note verifier keys, "NAME+HASH+BASE64").
func Keys(keys []string) (note.Verifiers, error) {
	var vs []note.Verifier
	for _, k := range keys {
		v, err := note.NewVerifier(strings.TrimSpace(k))
		if err != nil {
			return nil, fmt.Errorf("update_keys: %q is not a note verifier key (NAME+HASH+BASE64, as `jukiterm service update keygen` writes): %w", k, err)
		}
		vs = append(vs, v)
	}
	return note.VerifierList(vs...), nil
}

// Activate makes the staged version the current one: dir/current, a symbolic link to
// VERSION, is replaced atomically. It returns the version that was current ("" if
// none).
func Activate(dir, version, installed string) (string, error) {
	if !versionRE.MatchString(version) {
		return "", fmt.Errorf("%q is not a version N.N.N", version)
	}
	if Compare(version, installed) <= 0 {
		return "", fmt.Errorf("%w: version %s is not newer than the installed %s: a downgrade or reinstall is not allowed", ErrRefused, version, installed)
	}
	if fi, err := os.Stat(filepath.Join(dir, version)); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("version %s is not staged in %s: stage its package first (`jukiterm service update stage FILE`)", version, dir)
	}
	cur := filepath.Join(dir, "current")
	prev, _ := os.Readlink(cur)
	tmp := filepath.Join(dir, ".current-new")
	os.Remove(tmp)
	if err := os.Symlink(version, tmp); err != nil {
		return "", fmt.Errorf("write the switch: %w", err)
	}
	if err := os.Rename(tmp, cur); err != nil {
		return "", fmt.Errorf("write the switch: %w", err)
	}
	return prev, nil
}
