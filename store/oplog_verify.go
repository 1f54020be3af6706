package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrLogTampered says the stored operation log is not what was written: an entry,
// its tree hashes, a checkpoint or the lookup index was changed, removed or added.
var ErrLogTampered = errors.New("the operation log was altered")

// LogProblem is the first thing VerifyLog found wrong. Index is the first bad entry;
// when only a checkpoint's root shows the change (the tree hashes were recomputed
// along), the change lies somewhere in Index..Through.
type LogProblem struct {
	Index   int64  `json:"index"`
	Through int64  `json:"through"`
	What    string `json:"what"`
}

func (p *LogProblem) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrLogTampered, p.Where(), p.What)
}

func (p *LogProblem) Unwrap() error { return ErrLogTampered }

// Where names the entry or entries of the problem: "entry 60", "entries 60–61".
func (p *LogProblem) Where() string {
	if p.Through != p.Index {
		return fmt.Sprintf("entries %d–%d", p.Index, p.Through)
	}
	return fmt.Sprintf("entry %d", p.Index)
}

func problem(idx int64, format string, a ...any) *LogProblem {
	return &LogProblem{Index: idx, Through: idx, What: fmt.Sprintf(format, a...)}
}

// missing is the problem of entries from..next-1 not stored, next being the first
// stored after them.
func missing(from, next int64) *LogProblem {
	if next == from+1 {
		return &LogProblem{Index: from, Through: from, What: fmt.Sprintf("the entry is missing (the next stored entry is %d)", next)}
	}
	return &LogProblem{Index: from, Through: next - 1, What: fmt.Sprintf("the entries are missing (the next stored entry is %d)", next)}
}

// Report is what VerifyLog checked.
type Report struct {
	Entries     int64       `json:"entries"`
	Erased      int64       `json:"erased"`
	Checkpoints int         `json:"checkpoints"` // recorded ones whose signature and root were checked
	Root        tlog.Hash   `json:"root"`        // of the tree of every entry
	Exported    int64       `json:"exported_size,omitempty"`
	Problem     *LogProblem `json:"problem,omitempty"`
}

// storedCheckpoint is a checkpoints row, checked when the scan reaches its size.
type storedCheckpoint struct {
	size     int64
	note     []byte
	exported bool // the checkpoint given to VerifyLog, not a row
}

// verifyState is a verification under way: everything it needs to go on from entry n.
type verifyState struct {
	v        note.Verifiers
	n        int64
	front    frontier
	erased   int64
	lookup   mset
	cps      []storedCheckpoint // sorted by size
	ci       int                // next checkpoint to check
	good     int64              // size of the last checkpoint whose root matched
	checked  int
	erasures []erasure // sorted by From
	ei       int
}

// mset is an additive multiset hash (four 64-bit lanes of SHA-256) of (HMAC, index)
// pairs: the lookup index must hold exactly the pairs of the entries' HMAC columns.
type mset [4]uint64

func (m *mset) add(mac []byte, idx int64) {
	b := make([]byte, 0, sha256.Size+8)
	b = binary.BigEndian.AppendUint64(append(b, mac...), uint64(idx))
	h := sha256.Sum256(b)
	for i := range m {
		m[i] += binary.BigEndian.Uint64(h[i*8:])
	}
}

// VerifyLog recomputes the whole log from its rows and reports the first thing
// wrong: each entry's payload against its digest (unless erased, and then an erasure
// entry must cover it), each leaf and the tree hashes stored with it, every recorded
// checkpoint's signature (by one of v's keys) and root (checkpoints that all match the one
// recomputed tree are consistent with each other), the lookup index against the
// entries' HMACs, and, if from is given (an exported checkpoint), that the log still
// holds its tree: a truncated or rolled-back file fails there. A problem found is
// returned as a *LogProblem (errors.Is ErrLogTampered) and in the report.
func (s *Store) VerifyLog(ctx context.Context, v note.Verifiers, from []byte) (Report, error) {
	st, rep, err := s.startVerify(ctx, v, from)
	if err != nil {
		errors.As(err, &rep.Problem)
		return rep, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	index := make(chan indexSum, 1)
	go func() { // the lookup index is read meanwhile, on the other core
		m, err := s.lookupSum(ctx)
		index <- indexSum{m, err}
	}()
	err = s.scanLog(ctx, st, -1, nil)
	if err == nil {
		err = s.finishVerify(ctx, st, <-index)
	}
	rep.Entries, rep.Erased, rep.Checkpoints = st.n, st.erased, st.checked
	rep.Root, _ = tlog.TreeHash(st.n, &st.front)
	var p *LogProblem
	if errors.As(err, &p) {
		rep.Problem = p
	}
	return rep, err
}

func (s *Store) startVerify(ctx context.Context, v note.Verifiers, from []byte) (*verifyState, Report, error) {
	var rep Report
	st := &verifyState{v: v, front: newFrontier()}
	if err := s.loadCheckpoints(ctx, st); err != nil {
		return nil, rep, err
	}
	if v == nil && (len(st.cps) > 0 || from != nil) {
		return nil, rep, errors.New("the log has signed checkpoints: give the terminal's checkpoint verifier key (jukiterm keys public) to check them")
	}
	if from != nil {
		c, err := OpenCheckpoint(from, v)
		if err != nil {
			return nil, rep, fmt.Errorf("the exported checkpoint: %w", err)
		}
		rep.Exported = c.Size
		i := 0
		for i < len(st.cps) && st.cps[i].size <= c.Size {
			i++
		}
		st.cps = append(st.cps[:i], append([]storedCheckpoint{{size: c.Size, note: from, exported: true}}, st.cps[i:]...)...)
	}
	var err error
	if st.erasures, err = s.erasures(ctx); err != nil {
		return nil, rep, err
	}
	var stray int64 // rows the scan (indexes from 0) would not see
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM oplog WHERE idx < 0`).Scan(&stray); err != nil {
		return nil, rep, err
	}
	if stray > 0 {
		return st, rep, problem(0, "%d entries have a negative index", stray)
	}
	return st, rep, st.checkpointsAt(0)
}

// loadCheckpoints reads the recorded checkpoints, to be checked as the scan reaches
// their sizes.
func (s *Store) loadCheckpoints(ctx context.Context, st *verifyState) error {
	rows, err := s.r.QueryContext(ctx, `SELECT size, note FROM oplog_checkpoints ORDER BY size`)
	if err != nil {
		return fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	st.cps = nil
	for rows.Next() {
		var c storedCheckpoint
		if err := rows.Scan(&c.size, &c.note); err != nil {
			return err
		}
		st.cps = append(st.cps, c)
	}
	return rows.Err()
}

// feed checks one row, the next entry.
func (st *verifyState) feed(r *row) error {
	if r.idx != st.n {
		return missing(st.n, r.idx)
	}
	if err := st.payload(r); err != nil {
		return err
	}
	if len(r.digest) != sha256.Size {
		return problem(r.idx, "its payload digest is %d bytes, not %d", len(r.digest), sha256.Size)
	}
	hs, err := tlog.StoredHashes(r.idx, r.leaf(), &st.front)
	if err != nil {
		return err
	}
	if !bytes.Equal(joinHashes(hs), r.hashes) {
		return problem(r.idx, "the entry does not match the tree hashes stored with it (the entry or its hashes were changed)")
	}
	st.front.add(r.idx, hs)
	st.n++
	return st.checkpointsAt(st.n)
}

// payload checks the row's payload and HMACs against its digest, or its erasure.
func (st *verifyState) payload(r *row) error {
	if r.payload != nil {
		if !r.intact() || len(r.macs)%sha256.Size != 0 {
			return problem(r.idx, "its payload or HMACs do not match its digest")
		}
		for i := 0; i < len(r.macs); i += sha256.Size {
			st.lookup.add(r.macs[i:i+sha256.Size], r.idx)
		}
		return nil
	}
	if r.macs != nil {
		return problem(r.idx, "its payload is erased but not its HMACs")
	}
	for st.ei < len(st.erasures) && st.erasures[st.ei].Through < r.idx {
		st.ei++
	}
	if st.ei == len(st.erasures) {
		return problem(r.idx, "its payload is erased, but no erasure entry covers it")
	}
	e := &st.erasures[st.ei]
	switch {
	case r.idx < e.From:
		return problem(r.idx, "its payload is erased, but no erasure entry covers it")
	case r.action == eraseAction:
		return problem(r.idx, "an erasure entry's payload is erased")
	case r.at >= e.Before:
		return problem(r.idx, "its payload is erased, but it is newer than the cutoff of erasure entry %d", e.idx)
	}
	e.seen++
	st.erased++
	return nil
}

// checkpointsAt checks the checkpoints of size n against the tree of n entries.
func (st *verifyState) checkpointsAt(n int64) error {
	for ; st.ci < len(st.cps) && st.cps[st.ci].size <= n; st.ci++ {
		c := st.cps[st.ci]
		what := fmt.Sprintf("the checkpoint recorded at size %d", c.size)
		if c.exported {
			what = fmt.Sprintf("the exported checkpoint of size %d", c.size)
		}
		last := max(c.size-1, 0)
		if c.size < n || c.size <= 0 {
			return problem(last, "%s: no tree of that size", what)
		}
		cp, err := OpenCheckpoint(c.note, st.v)
		if err != nil {
			return problem(last, "%s: %v", what, err)
		}
		if cp.Size != c.size {
			return problem(last, "%s says %d entries", what, cp.Size)
		}
		root, err := tlog.TreeHash(n, &st.front)
		if err != nil {
			return err
		}
		if root != cp.Root {
			return &LogProblem{Index: st.good, Through: last, What: fmt.Sprintf(
				"these entries do not make the tree %s signed (changed with their tree hashes recomputed, or replaced)", what)}
		}
		st.good = n
		if !c.exported {
			st.checked++
		}
	}
	return nil
}

// finishVerify checks what only the whole log shows: checkpoints beyond its end,
// erasure counts and the lookup index.
func (s *Store) finishVerify(ctx context.Context, st *verifyState, index indexSum) error {
	if st.ci < len(st.cps) {
		c := st.cps[st.ci]
		what := "the entry is missing"
		if c.size-1 > st.n {
			what = "the entries are missing"
		}
		return &LogProblem{Index: st.n, Through: c.size - 1, What: fmt.Sprintf("%s: the log ends at %d entries but %s covers %d (entries were removed from the end, or the file was rolled back)",
			what, st.n, map[bool]string{true: "the exported checkpoint", false: "a recorded checkpoint"}[c.exported], c.size)}
	}
	for _, e := range st.erasures {
		if e.seen != e.Count {
			return problem(e.idx, "the erasure entry says %d entries were erased in %d–%d, %d are", e.Count, e.From, e.Through, e.seen)
		}
	}
	if index.err != nil {
		return index.err
	}
	if index.sum != st.lookup {
		return s.findLookupProblem(ctx)
	}
	return nil
}

type indexSum struct {
	sum mset
	err error
}

// lookupSum is the multiset hash of the lookup index's rows.
func (s *Store) lookupSum(ctx context.Context) (mset, error) {
	var m mset
	rows, err := s.r.QueryContext(context.WithoutCancel(ctx), `SELECT mac, idx FROM oplog_lookup`) // see scanLog
	if err != nil {
		return m, fmt.Errorf("read the lookup index: %w", err)
	}
	defer rows.Close()
	for n := 0; rows.Next(); n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return m, ctx.Err()
		}
		var mac []byte
		var i int64
		if err := rows.Scan(&mac, &i); err != nil {
			return m, fmt.Errorf("read the lookup index: %w", err)
		}
		m.add(mac, i)
	}
	if err := rows.Err(); err != nil {
		return m, fmt.Errorf("read the lookup index: %w", err)
	}
	return m, nil
}
