package mediasim

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"jukiterm/devices/media"
)

// medium is the state of a stick's volume from its unlocking (or first use) to its
// pull: the files written and the entries changed since they were last made durable.
//
// Durability is modelled, not left to the host's file system (nothing is fsynced): a
// file keeps on a pull what was written before its last Sync; an entry created,
// renamed or removed is kept once every directory it touches has been synced since
// (SyncDir), and is undone otherwise, the latest first. A removed or replaced entry
// waits in the stick's .stash until then, so that it can come back.
type medium struct {
	k    *Stick
	gone atomic.Bool

	mu       sync.Mutex
	vol      *os.Root // the volume directory
	top      *os.Root // the stick's directory: volume/ and .stash/
	files    []*written
	ops      []*change
	stashed  int
	used     int64
	capacity int64
}

// written is a file created on the volume since the medium opened.
type written struct {
	at     string   // relative to top: volume/NAME, or .stash/N once removed or replaced
	size   int64    // bytes written
	synced int64    // bytes written before the last Sync
	f      *os.File // nil once closed
}

type changeKind int

const (
	created changeKind = iota
	madeDir
	renamed
	removed
)

// change is a change of entries not yet durable.
type change struct {
	kind  changeKind
	name  string          // the entry created, removed, or renamed to (volume-relative)
	old   string          // renamed: the old name
	stash string          // removed, or replaced by the rename: where it waits (top-relative)
	dir   bool            // removed: an (empty) directory
	need  map[string]bool // directories still to sync for it to be durable
}

func openMedium(k *Stick) (*medium, error) {
	top, err := os.OpenRoot(path.Join(k.sim.dir, k.spec.Serial))
	if err != nil {
		return nil, err
	}
	m := &medium{k: k, top: top, capacity: k.spec.Capacity}
	if m.capacity == 0 {
		m.capacity = DefaultCapacity
	}
	top.RemoveAll(stashDir) // left by a simulator that ended without its pull
	if err := top.MkdirAll(volumeDir, 0o700); err != nil {
		top.Close()
		return nil, err
	}
	if m.vol, err = top.OpenRoot(volumeDir); err != nil {
		top.Close()
		return nil, err
	}
	fs.WalkDir(m.vol.FS(), ".", func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				m.used += fi.Size()
			}
		}
		return nil
	})
	return m, nil
}

func clean(name string) string { return path.Clean(name) }

// inVol is name's path relative to top.
func inVol(name string) string { return path.Join(volumeDir, name) }

// under reports whether p is base or below it.
func under(p, base string) bool { return p == base || strings.HasPrefix(p, base+"/") }

func goneErr(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: media.ErrGone}
}

// moved follows entries at or below from that moved to to.
func (m *medium) moved(from, to string) {
	for _, w := range m.files {
		if under(w.at, from) {
			w.at = to + w.at[len(from):]
		}
	}
}

func (m *medium) record(c *change, dirs ...string) {
	c.need = map[string]bool{}
	for _, d := range dirs {
		c.need[path.Dir(d)] = true
	}
	m.ops = append(m.ops, c)
}

// stash moves the entry name of the volume aside, to come back if the change that
// replaced or removed it is undone.
func (m *medium) stash(name string) (string, error) {
	if err := m.top.MkdirAll(stashDir, 0o700); err != nil {
		return "", err
	}
	m.stashed++
	s := path.Join(stashDir, fmt.Sprint(m.stashed))
	if err := m.top.Rename(inVol(name), s); err != nil {
		return "", err
	}
	m.moved(inVol(name), s)
	return s, nil
}

// pull ends the medium: with lose, as a stick pulled out (what was not durable is
// lost); otherwise as a host that writes everything out first.
func (m *medium) pull(lose bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pullLocked(lose)
}

func (m *medium) pullLocked(lose bool) {
	if m.gone.Swap(true) {
		return
	}
	if lose {
		for _, w := range m.files {
			if w.size == w.synced {
				continue
			}
			if w.f != nil {
				w.f.Truncate(w.synced)
			} else if f, err := m.top.OpenFile(w.at, os.O_WRONLY, 0); err == nil {
				f.Truncate(w.synced)
				f.Close()
			}
		}
		for i := len(m.ops) - 1; i >= 0; i-- {
			m.undo(m.ops[i])
		}
	}
	for _, w := range m.files {
		if w.f != nil {
			w.f.Close()
			w.f = nil
		}
	}
	m.top.RemoveAll(stashDir)
	m.vol.Close()
	m.top.Close()
	m.files, m.ops = nil, nil
}

func (m *medium) undo(c *change) {
	switch c.kind {
	case created:
		m.vol.Remove(c.name)
	case madeDir:
		m.vol.RemoveAll(c.name)
	case renamed:
		m.vol.Rename(c.name, c.old)
		if c.stash != "" {
			m.top.Rename(c.stash, inVol(c.name))
		}
	case removed:
		if c.dir {
			m.vol.Mkdir(c.name, 0o700)
		} else {
			m.top.Rename(c.stash, inVol(c.name))
		}
	}
}

var (
	_ media.Volume = (*volume)(nil)
	_ media.File   = (*file)(nil)
)

// volume is one media.Volume over a medium.
type volume struct {
	m      *medium
	closed atomic.Bool
}

// do runs f with the medium's lock held, unless the medium is gone or v closed.
func (v *volume) do(op, name string, f func() error) error {
	v.m.mu.Lock()
	defer v.m.mu.Unlock()
	if v.m.gone.Load() {
		return goneErr(op, name)
	}
	if v.closed.Load() {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrClosed}
	}
	return f()
}

func (v *volume) MkdirAll(dir string) error {
	return v.do("mkdir", dir, func() error {
		m := v.m
		var missing []string
		for p := clean(dir); p != "." && p != "/"; p = path.Dir(p) {
			if _, err := m.vol.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
				break
			}
			missing = append(missing, p)
		}
		err := m.vol.MkdirAll(dir, 0o700)
		for i := len(missing) - 1; i >= 0; i-- {
			if _, serr := m.vol.Lstat(missing[i]); serr == nil {
				m.record(&change{kind: madeDir, name: missing[i]}, missing[i])
			}
		}
		return err
	})
}

func (v *volume) Create(name string) (media.File, error) {
	var out media.File
	err := v.do("open", name, func() error {
		m := v.m
		f, err := m.vol.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		c := clean(name)
		w := &written{at: inVol(c), f: f}
		m.files = append(m.files, w)
		m.record(&change{kind: created, name: c}, c)
		out = &file{m: m, w: w, name: name}
		return nil
	})
	return out, err
}

func (v *volume) Rename(oldname, newname string) error {
	return v.do("rename", oldname, func() error {
		m := v.m
		o, n := clean(oldname), clean(newname)
		if _, err := m.vol.Lstat(o); err != nil {
			return err
		}
		if o == n {
			return nil
		}
		c := &change{kind: renamed, name: n, old: o}
		var size int64
		if fi, err := m.vol.Lstat(n); err == nil {
			if fi.IsDir() {
				// Replacing a directory: let the file system refuse or do it
				// (an empty one), and keep it simple: it is not brought back.
				if err := m.vol.Rename(o, n); err != nil {
					return err
				}
				m.moved(inVol(o), inVol(n))
				m.record(c, o, n)
				return nil
			}
			if c.stash, err = m.stash(n); err != nil {
				return err
			}
			size = fi.Size()
		}
		if err := m.vol.Rename(o, n); err != nil {
			if c.stash != "" {
				m.top.Rename(c.stash, inVol(n))
				m.moved(c.stash, inVol(n))
			}
			return err
		}
		m.used -= size
		m.moved(inVol(o), inVol(n))
		m.record(c, o, n)
		return nil
	})
}

func (v *volume) Remove(name string) error {
	return v.do("remove", name, func() error {
		m := v.m
		c := clean(name)
		fi, err := m.vol.Lstat(c)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			if err := m.vol.Remove(c); err != nil {
				return err
			}
			m.record(&change{kind: removed, name: c, dir: true}, c)
			return nil
		}
		s, err := m.stash(c)
		if err != nil {
			return err
		}
		m.used -= fi.Size()
		m.record(&change{kind: removed, name: c, stash: s}, c)
		return nil
	})
}

func (v *volume) SyncDir(dir string) error {
	return v.do("sync", dir, func() error {
		m := v.m
		fi, err := m.vol.Stat(dir)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return &fs.PathError{Op: "sync", Path: dir, Err: syscall.ENOTDIR}
		}
		d := clean(dir)
		kept := m.ops[:0]
		for _, c := range m.ops {
			delete(c.need, d)
			if len(c.need) > 0 {
				kept = append(kept, c)
				continue
			}
			if c.stash != "" { // durable: what it removed or replaced is gone for good
				m.top.RemoveAll(c.stash)
				files := m.files[:0]
				for _, w := range m.files {
					if !under(w.at, c.stash) {
						files = append(files, w)
					}
				}
				m.files = files
			}
		}
		m.ops = kept
		return nil
	})
}

func (v *volume) Open(name string) (io.ReadCloser, error) {
	var out io.ReadCloser
	err := v.do("open", name, func() error {
		f, err := v.m.vol.Open(name)
		if err != nil {
			return err
		}
		out = &reader{m: v.m, f: f, name: name}
		return nil
	})
	return out, err
}

func (v *volume) ReadDir(dir string) ([]fs.DirEntry, error) {
	var out []fs.DirEntry
	err := v.do("readdir", dir, func() error {
		var err error
		out, err = fs.ReadDir(v.m.vol.FS(), dir)
		return err
	})
	return out, err
}

func (v *volume) Free() (int64, error) {
	var free int64
	err := v.do("statfs", ".", func() error {
		free = max(v.m.capacity-v.m.used, 0)
		return nil
	})
	return free, err
}

// Close lets the volume go; it never fails (closing loses nothing).
func (v *volume) Close() error {
	v.closed.Store(true)
	return nil
}

// file is a file being written on a simulated volume.
type file struct {
	m    *medium
	w    *written
	name string
}

func (f *file) check(op string) error {
	if f.m.gone.Load() {
		return goneErr(op, f.name)
	}
	if f.w.f == nil {
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrClosed}
	}
	return nil
}

// Write writes b, or as much of it as the stick takes: up to its capacity (then
// ENOSPC), or up to UnplugAfter's budget (then the stick unplugs itself).
func (f *file) Write(b []byte) (int, error) {
	m := f.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := f.check("write"); err != nil {
		return 0, err
	}
	n, full, cut := len(b), false, false
	if room := max(m.capacity-m.used, 0); int64(n) > room {
		n, full = int(room), true
	}
	if budget := m.k.budget.Load(); budget >= 0 && int64(n) > budget {
		n, full, cut = int(budget), false, true
	}
	w, err := f.w.f.Write(b[:n])
	f.w.size += int64(w)
	m.used += int64(w)
	if m.k.budget.Load() >= 0 {
		m.k.budget.Add(-int64(w))
	}
	switch {
	case err != nil:
		return w, err
	case cut:
		m.k.unplugSelf() // off the bus before anyone sees the volume gone
		m.pullLocked(true)
		return w, goneErr("write", f.name)
	case full:
		return w, &fs.PathError{Op: "write", Path: f.name, Err: syscall.ENOSPC}
	}
	return w, nil
}

// Sync makes what was written durable (in the model: it survives a pull).
func (f *file) Sync() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.check("sync"); err != nil {
		return err
	}
	f.w.synced = f.w.size
	return nil
}

// Close closes the file. After a pull it fails with ErrGone: what was written since
// the last Sync is lost.
func (f *file) Close() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	err := f.check("close")
	if f.w.f != nil { // still open if it was removed for good before the pull
		f.w.f.Close()
		f.w.f = nil
	}
	return err
}

// reader reads a file of a simulated volume until the medium is pulled.
type reader struct {
	m    *medium
	f    *os.File
	name string
}

func (r *reader) Read(b []byte) (int, error) {
	if r.m.gone.Load() {
		return 0, goneErr("read", r.name)
	}
	return r.f.Read(b)
}

func (r *reader) Close() error { return r.f.Close() }
