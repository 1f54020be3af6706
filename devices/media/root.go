package media

import (
	"fmt"
	"io"
	"io/fs"

	"golang.org/x/sys/unix"
	"os"
)

// RootVolume is a mounted file system, reached through os.Root so that no name can
// leave it (symbolic links included).
type RootVolume struct{ r *os.Root }

// OpenRoot opens the volume mounted at path.
func OpenRoot(path string) (*RootVolume, error) {
	r, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("open the medium's volume at %s: %w", path, err)
	}
	return &RootVolume{r: r}, nil
}

// Close closes the volume's root.
func (v *RootVolume) Close() error { return v.r.Close() }

func (v *RootVolume) MkdirAll(dir string) error { return v.r.MkdirAll(dir, 0o700) }

func (v *RootVolume) Create(name string) (File, error) {
	return v.r.OpenFile(name, openFlags, 0o600)
}

func (v *RootVolume) Rename(oldname, newname string) error { return v.r.Rename(oldname, newname) }

func (v *RootVolume) Remove(name string) error { return v.r.Remove(name) }

func (v *RootVolume) SyncDir(dir string) error {
	d, err := v.r.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (v *RootVolume) Open(name string) (io.ReadCloser, error) { return v.r.Open(name) }

func (v *RootVolume) ReadDir(dir string) ([]fs.DirEntry, error) {
	return fs.ReadDir(v.r.FS(), dir)
}

func (v *RootVolume) Free() (int64, error) {
	d, err := v.r.Open(".")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(d.Fd()), &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * st.Bsize, nil
}
