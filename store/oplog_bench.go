package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// OplogFigures are the operation log's benchmark figures (docs/BENCHMARKS.md).
type OplogFigures struct {
	Entries       int     `json:"entries"`
	Callers       int     `json:"callers"`
	PerS          float64 `json:"per_s"`           // durable appends a second through Log
	PerGroup      float64 `json:"entries_per_txn"` // entries a group-commit transaction
	SQLitePerS    float64 `json:"sqlite_per_s"`    // bare SQLite, same rows, same transaction size
	Ratio         float64 `json:"ratio"`
	VerifyEntries int64   `json:"verify_entries"`
	VerifySeconds float64 `json:"verify_seconds"`
	Verify10M     float64 `json:"verify_10m_seconds_estimate"`
}

// BenchEntry is entry i of the benchmarks' synthetic log: searches, views and
// sign-ins, the searches and views naming a resident code.
func BenchEntry(i int) Entry {
	switch i % 4 {
	case 0:
		return Entry{Operator: "op01", Action: "search", Detail: map[string]any{"by": "resident_code", "found": 1, "application": "A-2026-0042"},
			Keyed: []Keyed{{"resident_code", fmt.Sprintf("%011d", 12000000000+i%500000)}}}
	case 1:
		return Entry{Operator: "op01", Action: "view", Detail: map[string]any{"person": i % 500000},
			Keyed: []Keyed{{"resident_code", fmt.Sprintf("%011d", 12000000000+i%500000)}}}
	case 2:
		return Entry{Operator: "op02", Action: "search", Detail: map[string]any{"by": "kana_birth", "found": 2, "application": "A-2026-0042"},
			Keyed: []Keyed{{"kana_name", "アキタタロウ"}, {"birth", "1990-01-15"}}}
	}
	return Entry{Operator: "op02", Action: "signin.success", Detail: map[string]any{"slot": 3}}
}

// BenchOplog measures durable appends through Log by callers concurrent callers
// (entries in all) into a fresh identity file in dir, then bare SQLite inserting the
// very rows they wrote, with one fsync per transaction of the same mean size; then,
// after extending the log to verifyEntries entries (in batches, not timed), VerifyLog
// of the whole log.
func BenchOplog(ctx context.Context, dir string, entries, callers int, verifyEntries int64) (OplogFigures, error) {
	f := OplogFigures{Entries: entries, Callers: callers}
	path := filepath.Join(dir, "oplog.db")
	if err := Create(path); err != nil {
		return f, err
	}
	s, err := Open(path, Options{Keys: EphemeralKeys()})
	if err != nil {
		return f, err
	}
	defer s.Close()
	syscall.Sync()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	start := time.Now()
	for range callers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(entries) {
					return
				}
				if _, err := s.Log(ctx, BenchEntry(int(i))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return f, err
	}
	groups := s.gc.groups.Load()
	f.PerS, f.PerGroup = float64(entries)/took.Seconds(), float64(entries)/float64(groups)
	bare, err := bareOplog(s, filepath.Join(dir, "bare.db"), max(1, int(math.Round(f.PerGroup))))
	if err != nil {
		return f, fmt.Errorf("baseline: %w", err)
	}
	f.SQLitePerS = float64(entries) / bare.Seconds()
	f.Ratio = f.PerS / f.SQLitePerS
	for n := s.LogSize(); n < verifyEntries; n = s.LogSize() {
		batch := make([]Entry, min(10000, verifyEntries-n))
		for i := range batch {
			batch[i] = BenchEntry(int(n) + i)
		}
		if _, err := s.LogBatch(ctx, batch); err != nil {
			return f, err
		}
	}
	if _, err := s.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return f, err
	}
	start = time.Now()
	rep, err := s.VerifyLog(ctx, nil, nil)
	if err != nil {
		return f, err
	}
	f.VerifyEntries, f.VerifySeconds = rep.Entries, time.Since(start).Seconds()
	f.Verify10M = f.VerifySeconds * 1e7 / float64(rep.Entries)
	return f, nil
}

// bareOplog inserts the rows s's log holds (entries and lookup rows) into a fresh
// database at path with the same schema and pragmas, batch entries a transaction
// (each committed, so fsynced, on its own), with prepared statements and nothing
// else; it returns the time the inserts took.
func bareOplog(s *Store, path string, batch int) (time.Duration, error) {
	type entry struct {
		vals []any
		macs [][]byte
	}
	rows, err := s.r.Query(`SELECT ` + rowCols + ` FROM oplog ORDER BY idx`)
	if err != nil {
		return 0, err
	}
	var es []entry
	for rows.Next() {
		var r row
		if err := scanRow(rows, &r); err != nil {
			rows.Close()
			return 0, err
		}
		e := entry{vals: []any{r.idx, r.at, r.operator, r.action, r.payload, r.macs, r.digest, r.hashes}}
		for i := 0; i+32 <= len(r.macs); i += 32 {
			e.macs = append(e.macs, r.macs[i:i+32])
		}
		es = append(es, e)
	}
	rows.Close()
	if err := Create(path); err != nil {
		return 0, err
	}
	p := Pragmas(256)
	p.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite3", dsn(path, p))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	syscall.Sync()
	start := time.Now()
	for i := 0; i < len(es); i += batch {
		tx, err := db.Begin()
		if err != nil {
			return 0, err
		}
		ins, _ := tx.Prepare(insertEntry)
		look, _ := tx.Prepare(insertLookup)
		for _, e := range es[i:min(i+batch, len(es))] {
			if _, err := ins.Exec(e.vals...); err != nil {
				tx.Rollback()
				return 0, err
			}
			for _, m := range e.macs {
				if _, err := look.Exec(m, e.vals[0]); err != nil {
					tx.Rollback()
					return 0, err
				}
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
