package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

var largeCols = strings.Split(rowCols, ", ")

// TestTamperRandomLarge makes 10,000 random changes to a log of 20,000 entries with
// a checkpoint every 100 (a byte of any column of any entry or of a checkpoint, a
// deleted entry or range, two adjacent entries swapped, a payload erased without an
// erasure entry), each undone before the next, and requires each to be found.
// Verifying 20,000 entries 10,000 times would take minutes, so each change is
// verified from a snapshot of a clean verification taken at most 50 entries before
// it, up to the next checkpoint after it: the same checks VerifyLog makes on those
// entries, and a change is always found by the first checkpoint after it.
// (The lookup index is checked over the whole log only: TestTamperExhaustive changes
// it.)
func TestTamperRandomLarge(t *testing.T) {
	const entries, every, snapEvery, mutations = 20000, 100, 50, 10000
	ctx := context.Background()
	s := openLogStore(t, newClock())
	noSync(t, s)
	for b := 0; b < entries/every; b++ {
		appendEntries(t, s, b*every, every)
		checkpoint(t, s)
	}
	st, _, err := s.startVerify(ctx, testSigner.Verifier(), nil)
	if err != nil {
		t.Fatal(err)
	}
	snaps := map[int64]*verifyState{0: st.clone()}
	if err := s.scanLog(ctx, st, -1, func(st *verifyState) {
		if st.n%snapEvery == 0 {
			snaps[st.n] = st.clone()
		}
	}); err != nil {
		t.Fatal(err)
	}
	sum, err := s.lookupSum(ctx)
	if err := s.finishVerify(ctx, st, indexSum{sum, err}); err != nil || st.checked != entries/every {
		t.Fatalf("clean log: %v, %d checkpoints", err, st.checked)
	}

	r := rand.New(rand.NewPCG(6, 2026))
	kinds := map[string]int{}
	start := time.Now()
	for done := 0; done < mutations; {
		m := randomMutation(r, entries)
		if !m.apply(t, s) {
			continue // the database refused it (an index moved onto another)
		}
		from := snaps[m.first/snapEvery*snapEvery].clone()
		if m.checkpoint != 0 { // the snapshot holds the checkpoints as read before
			from.cps = slices.Clone(from.cps)
			k := slices.IndexFunc(from.cps, func(c storedCheckpoint) bool { return c.size == m.checkpoint })
			if err := s.w.QueryRow(`SELECT note FROM oplog_checkpoints WHERE size = ?`, m.checkpoint).Scan(&from.cps[k].note); err != nil {
				t.Fatal(err)
			}
		}
		until := (m.last/every + 1) * every
		err := s.scanLog(ctx, from, until, nil)
		var p *LogProblem
		if !errors.As(err, &p) {
			t.Fatalf("%s: not detected (%v)", m.what, err)
		}
		if p.Index > m.first || p.Through < m.first {
			t.Fatalf("%s: reported as %v", m.what, p)
		}
		m.undo(t, s)
		kinds[m.kind]++
		done++
	}
	t.Logf("%d changes detected in %v: %v", mutations, time.Since(start).Round(time.Millisecond), kinds)
	mustVerify(t, s, nil)
}

func (st *verifyState) clone() *verifyState {
	c := *st
	c.erasures = slices.Clone(st.erasures)
	return &c
}

// mutation is one change to the stored log and how to undo it.
type mutation struct {
	kind, what  string
	first, last int64    // the entries affected (a checkpoint: its last entry)
	stmts       []string // applied in one transaction
	args        [][]any
	keep        []int64 // entries to restore from saved on undo
	moved       int64   // an entry's index changed to this (-1: none)
	checkpoint  int64   // a checkpoint row changed (0: none)
	saved       [][]any
	savedNote   []byte
}

func randomMutation(r *rand.Rand, entries int64) *mutation {
	i := r.Int64N(entries)
	m := &mutation{first: i, last: i, keep: []int64{i}, moved: -1}
	switch k := r.IntN(100); {
	case k < 80:
		m.kind = "byte"
		m.what = fmt.Sprintf("entry %d column %s", i, largeCols[r.IntN(len(largeCols))])
	case k < 85:
		m.kind = "checkpoint byte"
		m.checkpoint = (i/100 + 1) * 100
		m.first, m.last, m.keep = m.checkpoint-1, m.checkpoint-1, nil
		m.what = fmt.Sprintf("checkpoint %d", m.checkpoint)
	case k < 89:
		m.kind, m.what = "delete", fmt.Sprintf("entry %d deleted", i)
		m.stmts = []string{`DELETE FROM oplog WHERE idx = ?`}
		m.args = [][]any{{i}}
	case k < 93 && i+1 < entries:
		m.kind, m.what = "swap", fmt.Sprintf("entries %d and %d swapped", i, i+1)
		m.last, m.keep = i+1, []int64{i, i + 1}
		set := strings.Join(largeCols[1:], ", ")
		m.stmts = []string{`UPDATE oplog SET (` + set + `) = (SELECT ` + set + ` FROM oplog WHERE idx = ?) WHERE idx = ?`,
			`UPDATE oplog SET (` + set + `) = (SELECT ` + set + ` FROM oplog_saved WHERE idx = ?) WHERE idx = ?`}
		m.args = [][]any{{i + 1, i}, {i, i + 1}}
	case k < 96:
		j := min(i+1+r.Int64N(50), entries)
		m.kind, m.what = "delete range", fmt.Sprintf("entries %d–%d deleted", i, j-1)
		m.last = j - 1
		m.keep = nil
		for x := i; x < j; x++ {
			m.keep = append(m.keep, x)
		}
		m.stmts = []string{`DELETE FROM oplog WHERE idx >= ? AND idx < ?`}
		m.args = [][]any{{i, j}}
	default:
		m.kind, m.what = "erase", fmt.Sprintf("entry %d erased without an erasure entry", i)
		m.stmts = []string{`UPDATE oplog SET payload = NULL, macs = NULL WHERE idx = ?`}
		m.args = [][]any{{i}}
	}
	if m.kind == "byte" || m.kind == "checkpoint byte" {
		m.stmts = nil // chosen in apply, from the stored value
		m.args = [][]any{{r.Int(), r.IntN(255) + 1}}
	}
	return m
}

// apply saves what m changes and changes it; false if the database refused.
func (m *mutation) apply(t *testing.T, s *Store) bool {
	t.Helper()
	tx, err := s.w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	exec := func(q string, args ...any) bool {
		if _, err := tx.Exec(q, args...); err != nil {
			if strings.Contains(err.Error(), "UNIQUE") {
				return false
			}
			t.Fatalf("%s: %v", m.what, err)
		}
		return true
	}
	exec(`CREATE TEMP TABLE IF NOT EXISTS oplog_saved AS SELECT * FROM oplog WHERE 0`)
	exec(`DELETE FROM oplog_saved`)
	for _, i := range m.keep {
		exec(`INSERT INTO oplog_saved SELECT * FROM oplog WHERE idx = ?`, i)
	}
	switch m.kind {
	case "byte":
		col := strings.Fields(strings.SplitN(m.what, "column ", 2)[1])[0]
		ci := slices.Index(largeCols, col)
		vals := make([]any, len(largeCols))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := tx.QueryRow(`SELECT `+rowCols+` FROM oplog WHERE idx = ?`, m.first).Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		v := vals[ci]
		n := 8
		switch x := v.(type) {
		case []byte:
			n = len(x)
		case string:
			n = len(x)
		case nil:
			return false // no HMACs in this entry
		}
		pos := m.args[0][0].(int) % n
		nv, _ := flipBy(v, pos, byte(m.args[0][1].(int)))
		m.what += fmt.Sprintf(" byte %d", pos)
		if col == "idx" {
			m.moved = nv.(int64)
		}
		return exec(`UPDATE oplog SET `+col+` = ? WHERE idx = ?`, nv, m.first) && commit(t, tx)
	case "checkpoint byte":
		if err := tx.QueryRow(`SELECT note FROM oplog_checkpoints WHERE size = ?`, m.checkpoint).Scan(&m.savedNote); err != nil {
			t.Fatal(err)
		}
		pos := m.args[0][0].(int) % len(m.savedNote)
		nv, _ := flipBy(m.savedNote, pos, byte(m.args[0][1].(int)))
		m.what += fmt.Sprintf(" byte %d", pos)
		return exec(`UPDATE oplog_checkpoints SET note = ? WHERE size = ?`, nv, m.checkpoint) && commit(t, tx)
	}
	for k, q := range m.stmts {
		if !exec(q, m.args[k]...) {
			return false
		}
	}
	return commit(t, tx)
}

func commit(t *testing.T, tx interface{ Commit() error }) bool {
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return true
}

func (m *mutation) undo(t *testing.T, s *Store) {
	t.Helper()
	if m.checkpoint != 0 {
		if _, err := s.w.Exec(`UPDATE oplog_checkpoints SET note = ? WHERE size = ?`, m.savedNote, m.checkpoint); err != nil {
			t.Fatal(err)
		}
		return
	}
	q := `DELETE FROM oplog WHERE idx IN (SELECT idx FROM oplog_saved) OR idx = ?;
		INSERT INTO oplog SELECT * FROM oplog_saved;`
	if _, err := s.w.Exec(q, m.moved); err != nil {
		t.Fatalf("undo %s: %v", m.what, err)
	}
}

// flipBy xors byte pos of v with x (see flip).
func flipBy(v any, pos int, x byte) (any, bool) {
	switch v := v.(type) {
	case int64:
		b := uint64(x) << (8 * (7 - pos))
		return int64(uint64(v) ^ b), true
	case []byte:
		b := slices.Clone(v)
		b[pos] ^= x
		return b, true
	case string:
		b := []byte(v)
		b[pos] ^= x
		return string(b), true
	}
	return nil, false
}
