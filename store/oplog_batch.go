package store

import (
	"context"
	"database/sql"
)

// LogBatch appends entries in one transaction of their own, durable on return, and
// returns the first one's index (the others follow it). For a burst of entries that
// one caller makes at once; an error means none was written.
func (s *Store) LogBatch(ctx context.Context, entries []Entry) (int64, error) {
	ps := make([]*prepared, len(entries))
	for i, e := range entries {
		p, err := s.prepare(e)
		if err != nil {
			return 0, err
		}
		ps[i] = p
	}
	var first int64
	err := s.writeTx(func(tx *sql.Tx) error {
		first = s.log.n
		for _, p := range ps {
			if _, err := s.insertPrepared(tx, p); err != nil {
				return err
			}
		}
		return nil
	})
	return first, err
}
