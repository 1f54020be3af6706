package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit: Log queues its entry; one goroutine writes every queued entry in one
// transaction (one fsync) and answers each caller once that transaction is durable.
// While it commits, new callers queue up for the next transaction, so the number of
// entries per fsync grows with the load.

// MaxGroup bounds the entries written in one group-commit transaction.
var MaxGroup = 1024

type logReq struct {
	p    *prepared
	done chan logResult
}

type logResult struct {
	idx int64
	err error
}

type committer struct {
	mu      sync.Mutex
	queue   []*logReq
	closing bool
	wake    chan struct{}
	stopped chan struct{}
	groups  atomic.Int64  // transactions committed (benchmarks report entries per group)
	active  atomic.Int64  // callers inside Log
	left    chan struct{} // a caller left Log (never closed)
}

// CommitDelay bounds how long the committer waits, before a transaction, for callers
// that are inside Log but have not queued their entry yet (they are preparing it):
// those are microseconds away, and a commit costs about the same with or without
// them (as PostgreSQL's commit_delay with commit_siblings). A lone caller never waits.
var CommitDelay = 500 * time.Microsecond

// logStmts are the log's statements, prepared once on the writer's connection.
type logStmts struct {
	entry, lookup *sql.Stmt
}

// startLog loads the log's state and starts the group committer (Open does this).
func (s *Store) startLog() error {
	if err := s.loadLogKey(); err != nil {
		return err
	}
	ctx := context.Background()
	var n int64
	if err := s.w.QueryRow(`SELECT COALESCE(MAX(idx) + 1, 0) FROM oplog`).Scan(&n); err != nil {
		return fmt.Errorf("read the operation log: %w", err)
	}
	f, err := loadFrontier(ctx, s.w, n)
	if err != nil {
		return fmt.Errorf("read the operation log's tree: %w", err)
	}
	s.log = logState{n: n, front: f}
	if s.logStmt.entry, err = s.w.Prepare(insertEntry); err != nil {
		return err
	}
	if s.logStmt.lookup, err = s.w.Prepare(insertLookup); err != nil {
		return err
	}
	s.gc = &committer{wake: make(chan struct{}, 1), left: make(chan struct{}, 1), stopped: make(chan struct{})}
	go s.commitLoop()
	return nil
}

// Log appends e to the operation log and returns its index once it is durable.
// Entries of concurrent callers share one transaction and one fsync. An error means
// the entry is not known to be durable: the caller must refuse the operation (fail
// closed). Operations that write something else log with appendInTx instead, in the
// transaction of their effect.
func (s *Store) Log(ctx context.Context, e Entry) (int64, error) {
	if s.gc == nil {
		return 0, ErrLogClosed
	}
	c := s.gc
	c.active.Add(1)
	defer func() {
		c.active.Add(-1)
		select { // a committer gathering entries re-counts
		case c.left <- struct{}{}:
		default:
		}
	}()
	p, err := s.prepare(e)
	if err != nil {
		return 0, err
	}
	req := &logReq{p: p, done: make(chan logResult, 1)}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return 0, ErrLogClosed
	}
	c.queue = append(c.queue, req)
	select { // under c.mu, so that stopLog cannot close wake meanwhile
	case c.wake <- struct{}{}:
	default:
	}
	c.mu.Unlock()
	select {
	case r := <-req.done:
		return r.idx, r.err
	case <-ctx.Done():
		return 0, fmt.Errorf("the operation log entry is not known to be durable, refuse the operation: %w", ctx.Err())
	}
}

func (s *Store) commitLoop() {
	c := s.gc
	defer close(c.stopped)
	for {
		_, open := <-c.wake
		for {
			if open {
				s.gather()
			}
			c.mu.Lock()
			n := min(len(c.queue), MaxGroup)
			batch := c.queue[:n:n]
			c.queue = c.queue[n:]
			c.mu.Unlock()
			if n == 0 {
				break
			}
			s.commitGroup(batch)
		}
		if !open { // stopLog: nothing can be queued any more, and the queue is empty
			return
		}
	}
}

// gather waits, up to CommitDelay, until every caller inside Log has queued its entry
// (or left: callers answered by the last transaction are on their way out).
func (s *Store) gather() {
	c := s.gc
	var timer *time.Timer
	for {
		c.mu.Lock()
		q := len(c.queue)
		c.mu.Unlock()
		if q == 0 || q >= MaxGroup || int64(q) >= c.active.Load() {
			return
		}
		if timer == nil {
			timer = time.NewTimer(CommitDelay)
			defer timer.Stop()
		}
		select {
		case _, ok := <-c.wake: // another entry queued
			if !ok {
				return
			}
		case <-c.left:
		case <-timer.C:
			return
		}
	}
}

// commitGroup writes batch in one transaction and answers each caller.
func (s *Store) commitGroup(batch []*logReq) {
	idx, err := s.writeGroup(batch)
	for i, r := range batch {
		if err != nil {
			r.done <- logResult{err: err}
		} else {
			r.done <- logResult{idx: idx + int64(i)}
		}
	}
}

func (s *Store) writeGroup(batch []*logReq) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrLogClosed
	}
	mark := s.logMark()
	tx, err := s.w.Begin()
	if err != nil {
		return 0, fmt.Errorf("operation log: begin: %w (the operation is refused)", err)
	}
	for _, r := range batch {
		if _, err := s.insertPrepared(tx, r.p); err != nil {
			tx.Rollback()
			s.logUndo(mark)
			return 0, fmt.Errorf("%w (the operation is refused)", err)
		}
	}
	if err := tx.Commit(); err != nil {
		tx.Rollback()
		s.logUndo(mark)
		return 0, fmt.Errorf("operation log: commit: %w (the operation is refused)", err)
	}
	s.gc.groups.Add(1)
	return mark.n, nil
}

// stopLog lets the committer write what is queued, then stops it. Called by Close
// before it takes s.mu.
func (s *Store) stopLog() {
	c := s.gc
	if c == nil {
		return
	}
	c.mu.Lock()
	if !c.closing {
		c.closing = true
		close(c.wake)
	}
	c.mu.Unlock()
	<-c.stopped
}
