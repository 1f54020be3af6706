package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// An ingest of a named source (the SHA-256 of a whole file, as its sender declares it)
// records, in each batch's transaction, how many lines are durable and the SHA-256 of
// their exact bytes. If it stops early (crash, shutdown, the upload broke off), the
// next ingest of the same file resumes after those lines instead of applying them
// again: a notification rejected early must not be judged again against a file that
// later lines have already changed. The resumed input's first lines must hash to the
// recorded digest before anything after them is applied, so that a sender naming a
// file it does not send cannot take over another's interrupted ingest. A finished file
// ingested again starts afresh (its notifications then count as duplicates).

// ingestRun is the bookkeeping of one ingest of a named source.
type ingestRun struct {
	id     int64  // 0: the source is unnamed, nothing is tracked
	skip   int    // lines already durable in an earlier, interrupted run
	prefix []byte // the keyed digest of those lines' bytes
}

// startRun finds an unfinished run of source to resume, with its result so far, or
// starts a new one.
func (s *Store) startRun(source string, res *IngestResult) (ingestRun, error) {
	if source == "" {
		return ingestRun{}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active[source] {
		return ingestRun{}, ErrBusy
	}
	var run ingestRun
	src := s.keys().cur.blind(ixSource, source)
	err := s.w.QueryRow(`SELECT ingest_id, lines_done, applied, duplicates, rejected, prefix_sha256 FROM ingests
		WHERE source = ? AND finished_at IS NULL ORDER BY ingest_id DESC LIMIT 1`, src).Scan(
		&run.id, &run.skip, &res.Applied, &res.Duplicates, &res.Rejected, &run.prefix)
	switch {
	case err == sql.ErrNoRows:
		r, err := s.w.Exec(`INSERT INTO ingests (source, lines_done, applied, duplicates, rejected, started_at)
			VALUES (?, 0, 0, 0, 0, ?)`, src, time.Now().UTC().Format(time.RFC3339Nano))
		if err != nil {
			return run, fmt.Errorf("start ingest: %w", err)
		}
		run.id, err = r.LastInsertId()
		s.active[source] = err == nil
		return run, err
	case err != nil:
		return run, fmt.Errorf("look for an interrupted ingest: %w", err)
	}
	res.ResumedAfterLine = run.skip
	rows, err := s.w.Query(`SELECT line, municipality, id, rule, received_at, data FROM rejections WHERE ingest_id = ? ORDER BY line`, run.id)
	if err != nil {
		return run, fmt.Errorf("read earlier rejections: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Rejection
		var muni, at string
		var data []byte
		if err := rows.Scan(&r.Line, &muni, &r.ID, &r.Rule, &at, &data); err != nil {
			return run, err
		}
		rj, err := s.keys().openRejection(muni, r.ID, r.Line, at, data)
		if err != nil {
			return run, fmt.Errorf("read earlier rejection of line %d: %w", r.Line, err)
		}
		r.Message = rj.Message
		res.Rejections = append(res.Rejections, r)
	}
	if err := rows.Err(); err != nil {
		return run, err
	}
	s.active[source] = true // only now: endRun clears it when this ingest ends
	return run, nil
}

// progress records, inside the batch's transaction, that lines are durable, and the
// SHA-256 of their bytes (prefix), keyed like the source.
func (a *applier) progress(lines int, prefix []byte, res IngestResult) error {
	if a.run == 0 {
		return nil
	}
	_, err := a.exec(`UPDATE ingests SET lines_done = ?, applied = ?, duplicates = ?, rejected = ?, prefix_sha256 = ? WHERE ingest_id = ?`,
		lines, res.Applied, res.Duplicates, res.Rejected, a.kr.cur.blind(ixSource, prefixName(prefix)), a.run)
	return err
}

func prefixName(sum []byte) string { return "prefix " + hex.EncodeToString(sum) }

// checkPrefix checks, once the lines an interrupted run made durable have been read
// again, that they are the same bytes.
func (s *Store) checkPrefix(run ingestRun, sum []byte) error {
	want := s.keys().cur.blind(ixSource, prefixName(sum))
	if run.prefix == nil || !hmac.Equal(run.prefix, want) {
		return fmt.Errorf("%w: lines 1 to %d differ from those it made durable; nothing of this file was applied", ErrResumeMismatch, run.skip)
	}
	return nil
}

// ErrBusy is returned when the same file is being ingested already.
var ErrBusy = errors.New("this file is being ingested right now by another request: wait for that ingest to finish, then run it again if needed")

// endRun forgets that source is being ingested.
func (s *Store) endRun(source string) {
	s.mu.Lock()
	delete(s.active, source)
	s.mu.Unlock()
}

// finishRun marks a run complete: the same file again starts afresh.
func (s *Store) finishRun(run ingestRun) error {
	if run.id == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.w.Exec(`UPDATE ingests SET finished_at = ?, source = X'' WHERE ingest_id = ?`, time.Now().UTC().Format(time.RFC3339Nano), run.id)
	return err
}

// SourceOf names a whole input file for IngestOptions.Source.
func SourceOf(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}
