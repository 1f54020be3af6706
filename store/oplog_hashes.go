package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// frontier holds, for each level of the tree, the hash of the last complete subtree
// at that level (its index at the level in k, -1 when none yet). tlog reads nothing
// else to store a new record's hashes or to hash the whole tree, so appends and
// verification keep O(log n) hashes in memory.
type frontier struct {
	k [64]int64
	h [64]tlog.Hash
}

func newFrontier() frontier {
	var f frontier
	for i := range f.k {
		f.k[i] = -1
	}
	return f
}

// add records the hashes tlog.StoredHashes returned for record idx: level l's is
// the subtree idx>>l.
func (f *frontier) add(idx int64, hs []tlog.Hash) {
	for l, h := range hs {
		f.k[l], f.h[l] = idx>>l, h
	}
}

// ReadHashes implements tlog.HashReader for the hashes the frontier holds.
func (f *frontier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		l, k := tlog.SplitStoredHashIndex(x)
		if l >= len(f.k) || f.k[l] != k {
			return nil, fmt.Errorf("operation log: tree hash (level %d, %d) is not at the tree's edge", l, k)
		}
		out[i] = f.h[l]
	}
	return out, nil
}

// queryer is a *sql.DB, *sql.Conn or *sql.Tx.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// dbHashes reads stored tree hashes from the oplog rows: the hash of subtree k at
// level l is stored with the subtree's last record, (k+1)<<l - 1, at position l.
type dbHashes struct {
	ctx context.Context
	q   queryer
}

func (r dbHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		l, k := tlog.SplitStoredHashIndex(x)
		rec := (k+1)<<l - 1
		var hs []byte
		err := r.q.QueryRowContext(r.ctx, `SELECT hashes FROM oplog WHERE idx = ?`, rec).Scan(&hs)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: entry %d, which holds a tree hash, is missing (run jukiterm audit verify)", ErrLogTampered, rec)
		}
		if err != nil {
			return nil, fmt.Errorf("read tree hashes of entry %d: %w", rec, err)
		}
		if len(hs) < (l+1)*tlog.HashSize {
			return nil, fmt.Errorf("%w: entry %d holds %d bytes of tree hashes, too few (run jukiterm audit verify)", ErrLogTampered, rec, len(hs))
		}
		copy(out[i][:], hs[l*tlog.HashSize:])
	}
	return out, nil
}

// loadFrontier reads the frontier of a tree of n records from the stored hashes.
func loadFrontier(ctx context.Context, q queryer, n int64) (frontier, error) {
	f := newFrontier()
	var idx []int64
	var lv []int
	for l := 0; l < 63 && n>>l > 0; l++ {
		idx = append(idx, tlog.StoredHashIndex(l, n>>l-1))
		lv = append(lv, l)
	}
	hs, err := dbHashes{ctx, q}.ReadHashes(idx)
	if err != nil {
		return f, err
	}
	for i, l := range lv {
		f.k[l], f.h[l] = n>>l-1, hs[i]
	}
	return f, nil
}
