package mediasim

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"jukiterm/devices/media"
)

// onDisk lists the volume directory's files with their contents ("dir/" for a
// directory), as another machine would see the stick after the pull.
func onDisk(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		b, _ := os.ReadFile(p)
		out[rel] = string(b)
		return nil
	})
	return out
}

func keys(m map[string]string) string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return strings.Join(k, " ")
}

// TestUnplugAfterMidWrite pulls the stick in the middle of a write: the write stops at
// the budget, every later call fails with ErrGone, the stick is off the bus and
// recorded unplugged, and the files keep only what was synced.
func TestUnplugAfterMidWrite(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	k, err := s.Plug(Approved("P1"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Volume(k.Info())
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, v, "old", "written before", true)
	// "synced": created durably, 100 bytes synced, then more written.
	f, _ := v.Create("synced")
	v.SyncDir(".")
	f.Write(bytes.Repeat([]byte("a"), 100))
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte("b"), 30))
	// "fresh": created, its directory never synced.
	g, _ := v.Create("fresh")
	g.Write([]byte("xyz"))
	g.Sync()

	k.UnplugAfter(50)
	n, err := f.Write(bytes.Repeat([]byte("c"), 200))
	if n != 50 || !errors.Is(err, media.ErrGone) {
		t.Fatalf("write across the pull: %d, %v; want 50 and ErrGone", n, err)
	}
	if _, ok := onBus(s.Bus(), "P1"); ok || k.Device().Attached() {
		t.Error("the stick is still on the bus")
	}
	if list, _ := List(dir); list[0].Plugged {
		t.Error("not recorded as unplugged")
	}
	if _, err := f.Write([]byte("d")); !errors.Is(err, media.ErrGone) {
		t.Errorf("write after the pull: %v", err)
	}
	for name, err := range map[string]error{
		"Sync":  f.Sync(),
		"Close": f.Close(),
		"Create": func() error {
			_, err := v.Create("x")
			return err
		}(),
		"MkdirAll": v.MkdirAll("d"),
		"Rename":   v.Rename("old", "new"),
		"Remove":   v.Remove("old"),
		"SyncDir":  v.SyncDir("."),
		"Open": func() error {
			_, err := v.Open("old")
			return err
		}(),
		"ReadDir": func() error {
			_, err := v.ReadDir(".")
			return err
		}(),
		"Free": func() error {
			_, err := v.Free()
			return err
		}(),
		"g.Write": func() error {
			_, err := g.Write([]byte("x"))
			return err
		}(),
	} {
		if !errors.Is(err, media.ErrGone) {
			t.Errorf("%s after the pull: %v, want ErrGone", name, err)
		}
	}
	if _, err := s.Volume(k.Info()); !errors.Is(err, media.ErrGone) {
		t.Errorf("locator after the pull: %v", err)
	}
	got := onDisk(t, k.VolumeDir())
	want := map[string]string{"old": "written before", "synced": strings.Repeat("a", 100)}
	if keys(got) != keys(want) || got["old"] != want["old"] || got["synced"] != want["synced"] {
		t.Errorf("on the stick after the pull: %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "P1", stashDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stash left behind: %v", err)
	}
}

// TestUnsyncedEntriesLost: entries created, renamed or removed are undone by a pull
// unless their directories were synced since.
func TestUnsyncedEntriesLost(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	k, _ := s.Plug(Approved("E1"))
	v, _ := k.Volume()
	v.MkdirAll("keep")
	v.SyncDir(".")
	writeFile(t, v, "keep/a", "A", true)
	writeFile(t, v, "keep/b", "B", true)
	writeFile(t, v, "keep/target", "old target", true)
	before := onDisk(t, k.VolumeDir())

	// Not made durable: each must be undone.
	writeFile(t, v, "keep/tmp", "new target", false)
	if err := v.Rename("keep/tmp", "keep/target"); err != nil { // replaces
		t.Fatal(err)
	}
	if err := v.Rename("keep/a", "keep/a2"); err != nil {
		t.Fatal(err)
	}
	if err := v.Remove("keep/b"); err != nil {
		t.Fatal(err)
	}
	if err := v.MkdirAll("new/deep/er"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, v, "new/deep/er/f", "F", true) // synced in er, but er itself is not
	if err := v.SyncDir("new/deep"); err != nil {
		t.Fatal(err)
	}
	mid := onDisk(t, k.VolumeDir())
	if mid["keep/target"] != "new target" || mid["keep/a2"] != "A" || mid["new/deep/er/f"] != "F" {
		t.Fatalf("before the pull: %q", mid)
	}
	if err := k.Unplug(); err != nil {
		t.Fatal(err)
	}
	after := onDisk(t, k.VolumeDir())
	if keys(after) != keys(before) || after["keep/target"] != "old target" || after["keep/a"] != "A" || after["keep/b"] != "B" {
		t.Errorf("after the pull: %q\nwant %q", after, before)
	}
}

// TestSyncedEntriesKept: the same changes, made durable, survive the pull.
func TestSyncedEntriesKept(t *testing.T) {
	s := start(t, t.TempDir())
	k, _ := s.Plug(Approved("E2"))
	v, _ := k.Volume()
	v.MkdirAll("d")
	v.SyncDir(".")
	writeFile(t, v, "d/target", "old", true)
	writeFile(t, v, "d/gone", "x", true)
	writeFile(t, v, "d/tmp", "new", false)
	v.Rename("d/tmp", "d/target")
	v.Remove("d/gone")
	free, _ := v.Free()
	if err := v.SyncDir("d"); err != nil {
		t.Fatal(err)
	}
	k.Unplug()
	// "d/tmp" was not synced as a file: its content is lost, its name kept.
	got := onDisk(t, k.VolumeDir())
	if keys(got) != "d/ d/target" || got["d/target"] != "" {
		t.Errorf("after the pull: %q", got)
	}
	if free != DefaultCapacity-3 { // "old" replaced and "x" removed: "new" remains
		t.Errorf("free: %d", free)
	}
}

// TestRandomPulls pulls a stick at random points of a writer that commits files the
// careful way (temporary file, Sync, Close, Rename, SyncDir): afterwards exactly the
// committed files are on the stick, whole, and nothing else.
func TestRandomPulls(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 40 {
		serial := fmt.Sprintf("R%d", round)
		k, err := s.Plug(Approved(serial))
		if err != nil {
			t.Fatal(err)
		}
		v, _ := k.Volume()
		contents := make([][]byte, 5)
		total := 0
		for i := range contents {
			contents[i] = bytes.Repeat([]byte{byte('a' + i)}, 1+rng.IntN(3000))
			total += len(contents[i])
		}
		k.UnplugAfter(rng.Int64N(int64(total)))
		committed := map[string]string{}
		var failed error
		for i, c := range contents {
			final := fmt.Sprintf("part-%d", i)
			if failed = commit(v, final, c, rng); failed != nil {
				break
			}
			committed[final] = string(c)
		}
		if !errors.Is(failed, media.ErrGone) {
			t.Fatalf("round %d: the writer ended with %v, want ErrGone", round, failed)
		}
		got := onDisk(t, k.VolumeDir())
		if keys(got) != keys(committed) {
			t.Fatalf("round %d: on the stick %s, committed %s", round, keys(got), keys(committed))
		}
		for n, c := range committed {
			if got[n] != c {
				t.Errorf("round %d: %s has %d bytes, committed %d", round, n, len(got[n]), len(c))
			}
		}
	}
}

// commit writes a file the careful way, in chunks of random sizes.
func commit(v media.Volume, name string, b []byte, rng *rand.Rand) error {
	f, err := v.Create(name + ".tmp")
	if err != nil {
		return err
	}
	for len(b) > 0 {
		n := min(len(b), 1+rng.IntN(700))
		if _, err := f.Write(b[:n]); err != nil {
			f.Close()
			return err
		}
		b = b[n:]
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := v.Rename(name+".tmp", name); err != nil {
		return err
	}
	return v.SyncDir(".")
}

func TestCapacity(t *testing.T) {
	s := start(t, t.TempDir())
	sp := Approved("F1")
	sp.Capacity = 100
	k, _ := s.Plug(sp)
	v, _ := k.Volume()
	f, _ := v.Create("big")
	n, err := f.Write(make([]byte, 150))
	if n != 100 || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("write beyond the capacity: %d, %v", n, err)
	}
	if free, _ := v.Free(); free != 0 {
		t.Errorf("free: %d", free)
	}
	f.Close()
	v.Remove("big")
	if free, _ := v.Free(); free != 100 {
		t.Errorf("free after removing: %d", free)
	}
}

func TestConfined(t *testing.T) {
	s := start(t, t.TempDir())
	k, _ := s.Plug(Approved("N1"))
	v, _ := k.Volume()
	for _, name := range []string{"../stick.json", "/etc/passwd", "a/../../x"} {
		if _, err := v.Create(name); err == nil || errors.Is(err, media.ErrGone) {
			t.Errorf("Create(%q): %v", name, err)
		}
	}
	if err := v.Rename("nothing", "x"); err == nil {
		t.Error("renamed a missing file")
	}
	writeFile(t, v, "f", "1", true)
	if _, err := v.Create("f"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over a file: %v", err)
	}
	v.Close()
	if _, err := v.ReadDir("."); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// TestUnplugDuringWrites unplugs a stick through its state file (as `jukiterm sim usb
// unplug` does) while a writer writes and syncs: the writer ends with ErrGone and the
// file keeps exactly what its last successful Sync covered.
func TestUnplugDuringWrites(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	k, _ := s.Plug(Approved("W1"))
	v, _ := k.Volume()
	f, err := v.Create("log")
	if err != nil {
		t.Fatal(err)
	}
	v.SyncDir(".")
	done := make(chan struct{})
	var synced, written int64
	var end error
	go func() {
		defer close(done)
		chunk := bytes.Repeat([]byte("z"), 512)
		for i := 0; ; i++ {
			n, err := f.Write(chunk)
			written += int64(n)
			if err != nil {
				end = err
				return
			}
			if i%3 == 0 {
				if err := f.Sync(); err != nil {
					end = err
					return
				}
				synced = written
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	waitFor(t, "some writes", func() bool {
		fi, _ := os.Stat(filepath.Join(k.VolumeDir(), "log"))
		return fi != nil && fi.Size() > 64<<10
	})
	if _, err := Unplug(dir, "W1"); err != nil {
		t.Fatal(err)
	}
	<-done
	if !errors.Is(end, media.ErrGone) {
		t.Fatalf("the writer ended with %v", end)
	}
	fi, err := os.Stat(filepath.Join(k.VolumeDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != synced {
		t.Errorf("after the pull the file has %d bytes; the last Sync covered %d of %d written", fi.Size(), synced, written)
	}
}
