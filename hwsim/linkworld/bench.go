package linkworld

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"jukiterm/daemon/link"
	"jukiterm/daemon/link/linkpb"
	"jukiterm/daemon/link/national"
	"jukiterm/hwsim/cssim"
	"jukiterm/hwsim/load"
	"jukiterm/store"
)

// LinkFigures compare notifications received over CS links with the same notifications
// ingested from a file, in the same run, and give the national delivery's lag.
type LinkFigures struct {
	Notifications int     `json:"notifications"`
	CS            int     `json:"cs"`
	LinkPerS      float64 `json:"link_per_s"`
	IngestPerS    float64 `json:"ingest_per_s"`
	Ratio         float64 `json:"ratio"` // link / ingest
	LinkSeconds   float64 `json:"link_seconds"`
	IngestSeconds float64 `json:"ingest_seconds"`
	// The national delivery's lag: from the Ack a CS got for an applied notification to
	// the national simulator keeping its update.
	LagP50ms float64 `json:"lag_p50_ms"`
	LagP99ms float64 `json:"lag_p99_ms"`
	LagMaxms float64 `json:"lag_max_ms"`
}

var benchMunicipalities = []string{"052019", "052027", "052035", "052043", "052060", "052078", "052094", "052108"}

// BenchLinks sends n new persons' 転入 from cs CS at once (n/cs each) over the links of
// a fresh identity file in dir, with the national sender delivering meanwhile; then
// ingests the same notifications from a file into another fresh file. Both timed from
// the first line to the last outcome durable.
func BenchLinks(ctx context.Context, dir string, n, cs int, seed uint64) (LinkFigures, error) {
	f := LinkFigures{Notifications: n, CS: cs}
	if cs < 1 || cs > len(benchMunicipalities) {
		return f, fmt.Errorf("between 1 and %d CS", len(benchMunicipalities))
	}
	per := n / cs
	f.Notifications = per * cs
	lines := make([][][]byte, cs)
	var file bytes.Buffer
	for i := range cs {
		lines[i] = cssim.CSLines(seed+uint64(i), benchMunicipalities[i], benchMunicipalities[(i+1)%len(benchMunicipalities)], per, 0).Lines
		for _, l := range lines[i] {
			file.Write(l)
			file.WriteByte('\n')
		}
	}
	keys := store.EphemeralKeys()

	// The file ingest, the reference.
	idir := filepath.Join(dir, "ingest")
	if err := os.MkdirAll(idir, 0o700); err != nil {
		return f, err
	}
	ist, err := openFresh(idir, keys)
	if err != nil {
		return f, err
	}
	start := time.Now()
	res, err := ist.Ingest(ctx, bytes.NewReader(file.Bytes()), store.IngestOptions{BatchSize: load.BenchBatch})
	f.IngestSeconds = time.Since(start).Seconds()
	ist.Close()
	if err != nil {
		return f, err
	}
	if res.Applied != f.Notifications {
		return f, fmt.Errorf("the ingest applied %d of %d", res.Applied, f.Notifications)
	}

	// The links.
	ldir := filepath.Join(dir, "links")
	if err := os.MkdirAll(ldir, 0o700); err != nil {
		return f, err
	}
	lst, err := openFresh(ldir, keys)
	if err != nil {
		return f, err
	}
	defer lst.Close()
	parties := make([]Party, cs)
	var pins []link.Pin
	for i := range cs {
		if parties[i], err = NewParty("cs-" + benchMunicipalities[i]); err != nil {
			return f, err
		}
		pins = append(pins, link.Pin{Name: "cs-" + benchMunicipalities[i], Role: link.RoleCS, Municipality: benchMunicipalities[i], SPKISHA256: parties[i].SPKI()})
	}
	w, err := Start(lst, ldir, pins...)
	if err != nil {
		return f, err
	}
	defer w.Close()
	var mu sync.Mutex
	acked := map[int64]time.Time{}
	var lags []time.Duration
	kept := make(chan struct{}, f.Notifications)
	w.Sim.OnUpdate = func(seq int64) {
		now := time.Now()
		mu.Lock()
		if t, ok := acked[seq]; ok {
			lags = append(lags, now.Sub(t))
		} else {
			acked[seq] = now // kept before its Ack reached the CS: a lag of 0
			lags = append(lags, 0)
		}
		mu.Unlock()
		kept <- struct{}{}
	}
	w.Sender("", national.Sender{Poll: 2 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second})
	var wg sync.WaitGroup
	errs := make(chan error, cs)
	start = time.Now()
	for i := range cs {
		sim, err := w.CS(benchMunicipalities[i], parties[i])
		if err != nil {
			return f, err
		}
		sim.OnAck = func(a *linkpb.Ack) {
			if a.GetOutcome() != linkpb.Outcome_APPLIED {
				return
			}
			now := time.Now()
			mu.Lock()
			if _, ok := acked[int64(a.GetUpdateSeq())]; !ok {
				acked[int64(a.GetUpdateSeq())] = now
			}
			mu.Unlock()
		}
		wg.Go(func() {
			r, err := sim.Run(ctx, lines[i])
			if err == nil && r.Applied != len(lines[i]) {
				err = fmt.Errorf("CS %s: %d of %d applied", sim.Municipality, r.Applied, len(lines[i]))
			}
			errs <- err
		})
	}
	wg.Wait()
	f.LinkSeconds = time.Since(start).Seconds()
	close(errs)
	for err := range errs {
		if err != nil {
			return f, err
		}
	}
	for range f.Notifications {
		select {
		case <-kept:
		case <-time.After(time.Minute):
			return f, fmt.Errorf("the national simulator did not receive every update")
		}
	}
	f.LinkPerS = float64(f.Notifications) / f.LinkSeconds
	f.IngestPerS = float64(f.Notifications) / f.IngestSeconds
	f.Ratio = f.LinkPerS / f.IngestPerS
	mu.Lock()
	slices.Sort(lags)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	f.LagP50ms, f.LagP99ms, f.LagMaxms = ms(lags[len(lags)/2]), ms(lags[len(lags)*99/100]), ms(lags[len(lags)-1])
	mu.Unlock()
	return f, nil
}

// openFresh creates and opens a new identity file in dir.
func openFresh(dir string, keys *store.Keys) (*store.Store, error) {
	db := filepath.Join(dir, "jukiterm.db")
	if err := store.Create(db); err != nil {
		return nil, err
	}
	return store.Open(db, store.Options{Keys: keys})
}
