package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Retention: entries older than the retention period (7 years by default, DOMAIN.md)
// are archived, then their payload and HMACs erased. Digest, leaf and tree hashes
// stay, so the tree still verifies; an erasure entry, appended in the erasing
// transaction, names the range it erased, the cutoff and the count, and VerifyLog
// accepts an erased payload only inside such a range. Erasure entries are never
// erased (they hold no personal value).

// LogRetention is how long the operation log keeps payloads by default.
const LogRetention = 7 // years

// RetentionCutoff is the cutoff for entries kept years years before now.
func RetentionCutoff(now time.Time, years int) time.Time { return now.AddDate(-years, 0, 0) }

// EraseBatch is the number of entries archived and erased in one transaction.
var EraseBatch = 10000

const eraseAction = "oplog.erase"

// erasure is an erasure entry's detail as VerifyLog reads it.
type erasure struct {
	idx     int64
	From    int64 `json:"from"`
	Through int64 `json:"through"`
	Count   int64 `json:"count"`
	Before  int64 `json:"-"` // Unix ns
	seen    int64
}

// ArchivedEntry is an entry handed to the archive before its payload is erased:
// everything needed to show it and to check it against the tree later.
type ArchivedEntry struct {
	LogEntry
	Payload   []byte `json:"payload"`
	MACs      []byte `json:"macs,omitempty"`
	LeafBytes []byte `json:"leaf_bytes"`
}

// ErasureResult says what EraseBefore did.
type ErasureResult struct {
	Erased  int64   `json:"erased"`
	Entries []int64 `json:"erasure_entries"` // the erasure entries appended
}

// EraseBefore archives, then erases, the payloads of entries older than cutoff, in
// index order, stopping at the first entry not older (a later run goes on from
// there). archive receives each batch before it is erased; an error from it stops
// with nothing of that batch erased. Each erased batch appends an erasure entry by
// operator in the same transaction.
func (s *Store) EraseBefore(ctx context.Context, cutoff time.Time, operator string, archive func([]ArchivedEntry) error) (ErasureResult, error) {
	s.erasing.Lock()
	defer s.erasing.Unlock()
	var res ErasureResult
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		after, err := s.erasedThrough(ctx)
		if err != nil {
			return res, err
		}
		batch, through, err := s.eraseBatch(ctx, after, cutoff.UnixNano())
		if err != nil || through == after {
			return res, err
		}
		if len(batch) > 0 {
			if err := archive(batch); err != nil {
				return res, fmt.Errorf("archive entries %d–%d: %w (nothing of them was erased)", after+1, through, err)
			}
		}
		idx, err := s.erase(batch, after+1, through, cutoff, operator)
		if err != nil {
			return res, err
		}
		res.Erased += int64(len(batch))
		if idx >= 0 {
			res.Entries = append(res.Entries, idx)
		}
	}
}

func (s *Store) erasedThrough(ctx context.Context) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE name = 'oplog_erased_through'), -1)`).Scan(&v)
	return v, err
}

// eraseBatch reads the next entries after after that are older than cutoff (before
// ns), up to EraseBatch of them; through is the last index examined (after: none).
func (s *Store) eraseBatch(ctx context.Context, after, before int64) ([]ArchivedEntry, int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+rowCols+` FROM oplog WHERE idx > ? ORDER BY idx LIMIT ?`, after, EraseBatch)
	if err != nil {
		return nil, after, fmt.Errorf("read entries to erase: %w", err)
	}
	defer rows.Close()
	var batch []ArchivedEntry
	through := after
	for rows.Next() {
		var r row
		if err := scanRow(rows, &r); err != nil {
			return nil, after, err
		}
		if r.at >= before {
			break
		}
		through = r.idx
		if r.payload == nil || r.action == eraseAction {
			continue
		}
		if !r.intact() {
			return nil, after, fmt.Errorf("%w: entry %d does not match its digest: nothing erased (run jukiterm audit verify)", ErrLogTampered, r.idx)
		}
		e, err := r.entry()
		if err != nil {
			return nil, after, err
		}
		batch = append(batch, ArchivedEntry{LogEntry: e, Payload: r.payload, MACs: r.macs, LeafBytes: r.leaf()})
	}
	return batch, through, rows.Err()
}

// erase erases batch's payloads and appends the erasure entry for from..through
// (none when there was nothing to erase there: -1).
func (s *Store) erase(batch []ArchivedEntry, from, through int64, cutoff time.Time, operator string) (int64, error) {
	idx := int64(-1)
	err := s.writeTx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`PRAGMA secure_delete = ON`); err != nil {
			return err
		}
		defer tx.Exec(`PRAGMA secure_delete = OFF`)
		for _, e := range batch {
			r, err := tx.Exec(`UPDATE oplog SET payload = NULL, macs = NULL WHERE idx = ? AND payload IS NOT NULL`, e.Index)
			if err != nil {
				return fmt.Errorf("erase entry %d: %w", e.Index, err)
			}
			if n, _ := r.RowsAffected(); n != 1 {
				return fmt.Errorf("erase entry %d: it changed meanwhile; nothing erased", e.Index)
			}
			if _, err := tx.Exec(`DELETE FROM oplog_lookup WHERE idx = ?`, e.Index); err != nil {
				return err
			}
		}
		var err error
		if len(batch) > 0 {
			idx, err = s.appendInTx(tx, Entry{Operator: operator, Action: eraseAction, Detail: map[string]any{
				"from": from, "through": through, "count": len(batch), "before": cutoff.UTC().Format(time.RFC3339Nano)}})
			if err != nil {
				return err
			}
		}
		_, err = tx.Exec(`INSERT OR REPLACE INTO meta (name, value) VALUES ('oplog_erased_through', ?)`, through)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("erase operation log entries %d–%d: %w", from, through, err)
	}
	return idx, nil
}

// erasures reads every erasure entry's range for VerifyLog (an altered one fails
// there at its own index too).
func (s *Store) erasures(ctx context.Context) ([]erasure, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT idx, payload FROM oplog WHERE action = ? AND payload IS NOT NULL ORDER BY idx`, eraseAction)
	if err != nil {
		return nil, fmt.Errorf("read erasure entries: %w", err)
	}
	defer rows.Close()
	var out []erasure
	for rows.Next() {
		var idx int64
		var b []byte
		if err := rows.Scan(&idx, &b); err != nil {
			return nil, err
		}
		var p struct {
			Detail struct {
				erasure
				Before string `json:"before"`
			} `json:"detail"`
		}
		if json.Unmarshal(b, &p) != nil {
			continue // its digest check reports it
		}
		t, err := time.Parse(time.RFC3339Nano, p.Detail.Before)
		if err != nil {
			continue
		}
		e := p.Detail.erasure
		e.idx, e.Before = idx, t.UnixNano()
		if e.From <= e.Through && e.Through < idx {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b erasure) int { return int(min(max(a.From-b.From, -1), 1)) })
	return out, rows.Err()
}

// ArchiveRange returns the entries logged at or after from and before to, as an
// archive holds them: each with its payload and leaf bytes, so that a reader can check
// them against a checkpoint without this file.
func (s *Store) ArchiveRange(ctx context.Context, from, to time.Time) ([]ArchivedEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+rowCols+` FROM oplog WHERE at >= ? AND at < ? ORDER BY idx`, from.UnixNano(), to.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("read the operation log: %w", err)
	}
	defer rows.Close()
	out := []ArchivedEntry{}
	for rows.Next() {
		var r row
		if err := scanRow(rows, &r); err != nil {
			return nil, err
		}
		if !r.intact() {
			return nil, fmt.Errorf("%w: entry %d does not match its digest: run jukiterm audit verify", ErrLogTampered, r.idx)
		}
		e, err := r.entry()
		if err != nil {
			return nil, err
		}
		out = append(out, ArchivedEntry{LogEntry: e, Payload: r.payload, MACs: r.macs, LeafBytes: r.leaf()})
	}
	return out, rows.Err()
}
