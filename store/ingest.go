package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"jukiterm/store/record"
)

// IngestResult is the outcome of applying a file of notifications (FORMATS.md §2).
type IngestResult struct {
	Applied    int         `json:"applied"`
	Duplicates int         `json:"duplicates"`
	Rejected   int         `json:"rejected"`
	Rejections []Rejection `json:"rejections"`
	// ResumedAfterLine, when set, says this ingest continued an interrupted ingest of
	// the same file after that line; the counts and rejections cover the whole file.
	ResumedAfterLine int `json:"resumed_after_line,omitempty"`
}

// Rejection is one rejected notification: its line in the file, its id, the rule it
// failed and a message for people.
type Rejection struct {
	Line    int    `json:"line"`
	ID      string `json:"id"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// IngestOptions tune Ingest.
type IngestOptions struct {
	// BatchSize is the number of lines applied in one transaction; default 1000.
	BatchSize int
	// OperatorID is recorded as 操作者ＩＤ; default "system" (municipality CS updates,
	// also when staff ingest a CS's file).
	OperatorID string
	// LogOperator is the operator of the ingest's entries in the operation log (who
	// sent the file); default OperatorID.
	LogOperator string
	// Source is the SHA-256 (lower-case hex) the sender declares for the whole input.
	// It names the input so that an interrupted ingest of it resumes where it stopped
	// (the lines already durable are checked against the digest recorded for them
	// before anything after them is applied), and the input is hashed as it is read
	// and must match it at the end (ErrSourceMismatch). "" tracks and checks nothing.
	Source string
	// Committed, if set, is called after each batch is durable with the number of
	// lines read so far and the result so far. What it reports is acknowledged.
	Committed func(lines int, res *IngestResult)
}

// ErrInterrupted is returned (with the result of the batches already committed) when
// the context ends during an ingest: what was committed stays, the rest is not applied.
var ErrInterrupted = errors.New("ingest interrupted")

// ErrReadFailed is returned (with the result of the batches already committed) when
// the input stops arriving: what was committed stays, as after an interruption.
var ErrReadFailed = errors.New("the notification file stopped arriving")

// ErrSourceMismatch is returned when the input read is not the file its Source names
// (it changed while it was sent, or the sender named another file). What was applied
// stays; this ingest is marked finished, so it is never resumed.
var ErrSourceMismatch = errors.New("the file received is not the one its SHA-256 names")

// ErrResumeMismatch is returned when the input names an interrupted ingest but its
// first lines are not those that ingest made durable: nothing of it is applied.
var ErrResumeMismatch = errors.New("the file's first lines are not those of the interrupted ingest of the file it names")

// Ingest applies a stream of notifications, one JSON object per line (blank lines are
// skipped), reading it as it goes: at most a batch of lines is held, and an over-long
// line only in part. Each batch of lines is one transaction: a rejected notification
// changes nothing but is recorded in the rejections table; a failure to write rolls
// the batch back and stops with an error.
func (s *Store) Ingest(ctx context.Context, in io.Reader, o IngestOptions) (IngestResult, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.OperatorID == "" {
		o.OperatorID = "system"
	}
	if o.LogOperator == "" {
		o.LogOperator = o.OperatorID
	}
	res := IngestResult{Rejections: []Rejection{}}
	if err := s.beginIngest(); err != nil {
		return res, err
	}
	defer s.endIngest()
	run, err := s.startRun(o.Source, &res)
	if err != nil {
		return res, err
	}
	if run.id != 0 {
		defer s.endRun(o.Source)
	}
	lr := newLineReader(in)
	lineNo := 0
	for eof := false; !eof; {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("%w after line %d: %w", ErrInterrupted, lineNo, err)
		}
		var batch []line
		for len(batch) < o.BatchSize {
			b, err := lr.next()
			if err == io.EOF {
				eof = true
				break
			}
			if err != nil {
				if ctx.Err() != nil { // the request ended: its body reads fail
					return res, fmt.Errorf("%w after line %d: %w", ErrInterrupted, lineNo, ctx.Err())
				}
				return res, fmt.Errorf("%w at line %d: %w", ErrReadFailed, lineNo+1, err)
			}
			lineNo++
			if lineNo == 1 {
				b = bytes.TrimPrefix(b, []byte("\uFEFF")) // a byte order mark some editors write
			}
			if lineNo == run.skip {
				if err := s.checkPrefix(run, lr.sum()); err != nil {
					return IngestResult{Rejections: []Rejection{}}, err // the counts were the interrupted run's
				}
			}
			if lineNo > run.skip && len(bytes.TrimSpace(b)) > 0 {
				batch = append(batch, line{no: lineNo, text: b})
			}
		}
		if len(batch) == 0 {
			continue
		}
		job := batchJob{prefix: lr.sum(), operator: o.OperatorID, logOperator: o.LogOperator, run: run.id}
		if err := s.applyBatch(batch, lineNo, job, &res); err != nil {
			return res, err
		}
		if o.Committed != nil {
			o.Committed(lineNo, &res)
		}
	}
	if lineNo < run.skip {
		return IngestResult{Rejections: []Rejection{}}, fmt.Errorf("%w: it has %d lines, the interrupted ingest had reached line %d; nothing of this file was applied",
			ErrResumeMismatch, lineNo, run.skip)
	}
	if o.Source != "" && lr.sumHex() != o.Source {
		if err := s.finishRun(run); err != nil {
			return res, fmt.Errorf("%w, and it could not be marked finished: %w", ErrSourceMismatch, err)
		}
		return res, ErrSourceMismatch
	}
	return res, s.finishRun(run)
}

// keyedPerEntry bounds the keyed values of one operation-log entry of an ingest (its
// payload stays well under MaxPayload); a batch with more has ingest.keys entries.
const keyedPerEntry = 500

// ingestEntries are the operation log's record of one batch: an ingest.batch entry
// with its lines, its counts and the rules its rejections failed (never a personal
// value: those are in the encrypted rejections), and the codes of every line of the
// batch, applied, duplicate or rejected, as keyed HMACs, so that audit lookup finds
// a notification as it finds a search. Keys beyond keyedPerEntry go into ingest.keys
// entries that follow it in the same transaction.
func ingestEntries(batch []line, lineNo int, operator string, run int64, part *IngestResult, keyed []Keyed) []Entry {
	rules := map[string]int{}
	for _, r := range part.Rejections {
		rules[r.Rule]++
	}
	d := map[string]any{"first_line": batch[0].no, "last_line": lineNo, "applied": part.Applied,
		"duplicates": part.Duplicates, "rejected": part.Rejected}
	if len(rules) > 0 {
		d["rejected_rules"] = rules
	}
	if run != 0 {
		d["ingest_id"] = run
	}
	first := keyed[:min(len(keyed), keyedPerEntry)]
	entries := []Entry{{Operator: operator, Action: "ingest.batch", Detail: d, Keyed: first}}
	rest := keyed[len(first):]
	parts := (len(rest) + keyedPerEntry - 1) / keyedPerEntry
	for i := range parts {
		k := map[string]any{"first_line": batch[0].no, "last_line": lineNo, "part": i + 2, "parts": parts + 1}
		if run != 0 {
			k["ingest_id"] = run
		}
		entries = append(entries, Entry{Operator: operator, Action: "ingest.keys", Detail: k,
			Keyed: rest[i*keyedPerEntry : min((i+1)*keyedPerEntry, len(rest))]})
	}
	return entries
}

type line struct {
	no   int
	text []byte
}

// batchJob says where a batch of lines comes from and how it is recorded.
type batchJob struct {
	prefix                []byte // the SHA-256 state of the file up to this batch (a file's ingest)
	operator, logOperator string // 操作者ＩＤ of the records; the operation log's operator
	run                   int64  // the ingests row, 0 if untracked
	// A CS link's batch: its municipality (a notification of another is refused as
	// wrong-peer), the CS's sequence number of each line (in line.no), the outcome of
	// each line, and the link's sequence reached, kept in the same transaction.
	peer     string
	outcomes *[]LineOutcome
}

// applyBatch applies lines in one transaction and adds their outcome to res only once
// the transaction is durable.
func (s *Store) applyBatch(batch []line, lineNo int, job batchJob, res *IngestResult) error {
	prefix, operator, logOperator, run := job.prefix, job.operator, job.logOperator, job.run
	s.mu.Lock()
	defer s.mu.Unlock()
	startSeq, startID, mark := s.seq, s.lastID, s.logMark()
	undo := func(tx *sql.Tx) { // the counters go back with a transaction that did not commit
		if tx != nil {
			tx.Rollback()
		}
		s.seq, s.lastID = startSeq, startID
		s.logUndo(mark)
	}
	tx, err := s.w.Begin()
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	a := &applier{s: s, kr: s.keys(), tx: tx, operator: operator, logOp: logOperator, run: run, peer: job.peer,
		now: time.Now().UTC().Format(time.RFC3339Nano)}
	var part IngestResult
	var outcomes []LineOutcome
	for _, l := range batch {
		before := part
		if err := a.one(l, &part); err != nil {
			undo(tx)
			return fmt.Errorf("line %d: %w", l.no, err)
		}
		if job.outcomes != nil {
			outcomes = append(outcomes, outcomeOf(l, before, part, s.seq))
		}
	}
	if job.peer != "" {
		if err := a.linkReached(uint64(lineNo)); err != nil {
			undo(tx)
			return err
		}
	}
	total := IngestResult{Applied: res.Applied + part.Applied, Duplicates: res.Duplicates + part.Duplicates,
		Rejected: res.Rejected + part.Rejected}
	if s.seq != startSeq {
		if _, err := a.exec(`INSERT OR REPLACE INTO meta (name, value) VALUES ('update_seq', ?)`, s.seq); err != nil {
			undo(tx)
			return fmt.Errorf("record the 更新順番号: %w", err)
		}
	}
	if err := a.progress(lineNo, prefix, total); err != nil {
		undo(tx)
		return fmt.Errorf("record progress: %w", err)
	}
	entries := ingestEntries(batch, lineNo, logOperator, run, &part, a.keyed.list)
	if job.peer != "" {
		entries = linkEntries(batch, job.peer, logOperator, &part, a.keyed.list)
	}
	for _, e := range append(entries, a.probes...) {
		if _, err := s.appendInTx(tx, e); err != nil {
			undo(tx)
			return fmt.Errorf("the batch is not applied: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		undo(nil)
		return fmt.Errorf("commit: %w", err)
	}
	res.Applied += part.Applied
	res.Duplicates += part.Duplicates
	res.Rejected += part.Rejected
	res.Rejections = append(res.Rejections, part.Rejections...)
	if job.outcomes != nil {
		*job.outcomes = append(*job.outcomes, outcomes...)
	}
	return nil
}

// applier applies notifications inside one transaction.
type applier struct {
	s        *Store
	kr       *keyring // the current keys only: no ingest runs during a key rotation
	tx       *sql.Tx
	operator string
	logOp    string  // who sent the lines (the operation log's operator)
	probes   []Entry // ingest.probe entries for this batch
	run      int64   // the ingests row, 0 if untracked
	peer     string  // a CS link's municipality ("" for a file)
	now      string
	stmts    map[string]*sql.Stmt // this transaction's statements
	keyed    keyedSet             // the codes of the batch's lines, for the operation log
}

// one applies a single line; a non-nil error is a failure of the store, not a rejection.
func (a *applier) one(l line, res *IngestResult) error {
	n, v := record.Parse(l.text)
	a.keyed.addLine(n, l.text)
	if v == nil {
		v = record.CheckKeys(n)
	}
	if v == nil && a.peer != "" && n.Municipality != a.peer {
		v = &record.Violation{Rule: record.RuleWrongPeer, Message: fmt.Sprintf(
			"the notification is of municipality %s, but this link is authenticated as the CS of %s: a CS sends its own municipality's notifications only", n.Municipality, a.peer)}
	}
	if v != nil {
		return a.reject(l, n, v, res)
	}
	canonical := n.Canonical()
	pf, err := a.prefetch(n)
	if err != nil {
		return err
	}
	if pf.hash != nil {
		same, err := a.kr.sameContent(pf.hash, n.Municipality, n.ID, canonical)
		if err != nil {
			return err
		}
		if same {
			res.Duplicates++
			return nil
		}
		return a.reject(l, n, &record.Violation{Rule: record.RuleIDReused,
			Message: fmt.Sprintf("notification id %s from %s was applied before with different content", n.ID, n.Municipality)}, res)
	}
	if v := record.Check(n, a.s.opt.Prefecture); v != nil {
		return a.reject(l, n, v, res)
	}
	old, found, v, err := record.Logic(n, txLookup{a, pf})
	if err != nil {
		return err
	}
	if v != nil {
		return a.reject(l, n, v, res)
	}
	if err := a.write(n, old, found, a.kr.cur.sealDigest(n.Municipality, n.ID, canonical)); err != nil {
		return err
	}
	res.Applied++
	return nil
}

// overlongKept is how much of an over-long line its rejection keeps.
const overlongKept = 256

func (a *applier) reject(l line, n *record.Notification, v *record.Violation, res *IngestResult) error {
	var muni, id string
	if n != nil {
		muni, id = n.Municipality, n.ID
	} else {
		muni, id = record.LooseKeys(l.text)
	}
	var run any
	if a.run != 0 {
		run = a.run
	}
	kept := l.text
	if len(kept) > record.MaxLine { // an over-long line: its start is enough to recognise it
		kept = kept[:overlongKept]
	}
	data := a.kr.cur.sealRejection(muni, id, l.no, a.now, v.Message, kept)
	_, err := a.exec(`INSERT INTO rejections (received_at, municipality, id, line, rule, data, ingest_id)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, a.now, muni, id, l.no, v.Rule, data, run)
	if err != nil {
		return fmt.Errorf("record rejection: %w", err)
	}
	res.Rejected++
	res.Rejections = append(res.Rejections, Rejection{Line: l.no, ID: id, Rule: v.Rule, Message: v.Message})
	if n != nil {
		if count := a.s.probes.rejected(a.logOp, n.ResidentCode, v.Rule, time.Now()); count > 0 {
			a.probes = append(a.probes, probeEntry(a.logOp, n.ResidentCode, count))
		}
	}
	return nil
}
