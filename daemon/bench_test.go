package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"jukiterm/store"
)

// BenchmarkSearchOverSocket: a search by 住民票コード through the local API, including
// the session check and the durable operation-log entry it waits for; one caller.
func BenchmarkSearchOverSocket(b *testing.B) {
	f := start(b)
	data := residents(b, 2000)
	if _, err := f.cl.Ingest(context.Background(), data, nil); err != nil {
		b.Fatal(err)
	}
	var codes []string
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var n struct {
			ResidentCode string `json:"resident_code"`
		}
		json.Unmarshal(line, &n)
		codes = append(codes, n.ResidentCode)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := f.cl.Search(context.Background(), store.Query{Code: codes[i%len(codes)], Limit: 5}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
