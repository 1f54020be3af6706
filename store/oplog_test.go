package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// TestLogVerifyProve logs entries, signs checkpoints, verifies the whole log and
// proves every entry against a checkpoint's root.
func TestLogVerifyProve(t *testing.T) {
	clk := newClock()
	s := openLogStore(t, clk)
	logEntries(t, s, clk, 0, 37)
	first := checkpoint(t, s)
	logEntries(t, s, clk, 37, 50)
	last := checkpoint(t, s)
	if again := checkpoint(t, s); !bytes.Equal(again, last) {
		t.Fatal("a checkpoint without new entries was signed again")
	}
	rep := mustVerify(t, s, first)
	if rep.Entries != 50 || rep.Checkpoints != 2 || rep.Exported != 37 || rep.Problem != nil {
		t.Fatalf("report %+v", rep)
	}
	cp, err := OpenCheckpoint(last, testSigner.Verifier())
	if err != nil || cp.Size != 50 || cp.Root != rep.Root || cp.Origin != testOrigin {
		t.Fatalf("checkpoint %+v, %v; report root %v", cp, err, rep.Root)
	}
	for i := int64(0); i < 50; i++ {
		p, err := s.ProveInclusion(context.Background(), i, 50)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckInclusion(p, cp.Root); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		p.LeafBytes[len(p.LeafBytes)-1] ^= 1
		if CheckInclusion(p, cp.Root) == nil {
			t.Fatalf("entry %d: an altered leaf was proved", i)
		}
	}
	if _, err := s.ProveInclusion(context.Background(), 50, 50); err == nil {
		t.Fatal("proved an entry beyond the tree")
	}
	es, err := s.ReadLog(context.Background(), 10, 3)
	if err != nil || len(es) != 3 || es[0].Index != 10 || es[0].Action != testActions[10%len(testActions)] ||
		len(es[0].Keyed) != 2 || es[0].Keyed[0].Field != "resident_code" || es[0].Detail["application"] != "A-2026-17" {
		t.Fatalf("read %+v %v", es, err)
	}
}

// TestLogHoldsNoPersonalValue: a value logged as Keyed is nowhere in the file in the
// clear, and audit lookup finds every entry it appears in.
func TestLogHoldsNoPersonalValue(t *testing.T) {
	clk := newClock()
	s := openLogStore(t, clk)
	logEntries(t, s, clk, 0, 40)
	code := residentCode(3) // entries i with i%2 == 0 and i%7 == 3: 10, 24, 38
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{s.path, s.path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for _, v := range []string{code, "アキタタロウ"} {
			if bytes.Contains(b, []byte(v)) {
				t.Fatalf("%s holds %q in the clear", filepath.Base(f), v)
			}
		}
	}
	s = reopen(t, s.path, clk)
	hits, err := s.Lookup(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	var idx []int64
	for _, h := range hits {
		idx = append(idx, h.Index)
		if !slices.Equal(h.Fields, []string{"resident_code"}) || h.Action != testActions[h.Index%int64(len(testActions))] {
			t.Fatalf("hit %+v", h)
		}
	}
	if !slices.Equal(idx, []int64{10, 24, 38}) {
		t.Fatalf("lookup found %v", idx)
	}
	if hits, err := s.Lookup(context.Background(), residentCode(99)); err != nil || len(hits) != 0 {
		t.Fatalf("lookup of an absent value: %v %v", hits, err)
	}
}

// TestLookupAfterKeyRotation: the lookup key survives a storage-key rotation, so
// values logged before it are found after it, and the file opens with the new key.
func TestLookupAfterKeyRotation(t *testing.T) {
	clk := newClock()
	s := openLogStore(t, clk)
	logEntries(t, s, clk, 0, 20)
	next := EphemeralKeys()
	if err := s.Rotate(context.Background(), next, nil); err != nil {
		t.Fatal(err)
	}
	logEntries(t, s, clk, 22, 30) // the rotation logged two entries (20, 21)
	path := s.path
	s.Close()
	s, err := Open(path, Options{CacheMiB: cacheMiB, Keys: next, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hits, err := s.Lookup(context.Background(), residentCode(0))
	if err != nil {
		t.Fatal(err)
	}
	var idx []int64
	for _, h := range hits {
		idx = append(idx, h.Index)
	}
	if !slices.Equal(idx, []int64{0, 14, 28}) {
		t.Fatalf("after rotation lookup found %v", idx)
	}
	es, err := s.ReadLog(context.Background(), 20, 2)
	if err != nil || es[0].Action != "key.rotation.begin" || es[1].Action != "key.rotation.finish" {
		t.Fatalf("rotation entries %+v %v", es, err)
	}
	mustVerify(t, s, nil)
}

// TestLogReopen: the tree goes on across a restart, consistent with checkpoints
// signed before it.
func TestLogReopen(t *testing.T) {
	clk := newClock()
	s := openLogStore(t, clk)
	logEntries(t, s, clk, 0, 13)
	before := checkpoint(t, s)
	s.Close()
	s = reopen(t, s.path, clk)
	if err := s.CheckExported(context.Background(), before, testSigner.Verifier()); err != nil {
		t.Fatal(err)
	}
	logEntries(t, s, clk, 13, 40)
	checkpoint(t, s)
	mustVerify(t, s, before)
}

// TestGroupCommit: concurrent callers each get a distinct index, every entry is
// durable and in the tree, and entries share transactions.
func TestGroupCommit(t *testing.T) {
	clk := newClock()
	s := openLogStore(t, clk)
	const callers, each = 32, 40
	var mu sync.Mutex
	got := map[int64]bool{}
	var wg sync.WaitGroup
	start := time.Now()
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				idx, err := s.Log(context.Background(), testEntry(c*each+i))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if got[idx] {
					t.Errorf("index %d given twice", idx)
				}
				got[idx] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != callers*each || s.LogSize() != callers*each {
		t.Fatalf("%d indexes, log size %d", len(got), s.LogSize())
	}
	groups := s.gc.groups.Load()
	t.Logf("%d entries in %d transactions, %v", callers*each, groups, time.Since(start))
	if groups >= callers*each/2 {
		t.Fatalf("%d transactions for %d entries: the entries of concurrent callers are not grouped", groups, callers*each)
	}
	checkpoint(t, s)
	mustVerify(t, s, nil)
}

// TestCloseWhileLogging: Close lets queued entries commit and stops the committer;
// every caller gets an answer, and every index answered is in the file after.
func TestCloseWhileLogging(t *testing.T) {
	clk := newClock()
	s := openLogStore(t, clk)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var done []int64
	for c := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				idx, err := s.Log(context.Background(), testEntry(c*1000+i))
				if errors.Is(err, ErrLogClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				done = append(done, idx)
				mu.Unlock()
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s = reopen(t, s.path, clk)
	if int64(len(done)) != s.LogSize() {
		t.Fatalf("%d entries answered, %d in the file", len(done), s.LogSize())
	}
	mustVerify(t, s, nil)
}

// TestEraseKeepsVerification: entries past retention are archived, then erased;
// the tree and the checkpoints signed before still verify, the erasure is an entry,
// and an erased value is no longer found.
func TestEraseKeepsVerification(t *testing.T) {
	clk := newClock()
	s := openLogStore(t, clk)
	for i := range 30 {
		if _, err := s.Log(context.Background(), testEntry(i)); err != nil {
			t.Fatal(err)
		}
		clk.add(24 * time.Hour)
	}
	before := checkpoint(t, s)
	cp, _ := OpenCheckpoint(before, testSigner.Verifier())
	clk.add(LogRetention*365*24*time.Hour - 20*24*time.Hour) // entries 0–11 are now past 7 years
	cutoff := RetentionCutoff(clk.now(), LogRetention)
	var archived []ArchivedEntry
	EraseBatch = 5
	defer func() { EraseBatch = 10000 }()
	if _, err := s.EraseBefore(context.Background(), cutoff, "jukitermd", func([]ArchivedEntry) error { return errors.New("medium full") }); err == nil {
		t.Fatal("erased although the archive failed")
	}
	if rep := mustVerify(t, s, before); rep.Erased != 0 {
		t.Fatalf("erased %d entries without archiving them", rep.Erased)
	}
	res, err := s.EraseBefore(context.Background(), cutoff, "jukitermd", func(b []ArchivedEntry) error {
		archived = append(archived, b...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, a := range archived {
		if !a.At.Before(cutoff) || a.Erased {
			t.Fatalf("archived %+v", a.LogEntry)
		}
		p, err := s.ProveInclusion(context.Background(), a.Index, cp.Size)
		if err != nil || CheckInclusion(p, cp.Root) != nil || !bytes.Equal(p.LeafBytes, a.LeafBytes) {
			t.Fatalf("archived entry %d is not proved in the checkpoint: %v", a.Index, err)
		}
		d := payloadDigest(a.Payload, a.MACs)
		if !bytes.Equal(a.LeafBytes[len(a.LeafBytes)-32:], d[:]) {
			t.Fatalf("archived entry %d: payload does not match its leaf", a.Index)
		}
		want++
	}
	if want == 0 || res.Erased != want || len(res.Entries) != int((want+4)/5) {
		t.Fatalf("erased %+v, archived %d", res, want)
	}
	rep := mustVerify(t, s, before)
	if rep.Erased != want {
		t.Fatalf("verify counted %d erased, want %d", rep.Erased, want)
	}
	if hits, _ := s.Lookup(context.Background(), residentCode(0)); len(hits) != 0 && hits[0].Index < want {
		t.Fatalf("an erased entry is still found: %+v", hits)
	}
	es, _ := s.ReadLog(context.Background(), res.Entries[0], 1)
	if es[0].Action != eraseAction || es[0].Detail["count"] != float64(5) {
		t.Fatalf("erasure entry %+v", es[0])
	}
	checkpoint(t, s) // consistent with the one signed before the erasure
	if res, err := s.EraseBefore(context.Background(), cutoff, "jukitermd", func([]ArchivedEntry) error { return nil }); err != nil || res.Erased != 0 {
		t.Fatalf("a second run erased %+v %v", res, err)
	}
	// An erasure not covered by an erasure entry is tampering.
	if _, err := s.w.Exec(`UPDATE oplog SET payload = NULL, macs = NULL WHERE idx = 20`); err != nil {
		t.Fatal(err)
	}
	var p *LogProblem
	if _, err := s.VerifyLog(context.Background(), testSigner.Verifier(), nil); !errors.As(err, &p) || p.Index != 20 {
		t.Fatalf("an uncovered erasure: %v", err)
	}
}

// TestNeedsCheckpoint: every N entries, or an entry unsigned for T.
func TestNeedsCheckpoint(t *testing.T) {
	clk := newClock()
	s := openLogStore(t, clk)
	ctx := context.Background()
	if due, _ := s.NeedsCheckpoint(ctx, 10, time.Hour); due {
		t.Fatal("an empty log needs no checkpoint")
	}
	logEntries(t, s, clk, 0, 3)
	if due, _ := s.NeedsCheckpoint(ctx, 10, time.Hour); due {
		t.Fatal("due after 3 entries and 3 minutes")
	}
	clk.add(time.Hour)
	if due, _ := s.NeedsCheckpoint(ctx, 10, time.Hour); !due {
		t.Fatal("not due with an entry unsigned for an hour")
	}
	checkpoint(t, s)
	if due, _ := s.NeedsCheckpoint(ctx, 10, time.Hour); due {
		t.Fatal("due right after a checkpoint")
	}
	logEntries(t, s, clk, 3, 13)
	if due, _ := s.NeedsCheckpoint(ctx, 10, time.Hour); !due {
		t.Fatal("not due after 10 entries")
	}
}

// TestExportCheckpoint writes checkpoints atomically into a directory; the newest is
// read back.
func TestExportCheckpoint(t *testing.T) {
	clk := newClock()
	s := openLogStore(t, clk)
	dir := t.TempDir()
	for _, n := range []int{9, 10, 100} {
		logEntries(t, s, clk, int(s.LogSize()), n)
		if _, err := ExportCheckpoint(dir, checkpoint(t, s)); err != nil {
			t.Fatal(err)
		}
	}
	msg, err := LatestExported(dir)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := OpenCheckpoint(msg, testSigner.Verifier())
	if err != nil || cp.Size != 100 {
		t.Fatalf("latest %+v %v", cp, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Fatalf("%d files in the export directory", len(ents))
	}
	v, err := ParseNoteVerifier(testSigner.Verifier().VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(msg, v); err != nil {
		t.Fatalf("with the parsed verifier key: %v", err)
	}
	var root tlog.Hash
	if _, _, r, _ := ParseCheckpoint(FormatCheckpoint("o", 1, root)); r != root {
		t.Fatal("format/parse")
	}
}
