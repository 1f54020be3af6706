package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrWedged is returned by Ping when the writer does not become free in time.
var ErrWedged = errors.New("the identity file's writer is not answering")

// Ping proves the store can still write: it waits for the writer (a running batch
// holds it for a fraction of a second) and runs a statement on it, within ctx.
func (s *Store) Ping(ctx context.Context) error {
	for !s.mu.TryLock() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", ErrWedged, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("the identity file is closed")
	}
	var one int
	if err := s.w.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("%w: %v", ErrWedged, err)
	}
	return nil
}
