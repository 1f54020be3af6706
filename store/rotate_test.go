package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"jukiterm/hwsim/synth"
	"jukiterm/store/record"
)

func keysFrom(seed string) *Keys {
	k, err := NewKeys(func(p string) []byte { h := sha256.Sum256([]byte(seed + p)); return h[:] })
	if err != nil {
		panic(err)
	}
	return k
}

// rotationFixture loads residents, changes (with history and a changed 住民票コード)
// and a rejection, and returns the store and the residents.
func rotationFixture(t *testing.T, persons int) (*Store, []record.Notification) {
	t.Helper()
	s := openTemp(t)
	res := synth.Residents(11, persons, record.Akita())
	var b bytes.Buffer
	for _, r := range res {
		b.Write(mustJSON(r))
		b.WriteByte('\n')
	}
	b.WriteString(`{"id": "broken", "name": "秋田`)
	b.WriteByte('\n')
	if _, err := s.Ingest(context.Background(), &b, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, person(1), change(1, "m", "転居", "address", "秋田県秋田市旭北錦町9番9号"),
		change(1, "c", "住民票コード変更", "new_resident_code", "12000000077"))
	return s, res
}

// searchAll looks every resident up by code, number and 4情報 and returns what was
// found, so that two states of the file can be compared.
func searchAll(s *Store, res []record.Notification) (string, error) {
	ctx := context.Background()
	var b bytes.Buffer
	for _, r := range res {
		for _, q := range []Query{{Code: r.ResidentCode}, {Number: *r.MyNumber}, {Kana: *r.NameKana, Birth: *r.Birth}} {
			q.Limit = 100
			got, err := s.Search(ctx, q)
			if err != nil {
				return "", err
			}
			found := false
			for _, g := range got {
				found = found || g.ResidentCode == r.ResidentCode
			}
			if !found {
				return "", fmt.Errorf("%+v did not find %s", q, r.ResidentCode)
			}
			fmt.Fprintln(&b, len(got), got[0].ResidentCode, got[0].Name, got[0].UpdateSeq)
		}
	}
	p, err := s.Get(ctx, "12000000077", true)
	if err != nil {
		return "", err
	}
	if len(p.Versions()) != 2 {
		return "", fmt.Errorf("history of the changed person: %d versions", len(p.Versions()))
	}
	if _, err := s.Get(ctx, "12000000001", false); err == nil || !bytes.Contains([]byte(err.Error()), []byte("changed to 12000000077")) {
		return "", fmt.Errorf("the former code is not recognised: %v", err)
	}
	fmt.Fprintf(&b, "%+v %+v\n", p.Record, p.Versions())
	return b.String(), nil
}

// TestRotationWithConcurrentSearches rotates the file to new keys in small batches
// while searches run without pause; every search finds its person at every moment,
// and afterwards nothing in the file opens or matches under the old keys.
func TestRotationWithConcurrentSearches(t *testing.T) {
	s, res := rotationFixture(t, 400)
	before, err := searchAll(s, res)
	if err != nil {
		t.Fatal(err)
	}
	old := s.keys().cur
	oldBlinds := [][]byte{old.blind(ixCode, "12000000001"), old.check()}
	for _, r := range res {
		oldBlinds = append(oldBlinds, old.blind(ixCode, r.ResidentCode), old.blind(ixNumber, *r.MyNumber), old.blind(ixBirth, *r.Birth))
	}
	defer func(n int) { RotationBatch = n }(RotationBatch)
	RotationBatch = 37

	next := keysFrom("rotated key ")
	var stop atomic.Bool
	var searches atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; !stop.Load(); i = (i + 7) % len(res) {
				r := res[i]
				for _, q := range []Query{{Code: r.ResidentCode, Limit: 5}, {Kana: *r.NameKana, Birth: *r.Birth, Limit: 100}} {
					got, err := s.Search(context.Background(), q)
					found := false
					for _, g := range got {
						found = found || g.ResidentCode == r.ResidentCode && g.Name == *r.Name
					}
					if err != nil || !found {
						errs <- fmt.Errorf("during the rotation, %+v: found=%v err=%v", q, found, err)
						return
					}
					searches.Add(1)
				}
			}
		}()
	}
	var reports []RotationProgress
	if _, err := s.Ingest(context.Background(), bytes.NewReader(lines(person(2))), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	err = s.Rotate(context.Background(), next, func(p RotationProgress) {
		reports = append(reports, p)
		if len(reports) == 3 {
			_, err := s.Ingest(context.Background(), bytes.NewReader(lines(person(3))), IngestOptions{})
			if !errors.Is(err, ErrRotating) {
				errs <- fmt.Errorf("an ingest during the rotation: %v", err)
			}
		}
	})
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if err != nil {
		t.Fatal(err)
	}
	if searches.Load() < 50 {
		t.Errorf("only %d searches ran during the rotation", searches.Load())
	}
	last := reports[len(reports)-1]
	if len(reports) < 10 || last.Done != last.Total || last.Total < 400 {
		t.Fatalf("progress: %d reports, last %+v", len(reports), last)
	}
	if !s.Rotated() || s.Rotating() {
		t.Fatal("the store does not say the rotation finished")
	}
	after, err := searchAll(s, res)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatal("searches after the rotation differ from before it")
	}
	// The file opens under the new keys only; every row opens with them alone.
	s.kr.Store(&keyring{cur: next})
	dump(t, s)
	rows, err := s.w.Query(`SELECT received_at, municipality, id, line, data FROM rejections`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var at, muni, id string
		var line int
		var data []byte
		rows.Scan(&at, &muni, &id, &line, &data)
		if _, err := (&keyring{cur: next}).openRejection(muni, id, line, at, data); err != nil {
			t.Fatalf("a rejection does not open with the new keys: %v", err)
		}
	}
	rows.Close()
	// A resend of an applied notification is still a duplicate, a changed one is not.
	if r := ingest(t, s, person(1)); r.Duplicates != 1 {
		t.Fatalf("a resend after the rotation: %+v", r)
	}
	if r := ingest(t, s, person(1).with("sex", 2)); r.Rejected != 1 || r.Rejections[0].Rule != record.RuleIDReused {
		t.Fatalf("a changed resend after the rotation: %+v", r)
	}
	path := s.Path()
	s.Close()
	var all []byte
	files, _ := filepath.Glob(path + "*")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		all = append(all, b...)
	}
	for i, v := range oldBlinds {
		if j := bytes.Index(all, v); j >= 0 {
			t.Fatalf("a blind index value under the old keys (%d) is still in the files at %d of %d (page %d)", i, j, len(all), j/4096)
		}
	}
	if _, err := Open(path, Options{CacheMiB: cacheMiB, Keys: old}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("the old keys still open the file: %v", err)
	}
	s2, err := Open(path, Options{CacheMiB: cacheMiB, Keys: next})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if again, err := searchAll(s2, res); err != nil || again != before {
		t.Fatalf("searches after reopening: %v", err)
	}
}

// TestRotationResumes stops a rotation half-way; the file reopened with both keys
// serves searches and continues the rotation to the end. A file whose rotation
// finished opens with the key file's new key alone and says so.
func TestRotationResumes(t *testing.T) {
	s, res := rotationFixture(t, 300)
	before, err := searchAll(s, res)
	if err != nil {
		t.Fatal(err)
	}
	defer func(n int) { RotationBatch = n }(RotationBatch)
	RotationBatch = 50
	old, next := s.keys().cur, keysFrom("next key ")
	ctx, cancel := context.WithCancel(context.Background())
	err = s.Rotate(ctx, next, func(p RotationProgress) {
		if p.Done >= 150 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the stopped rotation: %v", err)
	}
	path := s.Path()
	s.Close()
	if _, err := Open(path, Options{CacheMiB: cacheMiB, Keys: old}); !errors.Is(err, ErrRotationKey) {
		t.Fatalf("open without the new key during a rotation: %v", err)
	}
	s, err = Open(path, Options{CacheMiB: cacheMiB, Keys: old, NextKeys: next})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Rotating() {
		t.Fatal("the reopened file does not say a rotation is under way")
	}
	if mid, err := searchAll(s, res); err != nil || mid != before {
		t.Fatalf("searches half-way: %v", err)
	}
	var first RotationProgress
	if err := s.Rotate(context.Background(), next, func(p RotationProgress) {
		if first.Total == 0 {
			first = p
		}
	}); err != nil {
		t.Fatal(err)
	}
	if first.Done < 150+50 {
		t.Fatalf("the continued rotation started again from the start: %+v", first)
	}
	s.Close()
	s, err = Open(path, Options{CacheMiB: cacheMiB, Keys: old, NextKeys: next})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Rotated() || s.Rotating() {
		t.Fatal("a file rotated before the key file dropped its old key is not recognised")
	}
	if after, err := searchAll(s, res); err != nil || after != before {
		t.Fatalf("searches after: %v", err)
	}
}

// TestRotationWaitsForIngest: a rotation cannot begin while an ingest runs, and
// changes nothing when refused.
func TestRotationWaitsForIngest(t *testing.T) {
	s := openTemp(t)
	next := keysFrom("during ingest ")
	var refused error
	_, err := s.Ingest(context.Background(), bytes.NewReader(lines(person(1), person(2), person(3))), IngestOptions{
		BatchSize: 1,
		Committed: func(int, *IngestResult) {
			if refused == nil {
				refused = s.BeginRotation(next)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(refused, ErrIngestRunning) || s.Rotating() {
		t.Fatalf("a rotation began during an ingest: %v", refused)
	}
	if to, _ := s.metaValue("rotation_to"); to != nil {
		t.Fatal("the refused rotation left its mark in the file")
	}
	if err := s.Rotate(context.Background(), next, nil); err != nil {
		t.Fatalf("the rotation after the ingest: %v", err)
	}
}
