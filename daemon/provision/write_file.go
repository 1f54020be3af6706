package provision

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
)

// writeFile writes dir/name: temporary name, body, fsync, rename, directory sync.
func (w *writer) writeFile(name string, body func(io.Writer) error) (FileInfo, error) {
	if err := w.ctx.Err(); err != nil {
		return FileInfo{}, err
	}
	w.file = name
	tmp, final := path.Join(w.dir, "."+name+".tmp"), path.Join(w.dir, name)
	f, err := w.vol.Create(tmp)
	if err != nil {
		return FileInfo{}, err
	}
	w.made = append(w.made, tmp)
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	bw := bufioWriter(cw)
	err = body(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return FileInfo{}, err
	}
	// A failed rename may still have happened: both names are cleaned up.
	w.made = append(w.made, final)
	if err := w.vol.Rename(tmp, final); err != nil {
		return FileInfo{}, err
	}
	if err := w.vol.SyncDir(w.dir); err != nil {
		return FileInfo{}, err
	}
	return FileInfo{Name: name, Size: cw.n, SHA256: fmt.Sprintf("%x", h.Sum(nil))}, nil
}

// fail removes what the run made, newest first so that the manifest goes before the
// files it lists, and describes the failure. If the manifest cannot be removed it
// stops there: the manifest was written last, so what it lists is complete.
func (w *writer) fail(err error) error {
	e := &WriteError{ID: w.p.ID, File: w.file, Err: err}
	for i := len(w.made) - 1; i >= 0; i-- {
		name := w.made[i]
		if rerr := w.vol.Remove(name); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			e.Leftovers = true
			if name == path.Join(w.dir, ManifestFile) {
				e.MayBeComplete = true
				return e
			}
		}
	}
	if w.madeDir {
		if rerr := w.vol.Remove(w.dir); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			e.Leftovers = true
		}
		w.vol.SyncDir(MediaDir)
	}
	return e
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

func bufioWriter(w io.Writer) *bufio.Writer { return bufio.NewWriterSize(w, 64<<10) }
