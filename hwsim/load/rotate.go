package load

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"jukiterm/hwsim/synth"
	"jukiterm/store"
	"jukiterm/store/record"
)

// RotateFigures time a storage key rotation of a loaded file, against bare SQLite
// rewriting the same rows, and the searches that ran meanwhile.
type RotateFigures struct {
	Persons       int     `json:"persons"`
	Rows          int64   `json:"rows"`
	Seconds       float64 `json:"seconds"`
	PerS          float64 `json:"rows_per_s"`
	SQLiteSeconds float64 `json:"sqlite_seconds"`
	Ratio         float64 `json:"ratio"`
	Batch         int     `json:"batch"`
	Searches      int     `json:"searches_during"`
	SearchMissed  int     `json:"searches_missed"`
	Search        Latency `json:"search_during"`
}

// BenchRotate loads n synthetic residents into a fresh store in dir (not timed), then
// rotates it to new keys while one goroutine searches by 住民票コード without pause.
// The baseline rewrites the same rows of a copy of the file with the same new values.
func BenchRotate(ctx context.Context, dir string, n int, seed uint64) (RotateFigures, error) {
	f := RotateFigures{Persons: n, Batch: store.RotationBatch}
	old, next := store.EphemeralKeys(), store.EphemeralKeys()
	st, err := freshStore(dir, old)
	if err != nil {
		return f, err
	}
	if _, err := Residents(ctx, st, seed, n); err != nil {
		st.Close()
		return f, err
	}
	path := st.Path()
	if err := st.Close(); err != nil {
		return f, err
	}
	bare := filepath.Join(dir, "bare.db")
	if err := copyFile(path, bare); err != nil {
		return f, err
	}
	rows := bareRows(next, seed, n, record.Akita())
	syscall.Sync()
	took, err := store.BareUpdate(bare, rows, store.RotationBatch)
	if err != nil {
		return f, fmt.Errorf("baseline: %w", err)
	}
	rows = nil
	var codes []string
	synth.EachResident(seed, n, record.Akita(), func(_ int, nt record.Notification) { codes = append(codes, nt.ResidentCode) })
	syscall.Sync()
	if st, err = store.Open(path, store.Options{Keys: old}); err != nil {
		return f, err
	}
	defer st.Close()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var lat []time.Duration
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(seed, 2))
		for {
			select {
			case <-stop:
				return
			default:
			}
			code := codes[r.IntN(len(codes))]
			t := time.Now()
			got, err := st.Search(ctx, store.Query{Code: code, Limit: 5})
			lat = append(lat, time.Since(t))
			if err != nil || len(got) != 1 {
				f.SearchMissed++
			}
		}
	}()
	start := time.Now()
	err = st.Rotate(ctx, next, func(p store.RotationProgress) { f.Rows = p.Total })
	ours := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		return f, err
	}
	f.Seconds, f.SQLiteSeconds = ours.Seconds(), took.Seconds()
	f.PerS = float64(f.Rows) / f.Seconds
	f.Ratio = f.SQLiteSeconds / f.Seconds
	if f.Searches = len(lat); f.Searches > 0 {
		f.Search = percentiles(lat)
	}
	return f, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
