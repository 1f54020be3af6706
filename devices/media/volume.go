// Package media is jukiterm's view of a removable medium's data volume: the few file
// operations a provision needs, confined to the volume's root. The real volume is a
// mounted file system (OpenRoot); hwsim/mediasim supplies simulated sticks whose
// volume can be pulled out mid-write. Writers call only these methods, so a test on a
// simulated stick exercises the same code as a real one.
package media

import (
	"errors"
	"io"
	"io/fs"
	"os"
)

// Volume is a mounted, writable data volume. Names are slash-separated and relative to
// its root; a name that leads outside the root is refused.
type Volume interface {
	// MkdirAll creates dir and its parents (mode 0700).
	MkdirAll(dir string) error
	// Create creates a new file (mode 0600); it fails if name exists.
	Create(name string) (File, error)
	// Rename renames a file, replacing newname.
	Rename(oldname, newname string) error
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// SyncDir makes dir's entries (created, renamed, removed files) durable.
	SyncDir(dir string) error
	// Open opens a file for reading.
	Open(name string) (io.ReadCloser, error)
	// ReadDir lists dir.
	ReadDir(dir string) ([]fs.DirEntry, error)
	// Free is the space left on the volume, in bytes.
	Free() (int64, error)
	// Close lets the volume go (an open volume keeps its file system busy, so it
	// cannot be unmounted). Files created on it are not closed by it.
	Close() error
}

// File is a file being written on a volume.
type File interface {
	io.Writer
	// Sync makes what was written durable on the medium.
	Sync() error
	Close() error
}

// ErrGone says the medium was removed (or its volume unmounted) while in use.
var ErrGone = errors.New("the medium was removed")

// openFlags are those of Create: a new file, never an existing one.
const openFlags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
