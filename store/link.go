package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// LinkLine is one notification received over a CS link: the CS's own sequence number
// and the notification as one JSON line (the notification file format).
type LinkLine struct {
	Seq  uint64
	Line []byte
}

// Outcomes of a notification received over a link.
const (
	OutcomeApplied   = "applied"
	OutcomeDuplicate = "duplicate"
	OutcomeRejected  = "rejected"
)

// LineOutcome is what became of one line: applied (with its 更新順番号), a duplicate (the
// same notification applied before, or a sequence number the link had reached), or
// rejected with its rule and message.
type LineOutcome struct {
	Seq       uint64 `json:"seq"`
	Outcome   string `json:"outcome"`
	Rule      string `json:"rule,omitempty"`
	Message   string `json:"message,omitempty"`
	UpdateSeq int64  `json:"update_seq,omitempty"`
}

// outcomeOf tells what a.one did to l from the counts before and after it.
func outcomeOf(l line, before, after IngestResult, seq int64) LineOutcome {
	o := LineOutcome{Seq: uint64(l.no)}
	switch {
	case after.Applied > before.Applied:
		o.Outcome, o.UpdateSeq = OutcomeApplied, seq
	case after.Duplicates > before.Duplicates:
		o.Outcome = OutcomeDuplicate
	default:
		r := after.Rejections[len(after.Rejections)-1]
		o.Outcome, o.Rule, o.Message = OutcomeRejected, r.Rule, r.Message
	}
	return o
}

// ErrLinkOrder is returned when a CS link's sequence numbers do not increase.
var ErrLinkOrder = errors.New("the CS's sequence numbers do not increase")

// ApplyFromCS applies notifications received from the CS of municipality over its
// authenticated link, in one transaction, exactly as Ingest applies a file's lines
// (the same checks and rule ids, rejections recorded), and returns each line's outcome
// once the transaction is durable. A notification of another municipality is rejected
// as wrong-peer. The link's sequence reached is kept in the same transaction
// (CSLastSeq), so after a crash the CS resends from there: a line at or below it is
// answered as a duplicate without being applied again. Sequence numbers must increase.
func (s *Store) ApplyFromCS(ctx context.Context, municipality string, lines []LinkLine, logOperator string) ([]LineOutcome, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	if err := s.beginIngest(); err != nil {
		return nil, err
	}
	defer s.endIngest()
	last, err := s.CSLastSeq(ctx, municipality)
	if err != nil {
		return nil, err
	}
	var out []LineOutcome
	var batch []line
	prev := uint64(0)
	for _, l := range lines {
		if l.Seq <= prev || l.Seq > 1<<62 {
			return nil, fmt.Errorf("%w: %d after %d", ErrLinkOrder, l.Seq, prev)
		}
		prev = l.Seq
		if l.Seq <= last {
			out = append(out, LineOutcome{Seq: l.Seq, Outcome: OutcomeDuplicate, Message: fmt.Sprintf("sequence %d was received before (this link has reached %d)", l.Seq, last)})
			continue
		}
		batch = append(batch, line{no: int(l.Seq), text: l.Line})
	}
	if len(batch) == 0 {
		return out, nil
	}
	var res IngestResult
	job := batchJob{operator: "system", logOperator: logOperator, peer: municipality, outcomes: &out}
	if err := s.applyBatch(batch, batch[len(batch)-1].no, job, &res); err != nil {
		return nil, err
	}
	return out, nil
}

// CSLastSeq is the sequence number up to which the CS of municipality has been
// received durably (0 before its first notification).
func (s *Store) CSLastSeq(ctx context.Context, municipality string) (uint64, error) {
	var seq int64
	err := s.r.QueryRowContext(ctx, `SELECT last_seq FROM link_cs WHERE municipality = ?`, municipality).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the CS link's sequence: %w", err)
	}
	return uint64(seq), nil
}

// linkReached keeps the CS link's sequence reached, in the batch's transaction.
func (a *applier) linkReached(seq uint64) error {
	_, err := a.exec(`INSERT INTO link_cs (municipality, last_seq, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (municipality) DO UPDATE SET last_seq = excluded.last_seq, updated_at = excluded.updated_at`,
		a.peer, int64(seq), a.now)
	if err != nil {
		return fmt.Errorf("record the CS link's sequence: %w", err)
	}
	return nil
}

// linkEntries are the operation log's record of a CS link's batch: as a file's
// (ingestEntries), with the municipality and the CS's sequence numbers.
func linkEntries(batch []line, peer, operator string, part *IngestResult, keyed []Keyed) []Entry {
	es := ingestEntries(batch, batch[len(batch)-1].no, operator, 0, part, keyed)
	for i := range es {
		d := es[i].Detail
		d["municipality"] = peer
		d["first_seq"], d["last_seq"] = d["first_line"], d["last_line"]
		delete(d, "first_line")
		delete(d, "last_line")
		es[i].Action = "link.keys"
	}
	es[0].Action = "link.batch"
	return es
}
