package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestBackupCopy: the online backup is a sound, complete copy that opens with the same
// keys, holds the same rows, reports its counts, and has no personal value in the clear.
func TestBackupCopy(t *testing.T) {
	s := openTemp(t)
	res := loadScanResidents(t, s)
	dst := filepath.Join(t.TempDir(), "copy.db")
	info, err := s.Backup(context.Background(), dst)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := s.Stats(context.Background())
	if info.UpdateSeq != st.UpdateSeq || info.Persons != st.Current || info.Removed != st.Removed ||
		info.SchemaVersion != SchemaVersion || info.Bytes == 0 {
		t.Fatalf("info %+v, stats %+v", info, st)
	}
	if files, _ := filepath.Glob(dst + "-*"); len(files) != 0 {
		t.Fatalf("the copy has files beside it: %v", files)
	}
	assertNoPersonalValue(t, "backup copy", res, dst)
	if _, err := s.Backup(context.Background(), dst); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("a second backup over the first: %v", err)
	}

	in, integrity, err := Inspect(context.Background(), dst)
	if err != nil || integrity != "ok" || in.UpdateSeq != info.UpdateSeq || in.Persons != info.Persons {
		t.Fatalf("inspect: %+v %q %v", in, integrity, err)
	}
	c, err := Open(dst, Options{CacheMiB: cacheMiB, Keys: testKeys})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if a, b := dump(t, s), dump(t, c); a != b {
		t.Fatal("the copy holds other rows than the file")
	}
	if _, err := Open(dst, Options{CacheMiB: cacheMiB, Keys: EphemeralKeys()}); err == nil {
		t.Fatal("the copy opened with another storage key")
	}
}

// TestBackupWhileWriting: ingests go on while a backup runs, and the copy is one
// consistent snapshot (its counts match its rows).
func TestBackupWhileWriting(t *testing.T) {
	s := openTemp(t)
	mustApply(t, s, person(1))
	for i := 1000; i < 1300; i++ { // enough pages that a copy takes many steps
		mustApply(t, s, person(i))
	}
	defer func(n int) { backupPages, backupStepped = n, nil }(backupPages)
	backupPages = 2
	var steps atomic.Int64
	backupStepped = func() { steps.Add(1) }
	done := make(chan error, 1)
	go func() {
		for i := 2; i < 200; i++ {
			if _, err := s.Ingest(context.Background(), bytes.NewReader(lines(person(i))), IngestOptions{}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < 5; i++ {
		dst := filepath.Join(t.TempDir(), "copy.db")
		info, err := s.Backup(context.Background(), dst)
		if err != nil {
			t.Fatal(err)
		}
		in, integrity, err := Inspect(context.Background(), dst)
		if err != nil || integrity != "ok" || in.Persons != info.Persons || in.UpdateSeq != info.UpdateSeq || in.Persons != in.UpdateSeq {
			t.Fatalf("copy %d: info %+v, inspected %+v %q %v", i, info, in, integrity, err)
		}
	}
	if steps.Load() < 50 {
		t.Fatalf("the copies took %d steps: the test did not copy in steps while writing", steps.Load())
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the writer was blocked")
	}
}

// TestBackupStops: a backup cancelled in the middle of its copy stops and leaves
// nothing.
func TestBackupStops(t *testing.T) {
	s := openTemp(t)
	for i := 1; i < 300; i++ {
		mustApply(t, s, person(i))
	}
	defer func(n int) { backupPages, backupStepped = n, nil }(backupPages)
	backupPages = 2
	ctx, cancel := context.WithCancel(context.Background())
	stepped := 0
	backupStepped = func() {
		if stepped++; stepped == 3 {
			cancel()
		}
	}
	dst := filepath.Join(t.TempDir(), "copy.db")
	if _, err := s.Backup(ctx, dst); err == nil || !strings.Contains(err.Error(), "stopped before it was complete") {
		t.Fatalf("a backup cancelled during its copy: %v", err)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Fatal("a cancelled backup left its file")
	}
}

func TestInspectRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte(strings.Repeat("not a database ", 400)), 0o600)
	if _, _, err := Inspect(context.Background(), junk); err == nil {
		t.Fatal("inspected junk")
	}
}

func TestInUse(t *testing.T) {
	s := openTemp(t)
	mustApply(t, s, person(1))
	if busy, err := InUse(s.Path()); err != nil || !busy {
		t.Fatalf("an open file: in use %v, %v", busy, err)
	}
	s.Close()
	if busy, err := InUse(s.Path()); err != nil || busy {
		t.Fatalf("a closed file: in use %v, %v", busy, err)
	}
	if files, _ := filepath.Glob(s.Path() + "-*"); len(files) != 0 {
		t.Fatalf("files left beside it: %v", files)
	}
	if _, _, err := Inspect(context.Background(), s.Path()); err != nil {
		t.Fatal(err)
	}
}
