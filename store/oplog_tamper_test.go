package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// The tamper tests change the stored log behind the store's back, as someone with
// the file and SQLite would, and require VerifyLog to find each change.

// logTables are the log's tables, their columns in order (the first is the key).
var logTables = []struct{ name, cols string }{
	{"oplog", rowCols},
	{"oplog_lookup", "mac, idx"},
	{"oplog_checkpoints", "size, note"},
}

// tableRows is every row of the log's tables, as stored.
type tableRows [][][]any

func snapshot(t *testing.T, s *Store) tableRows {
	t.Helper()
	var out tableRows
	for _, tb := range logTables {
		rows, err := s.w.Query(`SELECT ` + tb.cols + ` FROM ` + tb.name)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		var rs [][]any
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			rs = append(rs, vals)
		}
		rows.Close()
		out = append(out, rs)
	}
	return out
}

func (tr tableRows) clone() tableRows {
	out := make(tableRows, len(tr))
	for i, rs := range tr {
		for _, r := range rs {
			out[i] = append(out[i], slices.Clone(r))
		}
	}
	return out
}

// write replaces the log's tables with tr; false if a key is duplicated (a change the
// database itself refuses).
func (tr tableRows) write(t *testing.T, s *Store) bool {
	t.Helper()
	tx, err := s.w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for i, tb := range logTables {
		if _, err := tx.Exec(`DELETE FROM ` + tb.name); err != nil {
			t.Fatal(err)
		}
		for _, r := range tr[i] {
			if _, err := tx.Exec(`INSERT INTO `+tb.name+` (`+tb.cols+`) VALUES (`+inList(len(r))+`)`, r...); err != nil {
				return false
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return true
}

// flip changes byte pos of v (an integer's 8 big-endian bytes, a text's or blob's
// bytes) by a non-zero xor that varies with pos; ok is false past v's end.
func flip(v any, pos int) (any, bool) {
	x := byte(1 + (pos*37)%255)
	switch v := v.(type) {
	case int64:
		if pos >= 8 {
			return nil, false
		}
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(v))
		b[pos] ^= x
		return int64(binary.BigEndian.Uint64(b[:])), true
	case []byte:
		if pos >= len(v) {
			return nil, false
		}
		b := slices.Clone(v)
		b[pos] ^= x
		return b, true
	case string:
		if pos >= len(v) {
			return nil, false
		}
		b := []byte(v)
		b[pos] ^= x
		return string(b), true
	}
	return nil, false
}

// smallLog makes a log of 17 entries with an erasure, two recorded checkpoints and
// lookup rows, and returns the last checkpoint as exported.
func smallLog(t *testing.T) (*Store, []byte) {
	clk := newClock()
	s := openLogStore(t, clk)
	for i := range 14 {
		if _, err := s.Log(context.Background(), testEntry(i)); err != nil {
			t.Fatal(err)
		}
		clk.add(30 * 24 * time.Hour)
		if i == 6 {
			checkpoint(t, s)
		}
	}
	clk.add(LogRetention*365*24*time.Hour - 330*24*time.Hour)
	res, err := s.EraseBefore(context.Background(), RetentionCutoff(clk.now(), LogRetention), "jukitermd", func([]ArchivedEntry) error { return nil })
	if err != nil || res.Erased == 0 {
		t.Fatalf("erase: %+v %v", res, err)
	}
	logEntries(t, s, clk, int(s.LogSize()), int(s.LogSize())+2)
	exported := checkpoint(t, s)
	if rep := mustVerify(t, s, exported); rep.Erased == 0 || rep.Checkpoints != 2 {
		t.Fatalf("small log: %+v", rep)
	}
	noSync(t, s)
	return s, exported
}

// TestTamperExhaustive changes every byte of every stored value of a small log's rows
// (entries, lookup index, checkpoints), deletes each entry and lookup row, swaps each
// adjacent pair of entries and truncates at each length, and requires each to be
// found.
func TestTamperExhaustive(t *testing.T) {
	s, exported := smallLog(t)
	orig := snapshot(t, s)
	ctx := context.Background()
	var tried, refused int
	detect := func(what string, tr tableRows) {
		t.Helper()
		if !tr.write(t, s) {
			refused++
			return
		}
		tried++
		_, err := s.VerifyLog(ctx, testSigner.Verifier(), exported)
		var p *LogProblem
		if !errors.As(err, &p) {
			t.Fatalf("%s: not detected (%v)", what, err)
		}
	}
	for ti, rs := range orig {
		for ri, r := range rs {
			for ci := range r {
				for pos := 0; ; pos++ {
					v, ok := flip(r[ci], pos)
					if !ok {
						break
					}
					tr := orig.clone()
					tr[ti][ri][ci] = v
					detect(fmt.Sprintf("%s row %d column %d byte %d", logTables[ti].name, ri, ci, pos), tr)
				}
			}
			if ti == 2 {
				continue // a checkpoint row is a copy of what was exported: see docs/oplog.md
			}
			tr := orig.clone()
			tr[ti] = slices.Delete(tr[ti], ri, ri+1)
			detect(fmt.Sprintf("%s row %d deleted", logTables[ti].name, ri), tr)
		}
	}
	entries := orig[0]
	for i := 0; i+1 < len(entries); i++ {
		tr := orig.clone()
		a, b := tr[0][i], tr[0][i+1]
		for c := 1; c < len(a); c++ { // everything but the index
			a[c], b[c] = b[c], a[c]
		}
		detect(fmt.Sprintf("entries %d and %d swapped", i, i+1), tr)
	}
	for k := range entries {
		tr := orig.clone()
		tr[0] = tr[0][:k]
		detect(fmt.Sprintf("truncated to %d entries", k), tr)
		// The same, tidied: the lookup rows and checkpoints beyond removed too.
		tr[1] = slices.DeleteFunc(tr[1], func(r []any) bool { return r[1].(int64) >= int64(k) })
		tr[2] = slices.DeleteFunc(tr[2], func(r []any) bool { return r[0].(int64) > int64(k) })
		detect(fmt.Sprintf("truncated to %d entries with its checkpoints", k), tr)
	}
	if !orig.write(t, s) {
		t.Fatal("restore")
	}
	mustVerify(t, s, exported)
	t.Logf("%d changes detected, %d refused by the database (duplicate key)", tried, refused)
	if refused > tried/20 {
		t.Fatalf("too many changes refused: %d of %d", refused, tried+refused)
	}
}

// TestRollbackDetected restores an older copy of the file: verification against a
// checkpoint exported since fails, CheckExported refuses the file, and no checkpoint
// is signed on it afterwards.
func TestRollbackDetected(t *testing.T) {
	ctx := context.Background()
	for _, fork := range []bool{false, true} {
		clk := newClock()
		s := openLogStore(t, clk)
		logEntries(t, s, clk, 0, 10)
		checkpoint(t, s)
		old := s.path + ".old"
		if _, err := s.Backup(ctx, old); err != nil {
			t.Fatal(err)
		}
		logEntries(t, s, clk, 10, 20)
		exported := checkpoint(t, s)
		s.Close()
		r := reopen(t, old, clk)
		mustVerify(t, r, nil) // consistent in itself
		if fork {             // and goes on past the exported size with other entries
			for i := range 15 {
				if _, err := r.Log(ctx, Entry{Operator: "intruder", Action: "view", Detail: map[string]any{"i": i}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		_, err := r.VerifyLog(ctx, testSigner.Verifier(), exported)
		var p *LogProblem
		if !errors.As(err, &p) {
			t.Fatalf("fork %v: a rolled-back file verified against the exported checkpoint: %v", fork, err)
		}
		t.Logf("fork %v: %v", fork, p)
		if err := r.CheckExported(ctx, exported, testSigner.Verifier()); !errors.Is(err, ErrInconsistent) {
			t.Fatalf("fork %v: CheckExported: %v", fork, err)
		}
		if _, err := r.Checkpoint(ctx, testSigner, testOrigin); !errors.Is(err, ErrInconsistent) {
			t.Fatalf("fork %v: signed a checkpoint on a rolled-back file: %v", fork, err)
		}
	}
}

// TestNeverInconsistentCheckpoint: once a checkpoint is signed, the store refuses to
// sign a tree that does not extend it, whatever happened to the rows.
func TestNeverInconsistentCheckpoint(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := openLogStore(t, clk)
	logEntries(t, s, clk, 0, 16)
	checkpoint(t, s)
	count := func() int {
		var n int
		s.w.QueryRow(`SELECT COUNT(*) FROM oplog_checkpoints`).Scan(&n)
		return n
	}
	// Change an entry and recompute every stored tree hash after it, as a careful
	// intruder would, then restart (the store reads the tree's edge from the file).
	if _, err := s.w.Exec(`UPDATE oplog SET operator = 'someone-else' WHERE idx = 7`); err != nil {
		t.Fatal(err)
	}
	rehash(t, s)
	s.Close()
	s = reopen(t, s.path, clk)
	logEntries(t, s, clk, 16, 20)
	if _, err := s.Checkpoint(ctx, testSigner, testOrigin); !errors.Is(err, ErrInconsistent) || count() != 1 {
		t.Fatalf("signed over a rewritten history: %v (%d checkpoints)", err, count())
	}
	var p *LogProblem
	if _, err := s.VerifyLog(ctx, testSigner.Verifier(), nil); !errors.As(err, &p) || p.Index > 7 || p.Through < 7 {
		t.Fatalf("verify of the rewritten history: %v", err)
	}
	t.Log(p)
	// Remove entries the last checkpoint covers, then restart.
	if _, err := s.w.Exec(`DELETE FROM oplog WHERE idx >= 12; DELETE FROM oplog_lookup WHERE idx >= 12`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = reopen(t, s.path, clk)
	logEntries(t, s, clk, 12, 14)
	if _, err := s.Checkpoint(ctx, testSigner, testOrigin); !errors.Is(err, ErrInconsistent) || count() != 1 {
		t.Fatalf("signed a truncated log: %v (%d checkpoints)", err, count())
	}
}

// rehash recomputes every entry's stored tree hashes from the rows as they are.
func rehash(t *testing.T, s *Store) {
	t.Helper()
	rows, err := s.w.Query(`SELECT ` + rowCols + ` FROM oplog ORDER BY idx`)
	if err != nil {
		t.Fatal(err)
	}
	var rs []row
	for rows.Next() {
		var r row
		if err := scanRow(rows, &r); err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	rows.Close()
	f := newFrontier()
	for _, r := range rs {
		hs, err := tlog.StoredHashes(r.idx, r.leaf(), &f)
		if err != nil {
			t.Fatal(err)
		}
		f.add(r.idx, hs)
		if _, err := s.w.Exec(`UPDATE oplog SET hashes = ? WHERE idx = ?`, joinHashes(hs), r.idx); err != nil {
			t.Fatal(err)
		}
	}
}
