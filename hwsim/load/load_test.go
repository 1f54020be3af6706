package load

import (
	"bytes"
	"context"
	"testing"

	"jukiterm/hwsim/synth"
	"jukiterm/store"
)

func TestDemoHasAnExampleWithHistory(t *testing.T) {
	db := t.TempDir() + "/jukiterm.db"
	if err := store.Create(db); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(db, store.Options{CacheMiB: 16, Keys: store.EphemeralKeys()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	code, err := Demo(context.Background(), st, 2000)
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.Get(context.Background(), code, true)
	if err != nil || len(p.Versions()) == 0 || p.Status != "current" {
		t.Fatalf("example %s: %+v %v", code, p, err)
	}
	stats, _ := st.Stats(context.Background())
	if stats.Applied != 2100 || stats.Rejected != 0 {
		t.Fatalf("demo data set: %+v", stats)
	}
}

func TestBenchesRunSmall(t *testing.T) {
	ctx := context.Background()
	f, err := BenchIngest(ctx, t.TempDir(), 3000, 1)
	if err != nil || f.Persons != 3000 || f.PerS <= 0 || f.SQLitePerS <= 0 || f.Ratio != f.PerS/f.SQLitePerS {
		t.Fatalf("ingest figures %+v %v", f, err)
	}
	s, err := BenchSearch(ctx, t.TempDir(), 3000, 100, 1)
	if err != nil || s.Queries != 100 || s.Code.P99 < s.Code.P50 || s.Kana4.P50 <= 0 {
		t.Fatalf("search figures %+v %v", s, err)
	}
	r, err := BenchRotate(ctx, t.TempDir(), 3000, 1)
	if err != nil || r.Rows != 6000 || r.PerS <= 0 || r.SQLiteSeconds <= 0 || r.Searches == 0 || r.SearchMissed != 0 {
		t.Fatalf("rotate figures %+v %v", r, err)
	}
	p, err := BenchProvision(ctx, t.TempDir(), 3000, 2000, 1)
	if err != nil || p.Queries != 2000 || p.Matched+p.NotFound < 2000 || p.NotFound < 150 || p.Bytes == 0 || p.Total < p.Search || p.Ratio <= 0 {
		t.Fatalf("provision figures %+v %v", p, err)
	}
}

// Changes generated against the demo data set apply to a store loaded with it: none
// is rejected (none names an unknown person), and a resend counts as a duplicate.
func TestDemoStreamAppliesToTheDemo(t *testing.T) {
	db := t.TempDir() + "/jukiterm.db"
	if err := store.Create(db); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(db, store.Options{CacheMiB: 16, Keys: store.EphemeralKeys()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := Demo(context.Background(), st, 2000); err != nil {
		t.Fatal(err)
	}
	s := DemoStream(2000, st.Prefecture(), synth.StreamOptions{})
	var buf bytes.Buffer
	for range 3000 {
		buf.Write(s.Next().Line)
		buf.WriteByte('\n')
	}
	res, err := st.Ingest(context.Background(), &buf, store.IngestOptions{})
	if err != nil || res.Rejected != 0 || res.Applied < 2900 {
		t.Fatalf("changes against the demo: %d applied, %d duplicates, %d rejected (first: %+v) %v",
			res.Applied, res.Duplicates, res.Rejected, res.Rejections[:min(1, len(res.Rejections))], err)
	}
}
