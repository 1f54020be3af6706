package update

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/mod/sumdb/note"
)

// CurrentLink is the switch in the updates directory: a symbolic link to the activated
// version's directory.
const CurrentLink = "current"

// BinaryPath is where a package holds the daemon.
const BinaryPath = "bin/jukitermd"

// LaunchedEnv is set in the environment of a jukitermd started from an activated
// version (its value is that version), so that it does not launch itself again.
const LaunchedEnv = "JUKITERM_LAUNCHED_VERSION"

// CheckStaged checks a staged version again: its kept MANIFEST against the pinned keys,
// and every file it lists, on disk, against its size, mode and SHA-256; no other file
// may be there. It returns the package and, when the package holds bin/jukitermd, that
// file open for reading (checked through this very descriptor, so what was checked is
// what runs).
func CheckStaged(dir, version string, keys note.Verifiers) (*Package, *os.File, error) {
	if !versionRE.MatchString(version) {
		return nil, nil, fmt.Errorf("%q is not a version N.N.N", version)
	}
	if keys == nil {
		return nil, nil, refused("no release key is pinned (update_keys is empty), so the staged version %s cannot be checked", version)
	}
	root, err := os.OpenRoot(filepath.Join(dir, version))
	if err != nil {
		return nil, nil, fmt.Errorf("version %s is not staged in %s: stage its package first (`jukiterm service update stage FILE`): %w", version, dir, err)
	}
	defer root.Close()
	mf, err := root.Open(manifestName)
	if err != nil {
		return nil, nil, refused("the staged version %s has no %s (not staged by jukitermd, or altered)", version, manifestName)
	}
	msg, err := io.ReadAll(io.LimitReader(mf, 1<<20))
	mf.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("read the staged %s: %w", manifestName, err)
	}
	p, want, err := openManifest(msg, keys)
	if err != nil {
		return nil, nil, err
	}
	if p.Version != version {
		return nil, nil, refused("the directory %s holds the package of version %s", version, p.Version)
	}
	var bin *os.File
	fail := func(err error) (*Package, *os.File, error) {
		if bin != nil {
			bin.Close()
		}
		return nil, nil, err
	}
	for _, f := range sortedFiles(want) {
		h, err := root.Open(f.Path)
		if err != nil {
			return fail(refused("the staged version %s lacks %q", version, f.Path))
		}
		if err := checkOnDisk(h, f); err != nil {
			h.Close()
			return fail(refused("the staged version %s: %v", version, err))
		}
		p.Files = append(p.Files, f)
		if f.Path == BinaryPath {
			bin = h
		} else {
			h.Close()
		}
	}
	extra := 0
	fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && name != manifestName {
			if _, ok := want[name]; !ok {
				extra++
			}
		}
		return nil
	})
	if extra > 0 {
		return fail(refused("the staged version %s holds %d files its signed manifest does not list", version, extra))
	}
	return p, bin, nil
}

func checkOnDisk(h *os.File, f File) error {
	fi, err := h.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Size() != f.Size || fi.Mode().Perm() != f.Mode {
		return fmt.Errorf("%q is not the file the manifest lists (type, size or mode changed)", f.Path)
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, h); err != nil {
		return fmt.Errorf("read %q: %w", f.Path, err)
	}
	if hex.EncodeToString(sum.Sum(nil)) != f.SHA256 {
		return fmt.Errorf("%q does not match the SHA-256 in the signed manifest: it was altered after staging", f.Path)
	}
	return nil
}

// Activate checks the staged version again (CheckStaged) and makes it the current one:
// dir/current, a symbolic link to VERSION, is replaced atomically. It returns the
// version that was current ("" if none).
func Activate(dir, version, installed string, keys note.Verifiers) (string, error) {
	if !versionRE.MatchString(version) {
		return "", fmt.Errorf("%q is not a version N.N.N", version)
	}
	if Compare(version, installed) <= 0 {
		return "", refused("version %s is not newer than the installed %s: a downgrade or reinstall is not allowed", version, installed)
	}
	_, bin, err := CheckStaged(dir, version, keys)
	if err != nil {
		return "", err
	}
	if bin != nil {
		bin.Close()
	}
	cur := filepath.Join(dir, CurrentLink)
	prev, _ := os.Readlink(cur)
	tmp := filepath.Join(dir, ".current-new")
	os.Remove(tmp)
	if err := os.Symlink(version, tmp); err != nil {
		return "", fmt.Errorf("write the switch: %w", err)
	}
	if err := os.Rename(tmp, cur); err != nil {
		return "", fmt.Errorf("write the switch: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return prev, nil
}

// Launch is an activated version ready to run.
type Launch struct {
	Version string
	binary  *os.File
}

// Pending returns the activated version (dir/current) when it is newer than the
// installed one and holds bin/jukitermd, checked again with CheckStaged; nil when
// there is nothing to launch (no switch, a version not newer — the installed one came
// later, or this is the launched one —, or a package without a daemon).
func Pending(dir string, keys note.Verifiers, installed string) (*Launch, error) {
	version, err := os.Readlink(filepath.Join(dir, CurrentLink))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the switch %s: %w", filepath.Join(dir, CurrentLink), err)
	}
	if !versionRE.MatchString(version) {
		return nil, refused("the switch %s points to %q, not to a version directory", filepath.Join(dir, CurrentLink), version)
	}
	if Compare(version, installed) <= 0 {
		return nil, nil
	}
	_, bin, err := CheckStaged(dir, version, keys)
	if err != nil || bin == nil {
		return nil, err
	}
	return &Launch{Version: version, binary: bin}, nil
}

// Exec replaces the running process with the checked binary (through its open
// descriptor), with LaunchedEnv set; it returns only on failure.
func (l *Launch) Exec(args, env []string) error {
	env = append(env, LaunchedEnv+"="+l.Version)
	err := syscall.Exec("/proc/self/fd/"+strconv.Itoa(int(l.binary.Fd())), args, env)
	l.binary.Close()
	return fmt.Errorf("start %s of version %s: %w", BinaryPath, l.Version, err)
}

// Close releases the binary when it is not launched.
func (l *Launch) Close() { l.binary.Close() }
