package store

import (
	"context"
	"fmt"
	"time"
)

// QuickCheck runs SQLite's quick_check and returns its report ("ok" when sound).
func (s *Store) QuickCheck(ctx context.Context) (string, error) {
	var res string
	err := s.r.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&res)
	return res, err
}

// CheckpointTime is the time of the newest entry a checkpoint of size covers.
func (s *Store) CheckpointTime(ctx context.Context, size int64) (time.Time, error) {
	var at int64
	if err := s.r.QueryRowContext(ctx, `SELECT at FROM oplog WHERE idx = ?`, size-1).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("read the checkpoint's last entry: %w", err)
	}
	return time.Unix(0, at).UTC(), nil
}

// ServiceEntries returns the operation log's entries of service (保守) sessions
// (actions service.*), oldest first, each checked against its digest.
func (s *Store) ServiceEntries(ctx context.Context) ([]LogEntry, error) {
	return s.ServiceEntriesSince(ctx, time.Time{})
}

// ServiceEntriesSince is ServiceEntries from since on, found through the partial index
// oplog_service (schema 8), which holds the service entries only: the cost grows with
// their number, not with the log's.
func (s *Store) ServiceEntriesSince(ctx context.Context, since time.Time) ([]LogEntry, error) {
	var from int64
	if !since.IsZero() {
		from = since.UnixNano()
	}
	return s.readEntries(ctx, `INDEXED BY oplog_service WHERE at >= ? AND action LIKE 'service.%' ORDER BY idx`, from)
}
