package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkLogAppend: durable appends through Log by concurrent callers (group
// commit); b.N entries in all. entries/txn is the mean group size.
func BenchmarkLogAppend(b *testing.B) {
	for _, callers := range []int{16, 32, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			s := openTemp(b)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range callers {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
						if _, err := s.Log(context.Background(), BenchEntry(int(i))); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			b.ReportMetric(float64(b.N)/float64(s.gc.groups.Load()), "entries/txn")
		})
	}
}

// BenchmarkVerifyLog: VerifyLog of a log of b.N entries (built first, not timed);
// ns/op is the time per entry, so 10 million entries take ns/op × 10⁷.
func BenchmarkVerifyLog(b *testing.B) {
	s := openTemp(b)
	for n := 0; n < b.N; n += 10000 {
		batch := make([]Entry, min(10000, b.N-n))
		for i := range batch {
			batch[i] = BenchEntry(n + i)
		}
		if _, err := s.LogBatch(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	rep, err := s.VerifyLog(context.Background(), nil, nil)
	if err != nil || rep.Entries != int64(b.N) {
		b.Fatalf("%+v %v", rep, err)
	}
}

// TestBenchOplog runs the whole benchmark small, so that it keeps working.
func TestBenchOplog(t *testing.T) {
	f, err := BenchOplog(context.Background(), t.TempDir(), 2000, 16, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if f.VerifyEntries != 5000 || f.PerS <= 0 || f.SQLitePerS <= 0 || f.PerGroup < 1 {
		t.Fatalf("%+v", f)
	}
	t.Logf("%+v", f)
}
