package load

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"jukiterm/hwsim/synth"
	"jukiterm/store"
	"jukiterm/store/record"
)

// BenchBatch is the transaction size of both the ingest and its baseline.
const BenchBatch = 1000

// IngestFigures compare the whole ingest path with bare SQLite writing the same rows.
type IngestFigures struct {
	Persons       int     `json:"persons"`
	PerS          float64 `json:"per_s"`
	SQLitePerS    float64 `json:"sqlite_per_s"`
	Ratio         float64 `json:"ratio"`
	Seconds       float64 `json:"seconds"`
	SQLiteSeconds float64 `json:"sqlite_seconds"`
	Batch         int     `json:"batch"`
}

// BenchIngest ingests n synthetic new persons into a fresh store in dir through the
// whole path (read, parse, check, look up, write, commit), and has bare SQLite write
// the same rows into a fresh database with the same schema, indexes, pragmas and
// batch size. The notification file is written first and not timed.
func BenchIngest(ctx context.Context, dir string, n int, seed uint64) (IngestFigures, error) {
	f := IngestFigures{Persons: n, Batch: BenchBatch}
	p := record.Akita()
	file := filepath.Join(dir, "residents.jsonl")
	out, err := os.Create(file)
	if err != nil {
		return f, err
	}
	if err := WriteResidents(out, seed, n, p); err != nil {
		out.Close()
		return f, err
	}
	if err := out.Close(); err != nil {
		return f, err
	}
	keys := store.EphemeralKeys()
	rows := bareRows(keys, seed, n, p)
	syscall.Sync()
	bare, err := store.BareInsert(filepath.Join(dir, "bare.db"), rows, BenchBatch)
	if err != nil {
		return f, fmt.Errorf("baseline: %w", err)
	}
	rows = nil
	syscall.Sync() // start the timed ingest with no writeback of the baseline pending
	st, err := freshStore(dir, keys)
	if err != nil {
		return f, err
	}
	defer st.Close()
	in, err := os.Open(file)
	if err != nil {
		return f, err
	}
	defer in.Close()
	start := time.Now()
	res, err := st.Ingest(ctx, in, store.IngestOptions{BatchSize: BenchBatch})
	ours := time.Since(start)
	if err != nil {
		return f, err
	}
	if res.Applied != n {
		return f, fmt.Errorf("ingest applied %d of %d (rejected %d)", res.Applied, n, res.Rejected)
	}
	f.Seconds, f.SQLiteSeconds = ours.Seconds(), bare.Seconds()
	f.PerS, f.SQLitePerS = float64(n)/f.Seconds, float64(n)/f.SQLiteSeconds
	f.Ratio = f.PerS / f.SQLitePerS
	return f, nil
}

// freshStore creates and opens a new identity file in dir.
func freshStore(dir string, keys *store.Keys) (*store.Store, error) {
	db := filepath.Join(dir, "jukiterm.db")
	if err := store.Create(db); err != nil {
		return nil, err
	}
	return store.Open(db, store.Options{Keys: keys})
}

// bareRows builds the rows an ingest of the synthetic residents writes.
func bareRows(keys *store.Keys, seed uint64, n int, p *record.Prefecture) []store.BareRow {
	recs := make([]record.Record, 0, n)
	canon := make([][]byte, 0, n)
	ids := make([]string, 0, n)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	synth.EachResident(seed, n, p, func(i int, nt record.Notification) {
		canon = append(canon, nt.Canonical())
		record.Check(&nt, p)
		r := record.Apply(record.Record{}, &nt)
		r.UpdateSeq, r.OperatorID, r.TerminalID, r.Timestamp = int64(i+1), "system", "terminal", now
		recs = append(recs, r)
		ids = append(ids, nt.ID)
	})
	return store.BareRows(keys, recs, canon, ids)
}

// Latency is a distribution of one kind of search, in milliseconds.
type Latency struct {
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
}

// SearchFigures are in-process search latencies over a loaded file.
type SearchFigures struct {
	Persons int     `json:"persons"`
	Queries int     `json:"queries"`
	Code    Latency `json:"code"`
	Number  Latency `json:"number"`
	Kana4   Latency `json:"kana4"`
}

// BenchSearch loads n synthetic residents into a fresh store in dir, then times
// queries searches of each kind (by code, by number, by kana name + birth date: 4情報)
// for residents drawn at random, in process, including the query's normalisation.
func BenchSearch(ctx context.Context, dir string, n, queries int, seed uint64) (SearchFigures, error) {
	f := SearchFigures{Persons: n, Queries: queries}
	st, err := freshStore(dir, store.EphemeralKeys())
	if err != nil {
		return f, err
	}
	defer st.Close()
	if _, err := Residents(ctx, st, seed, n); err != nil {
		return f, err
	}
	r := rand.New(rand.NewPCG(seed, 1))
	want := map[int]bool{}
	for len(want) < min(queries, n) {
		want[r.IntN(n)] = true
	}
	var sample []record.Notification
	synth.EachResident(seed, n, st.Prefecture(), func(i int, nt record.Notification) {
		if want[i] {
			sample = append(sample, nt)
		}
	})
	r.Shuffle(len(sample), func(i, j int) { sample[i], sample[j] = sample[j], sample[i] })
	kinds := []struct {
		lat *Latency
		q   func(nt record.Notification) store.Query
	}{
		{&f.Code, func(nt record.Notification) store.Query { return store.Query{Code: nt.ResidentCode} }},
		{&f.Number, func(nt record.Notification) store.Query { return store.Query{Number: *nt.MyNumber} }},
		{&f.Kana4, func(nt record.Notification) store.Query { return store.Query{Kana: *nt.NameKana, Birth: *nt.Birth} }},
	}
	for _, k := range kinds {
		times := make([]time.Duration, 0, len(sample))
		for _, nt := range sample {
			start := time.Now()
			q := k.q(nt)
			if err := q.Normalize(st.Prefecture()); err != nil {
				return f, err
			}
			got, err := st.Search(ctx, q)
			times = append(times, time.Since(start))
			if err != nil {
				return f, err
			}
			if len(got) == 0 {
				return f, fmt.Errorf("search %+v found nobody", q)
			}
		}
		*k.lat = percentiles(times)
	}
	return f, nil
}

func percentiles(ts []time.Duration) Latency {
	slices.Sort(ts)
	at := func(p float64) float64 {
		i := min(len(ts)-1, int(p*float64(len(ts))))
		return float64(ts[i].Microseconds()) / 1000
	}
	return Latency{P50: at(0.50), P99: at(0.99)}
}
