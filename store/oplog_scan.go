package store

import (
	"context"
	"fmt"
)

// Reading rows costs more than checking them (go-sqlite3 makes a few cgo calls per
// column), so VerifyLog reads with two queries at once, one for the even indexes and
// one for the odd, each on its own connection and goroutine, and checks them in
// index order on a third.

// scanReaders is the number of queries reading the log at once (indexes modulo it).
const scanReaders = 2

// scanLog feeds the rows from st.n on (below until, if until ≥ 0) to st; each is
// checked, and every checkpoint reached. onEntry, if set, sees the state after each
// entry (tests keep snapshots from it).
func (s *Store) scanLog(ctx context.Context, st *verifyState, until int64, onEntry func(*verifyState)) error {
	stop := make(chan struct{})
	defer close(stop)
	var streams [scanReaders]*rowStream
	for k := range streams {
		streams[k] = s.readRows(ctx, k, st.n, until, stop)
	}
	for {
		if st.n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r, err := streams[st.n%scanReaders].next()
		if err != nil {
			return err
		}
		if r == nil || r.idx != st.n { // a gap, or this stream ended: so must every other
			next := int64(-1)
			if r != nil {
				next = r.idx
			}
			for _, o := range streams {
				p, err := o.peek()
				if err != nil {
					return err
				}
				if p != nil && (next < 0 || p.idx < next) {
					next = p.idx
				}
			}
			if next >= 0 {
				return missing(st.n, next)
			}
			break
		}
		if err := st.feed(r); err != nil {
			return err
		}
		if onEntry != nil {
			onEntry(st)
		}
	}
	if until >= 0 && st.n < until {
		return problem(st.n, "entries %d–%d are missing", st.n, until-1)
	}
	return nil
}

// rowStream is one reader's rows, in batches.
type rowStream struct {
	batches chan []row
	err     chan error
	cur     []row
	pos     int
}

// next returns the stream's next row; nil at its end.
func (rs *rowStream) next() (*row, error) {
	r, err := rs.peek()
	if r != nil {
		rs.pos++
	}
	return r, err
}

// peek returns the stream's next row without taking it; nil at its end.
func (rs *rowStream) peek() (*row, error) {
	for rs.pos == len(rs.cur) {
		b, ok := <-rs.batches
		if !ok {
			select {
			case err := <-rs.err:
				return nil, err
			default:
				return nil, nil
			}
		}
		rs.cur, rs.pos = b, 0
	}
	return &rs.cur[rs.pos], nil
}

// readRows starts reading the rows from index from on (below until, if until ≥ 0)
// whose index is k modulo scanReaders, until stop is closed.
func (s *Store) readRows(ctx context.Context, k int, from, until int64, stop chan struct{}) *rowStream {
	rs := &rowStream{batches: make(chan []row, 4), err: make(chan error, 1)}
	q := `SELECT ` + rowCols + ` FROM oplog WHERE idx >= ? AND idx < ? AND idx % ? = ? ORDER BY idx`
	size := 2048
	if until < 0 {
		until = 1<<63 - 1
	} else {
		size = int(min(max((until-from)/scanReaders, 1), 2048))
	}
	go func() {
		defer close(rs.batches)
		fail := func(err error) { rs.err <- fmt.Errorf("read the operation log: %w", err) }
		// The query's context cannot be cancelled: go-sqlite3 runs each step of a
		// cancellable query through a goroutine of its own, which would halve the
		// rate. The reader stops between batches instead.
		rows, err := s.r.QueryContext(context.WithoutCancel(ctx), q, from, until, scanReaders, k)
		if err != nil {
			fail(err)
			return
		}
		defer rows.Close()
		batch := make([]row, 0, size)
		send := func() bool {
			select {
			case rs.batches <- batch:
				batch = make([]row, 0, size)
				return true
			case <-stop:
				return false
			}
		}
		for rows.Next() {
			batch = append(batch, row{})
			if err := scanRow(rows, &batch[len(batch)-1]); err != nil {
				fail(err)
				return
			}
			if len(batch) == cap(batch) && !send() {
				return
			}
		}
		if err := rows.Err(); err != nil {
			fail(err)
			return
		}
		if len(batch) > 0 {
			send()
		}
	}()
	return rs
}
