package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"maps"

	"slices"
)

// findLookupProblem finds the first entry whose lookup rows differ from its HMACs,
// once VerifyLog's multiset check has shown that some do (a slow pass, run only then).
func (s *Store) findLookupProblem(ctx context.Context) error {
	index := map[int64][][]byte{}
	rows, err := s.r.QueryContext(ctx, `SELECT mac, idx FROM oplog_lookup`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var mac []byte
		var idx int64
		if err := rows.Scan(&mac, &idx); err != nil {
			rows.Close()
			return err
		}
		index[idx] = append(index[idx], mac)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = s.r.QueryContext(ctx, `SELECT idx, macs FROM oplog ORDER BY idx`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		var macs []byte
		if err := rows.Scan(&idx, &macs); err != nil {
			return err
		}
		have := index[idx]
		delete(index, idx)
		slices.SortFunc(have, bytes.Compare)
		if !bytes.Equal(bytes.Join(have, nil), macs) || len(have)*sha256.Size != len(macs) {
			return problem(idx, "the lookup index does not hold exactly the entry's HMACs (audit lookup would miss or invent it)")
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(index) > 0 {
		first := slices.Min(slices.Collect(maps.Keys(index)))
		return problem(first, "the lookup index names an entry that does not exist")
	}
	return problem(0, "the lookup index does not match the entries' HMACs")
}
