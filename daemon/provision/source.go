package provision

import (
	"crypto/ecdsa"
	"io"
	"io/fs"
	"os"
	"path"

	"jukiterm/devices/media"
)

// source is a provision directory being read: a directory of a mounted file system
// (a recipient's copy), or the directory on a medium's volume (the terminal reading
// back what it wrote).
type source interface {
	entries() ([]fs.DirEntry, error)
	open(name string) (io.ReadCloser, error)
}

type rootSource struct{ r *os.Root }

func (s rootSource) entries() ([]fs.DirEntry, error)         { return fs.ReadDir(s.r.FS(), ".") }
func (s rootSource) open(name string) (io.ReadCloser, error) { return s.r.Open(name) }

type volumeSource struct {
	vol media.Volume
	dir string
}

func (s volumeSource) entries() ([]fs.DirEntry, error) { return s.vol.ReadDir(s.dir) }
func (s volumeSource) open(name string) (io.ReadCloser, error) {
	return s.vol.Open(path.Join(s.dir, name))
}

// VerifyVolume checks provision id as written on vol, as a recipient's Verify would:
// the manifest's signature by trusted, and every file against it. The terminal reads
// its output back this way before it reports a provision written. It returns the
// manifest's SHA-256 (hex), which the terminal's log keeps.
func VerifyVolume(vol media.Volume, id string, trusted *ecdsa.PublicKey) (string, error) {
	v, err := verify(volumeSource{vol, path.Join(MediaDir, id)}, trusted)
	if err != nil {
		return "", err
	}
	return v.sum, nil
}
