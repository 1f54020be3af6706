package store

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"jukiterm/hwsim/synth"
	"jukiterm/store/record"
)

// bulkFile ingests n synthetic residents and returns the store and their notifications.
func bulkFile(t testing.TB, n int) (*Store, []record.Notification) {
	t.Helper()
	var buf bytes.Buffer
	var ns []record.Notification
	synth.EachResident(1, n, record.Akita(), func(_ int, x record.Notification) {
		ns = append(ns, x)
		buf.Write(mustJSON(x))
		buf.WriteByte('\n')
	})
	s := openTemp(t)
	if res, err := s.Ingest(context.Background(), &buf, IngestOptions{}); err != nil || res.Applied != n {
		t.Fatalf("%+v %v", res, err)
	}
	return s, ns
}

// bulkQueries asks for every resident by code, number and kana + birth in turn, and
// for some codes nobody has.
func bulkQueries(t testing.TB, ns []record.Notification) []Query {
	t.Helper()
	var qs []Query
	for i, x := range ns {
		var q Query
		switch i % 4 {
		case 0:
			q = Query{Code: x.ResidentCode}
		case 1:
			q = Query{Number: *x.MyNumber}
		case 2:
			q = Query{Kana: *x.NameKana, Birth: *x.Birth}
		case 3:
			q = Query{Code: fmt.Sprintf("%011d", 99000000000+i)} // unknown (check digit aside)
		}
		q.Limit = 100
		if err := q.Normalize(record.Akita()); err != nil {
			q = Query{Code: x.ResidentCode, Limit: 100}
			if err := q.Normalize(record.Akita()); err != nil {
				t.Fatal(err)
			}
		}
		qs = append(qs, q)
	}
	return qs
}

// TestSearchManyAgreesWithSearch: each bulk answer is what Search answers alone.
func TestSearchManyAgreesWithSearch(t *testing.T) {
	s, ns := bulkFile(t, 2500) // enough hits for the rows to be read on two connections
	qs := bulkQueries(t, ns)
	ctx := context.Background()
	found := 0
	seq, err := s.SearchMany(ctx, qs, func(i int, recs []record.Record) error {
		want, err := s.Search(ctx, qs[i])
		if err != nil {
			return err
		}
		if (len(want) > 0 || len(recs) > 0) && string(mustJSON(want)) != string(mustJSON(recs)) {
			return fmt.Errorf("query %d: bulk %d records, alone %d", i, len(recs), len(want))
		}
		if len(recs) > 0 {
			found++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seq != 2500 || found < 1800 {
		t.Fatalf("high-water %d, %d queries found someone", seq, found)
	}
}

// BenchmarkSearchMany: b.N queries (mixed kinds) against a file of 100,000 persons.
func BenchmarkSearchMany(b *testing.B) {
	s, ns := bulkFile(b, 100000)
	qs := bulkQueries(b, ns)
	for len(qs) < b.N {
		qs = append(qs, qs...)
	}
	qs = qs[:b.N]
	b.ResetTimer()
	if _, err := s.SearchMany(context.Background(), qs, func(int, []record.Record) error { return nil }); err != nil {
		b.Fatal(err)
	}
}

// TestSearchManyDuringRotation: a key rotation re-encrypts every row while a bulk
// search is half-way (inside its callback), without waiting for it; the search still
// finds every person, from the snapshot it began with; the rotation ends (truncating
// the WAL) once the search is over.
func TestSearchManyDuringRotation(t *testing.T) {
	s, res := rotationFixture(t, 1200)
	var qs []Query
	for _, r := range res {
		q := Query{Code: r.ResidentCode, Limit: 5}
		if err := q.Normalize(record.Akita()); err != nil {
			t.Fatal(err)
		}
		qs = append(qs, q)
	}
	defer func(n int) { RotationBatch = n }(RotationBatch)
	RotationBatch = 37
	rotated := make(chan error, 1)
	allDone := make(chan struct{})
	found := 0
	_, err := s.SearchMany(context.Background(), qs, func(i int, recs []record.Record) error {
		if i == 10 {
			var once sync.Once
			go func() {
				rotated <- s.Rotate(context.Background(), keysFrom("rotated during a bulk search "), func(p RotationProgress) {
					if p.Done >= p.Total {
						once.Do(func() { close(allDone) })
					}
				})
			}()
			select {
			case <-allDone:
			case err := <-rotated:
				return fmt.Errorf("the rotation ended early: %v", err)
			case <-time.After(30 * time.Second):
				return fmt.Errorf("the rotation waited for the bulk search")
			}
		}
		if len(recs) == 1 && recs[0].ResidentCode == qs[i].Code {
			found++
		}
		return nil
	})
	if err != nil || found != len(qs) {
		t.Fatalf("found %d of %d: %v", found, len(qs), err)
	}
	if err := <-rotated; err != nil {
		t.Fatalf("the rotation: %v", err)
	}
	if got, err := s.Search(context.Background(), qs[0]); err != nil || len(got) != 1 {
		t.Fatalf("a search after the rotation: %v %v", got, err)
	}
}
