package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"jukiterm/store/record"
)

// ErrNotFound is returned when no person has the code asked for.
var ErrNotFound = errors.New("no such person in the file")

// Search returns the records matching q, ordered by 清音化 kana name, birth and code.
// q must have been normalised. Candidates come from the blind indexes; each is
// decrypted and checked against every item of the query.
func (s *Store) Search(ctx context.Context, q Query) ([]record.Record, error) {
	kr, done := s.readKeys()
	defer done()
	cond, args := q.where(kr)
	rows, err := s.r.QueryContext(ctx, `SELECT person_id, update_seq, data FROM persons WHERE `+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	out := []record.Record{}
	for rows.Next() {
		r, err := kr.scanPerson("persons", rows)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if q.match(&r) {
			out = append(out, r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sortRecords(out)
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// sortRecords orders search results by 清音化 kana name, birth and code.
func sortRecords(out []record.Record) {
	slices.SortFunc(out, func(a, b record.Record) int {
		return cmp.Or(cmp.Compare(a.NameKanaSeion, b.NameKanaSeion), cmp.Compare(a.Birth, b.Birth),
			cmp.Compare(a.ResidentCode, b.ResidentCode))
	})
}

// ChangedCodeError says a 住民票コード was changed, and to what; it is an ErrNotFound.
type ChangedCodeError struct{ Old, New string }

func (e *ChangedCodeError) Error() string {
	return fmt.Sprintf("%v: 住民票コード %s was changed to %s", ErrNotFound, e.Old, e.New)
}

func (e *ChangedCodeError) Unwrap() error { return ErrNotFound }

// Person is a record with, when asked for, its earlier versions (oldest first).
type Person struct {
	record.Record
	// History is nil unless asked for; then it is present in JSON even when empty.
	History *[]record.Record `json:"history,omitempty"`
}

// Get returns the person whose current 住民票コード is code, current or removed, with
// the history when withHistory is set. A code that was changed gives ErrNotFound with
// the new code named.
func (s *Store) Get(ctx context.Context, code string, withHistory bool) (Person, error) {
	kr, done := s.readKeys()
	defer done()
	r, err := kr.scanPerson("persons", s.r.QueryRowContext(ctx, `SELECT person_id, update_seq, data FROM persons WHERE `+kr.eq("code_idx"),
		kr.blinds(ixCode, code)...))
	if errors.Is(err, sql.ErrNoRows) {
		now, err := kr.scanPerson("persons", s.r.QueryRowContext(ctx, `SELECT p.person_id, p.update_seq, p.data
			FROM former_codes f JOIN persons p USING (person_id) WHERE `+kr.eq("f.code_idx"), kr.blinds(ixCode, code)...))
		if err == nil {
			return Person{}, &ChangedCodeError{Old: code, New: now.ResidentCode}
		}
		return Person{}, fmt.Errorf("%w: 住民票コード %s", ErrNotFound, code)
	}
	if err != nil {
		return Person{}, fmt.Errorf("show: %w", err)
	}
	p := Person{Record: r}
	if !withHistory {
		return p, nil
	}
	hist := []record.Record{}
	p.History = &hist
	rows, err := s.r.QueryContext(ctx, `SELECT person_id, update_seq, data FROM history WHERE person_id = ? ORDER BY history_id`, r.ID)
	if err != nil {
		return p, fmt.Errorf("show history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		h, err := kr.scanPerson("history", rows)
		if err != nil {
			return p, fmt.Errorf("show history: %w", err)
		}
		hist = append(hist, h)
	}
	return p, rows.Err()
}

// Versions returns the earlier versions, oldest first (none if not asked for).
func (p Person) Versions() []record.Record {
	if p.History == nil {
		return nil
	}
	return *p.History
}

// Stats summarises the file.
type Stats struct {
	Current       int64 `json:"persons_current"`
	Removed       int64 `json:"persons_removed"`
	HistoryRows   int64 `json:"history_rows"`
	Applied       int64 `json:"notifications_applied"`
	Rejected      int64 `json:"notifications_rejected"`
	UpdateSeq     int64 `json:"update_seq"`
	DatabaseBytes int64 `json:"database_bytes"`
	SchemaVersion int   `json:"schema_version"`
}

// Stats counts what the file holds.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	st := Stats{SchemaVersion: SchemaVersion}
	err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM persons WHERE removed = 0),
		(SELECT COUNT(*) FROM persons WHERE removed = 1),
		(SELECT COUNT(*) FROM history),
		(SELECT COUNT(*) FROM notifications),
		(SELECT COUNT(*) FROM rejections),
		(SELECT COALESCE(MAX(update_seq), 0) FROM notifications),
		(SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size())`).Scan(
		&st.Current, &st.Removed, &st.HistoryRows, &st.Applied, &st.Rejected, &st.UpdateSeq, &st.DatabaseBytes)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	return st, nil
}
