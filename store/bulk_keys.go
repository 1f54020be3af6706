package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"

	"jukiterm/store/record"
)

// Bulk searches by 住民票コード or 個人番号 alone go in two passes, each in the order of
// the pages it reads: first every blind index value, sorted, against its index (which
// holds the person ids); then every person id found, sorted, against the table. On a
// file larger than the page cache this reads each page about once, where query order
// would read a random index and table page per query.

// keyOnly tells whether q asks by code or number and nothing else, and which index.
func keyOnly(q *Query) (col, kind, value string, ok bool) {
	if q.Kana != "" || q.Name != "" || q.Birth != "" || q.Sex != 0 || q.Address != "" || q.Municipality != "" {
		return "", "", "", false
	}
	switch {
	case q.Code != "":
		return "code_idx", ixCode, q.Code, true
	case q.Number != "":
		return "number_idx", ixNumber, q.Number, true
	}
	return "", "", "", false
}

// searchByKeys answers the key-only queries of qs inside tx; the answer of qs[i] is
// out[i] (nil for the others, and ok[i] false).
// second, if not nil, is another read transaction seeing the same file, for reading
// rows on the other core.
func searchByKeys(ctx context.Context, tx *sql.Tx, kr *keyring, qs []Query, second *sql.Tx) (out [][]record.Record, ok []bool, err error) {
	type probe struct {
		col   string
		blind []byte
		q     int
	}
	var probes []probe
	ok = make([]bool, len(qs))
	for i := range qs {
		col, kind, value, yes := keyOnly(&qs[i])
		if !yes {
			continue
		}
		ok[i] = true
		for _, b := range kr.blinds(kind, value) {
			probes = append(probes, probe{col, b.([]byte), i})
		}
	}
	out = make([][]record.Record, len(qs))
	if len(probes) == 0 {
		return out, ok, nil
	}
	slices.SortFunc(probes, func(a, b probe) int { return cmp.Or(cmp.Compare(a.col, b.col), bytes.Compare(a.blind, b.blind)) })
	type hit struct {
		id int64
		q  int
	}
	var hits []hit
	stmts := map[string]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	for _, p := range probes {
		st := stmts[p.col]
		if st == nil {
			if st, err = tx.PrepareContext(ctx, `SELECT person_id FROM persons WHERE `+p.col+` = ?`); err != nil {
				return nil, nil, err
			}
			stmts[p.col] = st
		}
		rows, err := st.QueryContext(ctx, p.blind)
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, nil, err
			}
			hits = append(hits, hit{id, p.q})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Compare(a.id, b.id) })
	// The rows: in two halves at once when a second read transaction sees the same
	// file (the same 更新順番号), else all in tx.
	txs := []*sql.Tx{tx}
	if len(hits) >= 1000 && second != nil {
		txs = append(txs, second)
	}
	recs := make([]record.Record, len(hits))
	keep := make([]bool, len(hits))
	errs := make([]error, len(txs))
	var wg sync.WaitGroup
	for w, t := range txs {
		lo, hi := w*len(hits)/len(txs), (w+1)*len(hits)/len(txs)
		wg.Go(func() {
			row, err := t.PrepareContext(ctx, `SELECT person_id, update_seq, data FROM persons WHERE person_id = ?`)
			if err != nil {
				errs[w] = err
				return
			}
			defer row.Close()
			for i := lo; i < hi; i++ {
				r, err := kr.scanPerson("persons", row.QueryRowContext(ctx, hits[i].id))
				if err != nil {
					errs[w] = err
					return
				}
				recs[i], keep[i] = r, qs[hits[i].q].match(&r)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	for i, h := range hits {
		if keep[i] {
			out[h.q] = append(out[h.q], recs[i])
		}
	}
	for i := range out {
		sortRecords(out[i])
		if len(out[i]) > qs[i].Limit {
			out[i] = out[i][:qs[i].Limit]
		}
	}
	return out, ok, nil
}
