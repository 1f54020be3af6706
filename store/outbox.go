package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"jukiterm/store/record"
)

// OutboxItem is one applied update waiting for the national server's acknowledgement:
// the version its 更新順番号 made.
type OutboxItem struct {
	UpdateSeq int64
	Record    record.Record
}

// OutboxNext returns up to limit updates after the 更新順番号 after, in order: the
// outbox row of each applied update is written in the update's own transaction and
// removed only by OutboxAck.
func (s *Store) OutboxNext(ctx context.Context, after int64, limit int) ([]OutboxItem, error) {
	kr, done := s.readKeys()
	defer done()
	rows, err := s.r.QueryContext(ctx, `SELECT update_seq, person_id FROM outbox WHERE update_seq > ? ORDER BY update_seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read the outbox: %w", err)
	}
	type due struct{ seq, person int64 }
	var dues []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.seq, &d.person); err != nil {
			rows.Close()
			return nil, err
		}
		dues = append(dues, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]OutboxItem, 0, len(dues))
	for _, d := range dues {
		r, err := kr.scanPerson("persons", s.r.QueryRowContext(ctx,
			`SELECT person_id, update_seq, data FROM persons WHERE person_id = ? AND update_seq = ?`, d.person, d.seq))
		if errors.Is(err, sql.ErrNoRows) {
			r, err = kr.scanPerson("history", s.r.QueryRowContext(ctx,
				`SELECT person_id, update_seq, data FROM history WHERE person_id = ? AND update_seq = ?`, d.person, d.seq))
			r.RetentionFlag = false // set when it was replaced; the version as applied had not
		}
		if err != nil {
			return nil, fmt.Errorf("read the version of 更新順番号 %d for the national server: %w", d.seq, err)
		}
		out = append(out, OutboxItem{UpdateSeq: d.seq, Record: r})
	}
	return out, nil
}

// OutboxAck removes the updates up to upTo, which the national server acknowledged,
// and keeps upTo as the sequence delivered.
func (s *Store) OutboxAck(ctx context.Context, upTo int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`DELETE FROM outbox WHERE update_seq <= ?`, upTo); err != nil {
		return fmt.Errorf("trim the outbox: %w", err)
	}
	if _, err := tx.Exec(`INSERT INTO meta (name, value) VALUES ('national_acked', ?)
		ON CONFLICT (name) DO UPDATE SET value = MAX(CAST(value AS INTEGER), excluded.value)`, upTo); err != nil {
		return fmt.Errorf("record the national server's acknowledgement: %w", err)
	}
	return tx.Commit()
}

// OutboxState is the outbox's backlog and the 更新順番号 acknowledged by the national server.
type OutboxState struct {
	Backlog int64 `json:"backlog"`
	Acked   int64 `json:"acked"`
	Oldest  int64 `json:"oldest,omitempty"` // the oldest 更新順番号 waiting
}

// Outbox returns the outbox's state.
func (s *Store) Outbox(ctx context.Context) (OutboxState, error) {
	var st OutboxState
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MIN(update_seq), 0),
		COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE name = 'national_acked'), 0) FROM outbox`).Scan(&st.Backlog, &st.Oldest, &st.Acked)
	if err != nil {
		return st, fmt.Errorf("read the outbox: %w", err)
	}
	return st, nil
}
