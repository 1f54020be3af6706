package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"jukiterm/store/record"
)

// SearchMany runs normalised queries against one snapshot of the file (one read
// transaction) and calls fn with each query's records, in order; fn's error stops it.
// It returns the snapshot's 更新順番号 (the high-water mark of the changes the answers
// include). Statements are prepared once per query shape.
//
// The keys are held only until the snapshot exists (its first read): rows a key
// rotation re-encrypts afterwards are not in the snapshot, so the keys of its start
// open everything it holds, and a rotation need not wait for a long bulk search.
func (s *Store) SearchMany(ctx context.Context, qs []Query, fn func(i int, recs []record.Record) error) (int64, error) {
	kr, done := s.readKeys()
	release := sync.OnceFunc(done)
	defer release()
	tx, end, err := s.bulkTx(ctx)
	if err != nil {
		return 0, fmt.Errorf("bulk search: %w", err)
	}
	defer end()
	seq, err := snapshotSeq(ctx, tx)
	if err != nil {
		return 0, fmt.Errorf("bulk search: read the 更新順番号: %w", err)
	}
	// A second snapshot of the same state, for reading rows on the other core; taken
	// before the keys are let go, so that no key rotation re-encrypts rows between.
	var tx2 *sql.Tx
	if len(qs) >= 1000 {
		var end2 func()
		if tx2, end2 = s.sameSnapshot(ctx, seq); tx2 != nil {
			defer end2()
		}
	}
	release() // the snapshots are taken
	byKey, isKey, err := searchByKeys(ctx, tx, kr, qs, tx2)
	if err != nil {
		return seq, fmt.Errorf("bulk search: %w", err)
	}
	stmts := map[string]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	var recs []record.Record
	for i := range qs {
		if isKey[i] {
			if err := fn(i, byKey[i]); err != nil {
				return seq, err
			}
			byKey[i] = nil
			continue
		}
		q := &qs[i]
		cond, args := q.where(kr)
		st := stmts[cond]
		if st == nil {
			if st, err = tx.PrepareContext(ctx, `SELECT person_id, update_seq, data FROM persons WHERE `+cond); err != nil {
				return seq, fmt.Errorf("bulk search: %w", err)
			}
			stmts[cond] = st
		}
		recs, err = s.queryWith(ctx, kr, st, q, args, recs[:0])
		if err != nil {
			return seq, fmt.Errorf("bulk search, query %d: %w", i+1, err)
		}
		if err := fn(i, recs); err != nil {
			return seq, err
		}
	}
	return seq, tx.Commit()
}

// sameSnapshot opens another read transaction and keeps it only if it sees the file
// with 更新順番号 seq, as the bulk search's own does (every change of a record moves
// it); nil otherwise.
func (s *Store) sameSnapshot(ctx context.Context, seq int64) (*sql.Tx, func()) {
	tx, end, err := s.bulkTx(ctx)
	if err != nil {
		return nil, nil
	}
	if now, err := snapshotSeq(ctx, tx); err != nil || now != seq {
		end()
		return nil, nil
	}
	return tx, end
}

// snapshotSeq reads the 更新順番号 in tx; the first read of a transaction also fixes
// its snapshot.
func snapshotSeq(ctx context.Context, tx *sql.Tx) (int64, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE name = 'update_seq'), 0)`).Scan(&seq)
	return seq, err
}

// bulkMmap is the memory map a bulk search's connections read through: on a file
// larger than SQLite's page cache, pages are read from the kernel's cache without a
// system call and a copy each.
const bulkMmap = 1 << 31

// bulkTx begins a read transaction on a connection of its own that reads through a
// memory map; end rolls it back and gives the connection back without the map.
func (s *Store) bulkTx(ctx context.Context) (*sql.Tx, func(), error) {
	conn, err := s.r.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA mmap_size = %d`, bulkMmap)); err != nil {
		conn.Close()
		return nil, nil, err
	}
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		conn.ExecContext(context.Background(), `PRAGMA mmap_size = 0`)
		conn.Close()
		return nil, nil, err
	}
	return tx, func() {
		tx.Rollback()
		conn.ExecContext(context.Background(), `PRAGMA mmap_size = 0`)
		conn.Close()
	}, nil
}

// queryWith runs one prepared query and appends its matching records to out, in the
// order Search gives them, at most q.Limit.
func (s *Store) queryWith(ctx context.Context, kr *keyring, st *sql.Stmt, q *Query, args []any, out []record.Record) ([]record.Record, error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := kr.scanPerson("persons", rows)
		if err != nil {
			return out, err
		}
		if q.match(&r) {
			out = append(out, r)
		}
	}
	if err := rows.Err(); err != nil {
		return out, err
	}
	sortRecords(out)
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}
