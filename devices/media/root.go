package media

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// RootVolume is a mounted file system, reached through os.Root so that no name can
// leave it (symbolic links included). The errors a pulled stick causes (EIO, ENODEV,
// ENXIO, ESHUTDOWN, ESTALE) wrap ErrGone, as on a simulated stick.
type RootVolume struct{ r *os.Root }

// OpenRoot opens the volume mounted at path.
func OpenRoot(path string) (*RootVolume, error) {
	r, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("open the medium's volume at %s: %w", path, err)
	}
	return &RootVolume{r: r}, nil
}

// gone wraps the errors of a removed device in ErrGone.
func gone(err error) error {
	if err == nil {
		return nil
	}
	for _, e := range []error{unix.EIO, unix.ENODEV, unix.ENXIO, unix.ESHUTDOWN, unix.ESTALE} {
		if errors.Is(err, e) {
			return fmt.Errorf("%w: %w", ErrGone, err)
		}
	}
	return err
}

// Close closes the volume's root.
func (v *RootVolume) Close() error { return v.r.Close() }

func (v *RootVolume) MkdirAll(dir string) error { return gone(v.r.MkdirAll(dir, 0o700)) }

func (v *RootVolume) Create(name string) (File, error) {
	f, err := v.r.OpenFile(name, openFlags, 0o600)
	if err != nil {
		return nil, gone(err)
	}
	return rootFile{f}, nil
}

func (v *RootVolume) Rename(oldname, newname string) error {
	return gone(v.r.Rename(oldname, newname))
}

func (v *RootVolume) Remove(name string) error { return gone(v.r.Remove(name)) }

func (v *RootVolume) SyncDir(dir string) error {
	d, err := v.r.Open(dir)
	if err != nil {
		return gone(err)
	}
	defer d.Close()
	return gone(d.Sync())
}

// Open opens a file for reading from the medium itself: its cached pages are dropped
// first (they are clean once synced), so that reading back what was written reads
// the stick, not the page cache.
func (v *RootVolume) Open(name string) (io.ReadCloser, error) {
	f, err := v.r.Open(name)
	if err != nil {
		return nil, gone(err)
	}
	unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	return f, nil
}

func (v *RootVolume) ReadDir(dir string) ([]fs.DirEntry, error) {
	ents, err := fs.ReadDir(v.r.FS(), dir)
	return ents, gone(err)
}

func (v *RootVolume) Free() (int64, error) {
	d, err := v.r.Open(".")
	if err != nil {
		return 0, gone(err)
	}
	defer d.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(d.Fd()), &st); err != nil {
		return 0, gone(err)
	}
	return int64(st.Bavail) * st.Bsize, nil
}

// rootFile is a file being written on a RootVolume.
type rootFile struct{ f *os.File }

func (f rootFile) Write(b []byte) (int, error) {
	n, err := f.f.Write(b)
	return n, gone(err)
}
func (f rootFile) Sync() error  { return gone(f.f.Sync()) }
func (f rootFile) Close() error { return gone(f.f.Close()) }

// device is the "major:minor" of the file system the volume's root is on.
func (v *RootVolume) device() (string, error) {
	d, err := v.r.Open(".")
	if err != nil {
		return "", err
	}
	defer d.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(d.Fd()), &st); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev))), nil
}
