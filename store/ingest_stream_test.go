package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"

	"jukiterm/hwsim/synth"
)

// A 200 MB line is rejected as over-long after reading it in bounded memory, and its
// rejection keeps only its first bytes; the lines around it are applied.
func TestOverlongLineStreamed(t *testing.T) {
	s := openTemp(t)
	const size = 200 << 20
	in := io.MultiReader(bytes.NewReader(lines(person(1))), strings.NewReader(`{"id":"huge","note":"`), synth.LongLine(size),
		bytes.NewReader(lines(person(2))))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := s.Ingest(context.Background(), in, IngestOptions{})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 2 || res.Rejected != 1 || res.Rejections[0].Line != 2 || res.Rejections[0].Rule != "bad-format" ||
		!strings.Contains(res.Rejections[0].Message, "longer than 64 KiB") {
		t.Fatalf("result: %+v", res)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Fatalf("the ingest of a %d MB line allocated %d MB: the line was held", size>>20, alloc>>20)
	}
	var stored int
	if err := s.w.QueryRow(`SELECT length(data) FROM rejections WHERE line = 2`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored > 1024 {
		t.Fatalf("the rejection of the over-long line keeps %d bytes of it", stored)
	}
}

// A line of exactly the longest length, with CR LF, is not over-long.
func TestLongestLineWithCRLF(t *testing.T) {
	s := openTemp(t)
	p := string(lines(person(1).with("address", "秋田市")))
	p = strings.TrimSuffix(p, "}\n") + `,"district_code":"` + strings.Repeat("1", 65536-len(p)-len(`,"district_code":""`)+1) + "\"}\r\n"
	if len(p) != 65536+2 {
		t.Fatalf("built a line of %d bytes", len(p))
	}
	res := ingest(t, s, strings.TrimSuffix(p, "\n"))
	if res.Rejected != 1 || strings.Contains(res.Rejections[0].Message, "KiB") {
		t.Fatalf("a line of 64 KiB with CR LF: %+v", res) // rejected, but for its district code
	}
}

// The input is hashed as it is read: a file that is not the one its Source names is
// refused at the end, what was applied stays, and that ingest is never resumed.
func TestSourceMismatch(t *testing.T) {
	s := openTemp(t)
	data := lines(person(1), person(2), person(3))
	res, err := s.Ingest(context.Background(), bytes.NewReader(data), IngestOptions{BatchSize: 1, Source: SourceOf([]byte("another file"))})
	if !errors.Is(err, ErrSourceMismatch) || res.Applied != 3 {
		t.Fatalf("mismatch: %+v %v", res, err)
	}
	var unfinished int
	s.w.QueryRow(`SELECT count(*) FROM ingests WHERE finished_at IS NULL`).Scan(&unfinished)
	if unfinished != 0 {
		t.Fatal("a run whose file did not match is left to be resumed")
	}
	res, err = s.Ingest(context.Background(), bytes.NewReader(data), IngestOptions{Source: SourceOf(data)})
	if err != nil || res.ResumedAfterLine != 0 || res.Duplicates != 3 {
		t.Fatalf("the right file afterwards: %+v %v", res, err)
	}
}

// A sender that names an interrupted ingest's file but sends other lines takes nothing
// over: nothing of its input is applied, and the real file still resumes.
func TestResumeChecksTheDurableLines(t *testing.T) {
	s := openTemp(t)
	var ns []any
	for i := 1; i <= 20; i++ {
		ns = append(ns, person(i))
	}
	data := lines(ns...)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := s.Ingest(ctx, bytes.NewReader(data), IngestOptions{BatchSize: 5, Source: SourceOf(data),
		Committed: func(lines int, _ *IngestResult) {
			if lines >= 10 {
				cancel()
			}
		}})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatal(err)
	}
	forged := append(lines(person(1).with("id", "forged", "resident_code", "12000000999", "my_number", myNumber("45000000999"))), data[bytes.IndexByte(data, '\n')+1:]...)
	forged = append(forged, lines(person(99))...)
	res, err := s.Ingest(context.Background(), bytes.NewReader(forged), IngestOptions{Source: SourceOf(data)})
	if !errors.Is(err, ErrResumeMismatch) || res.Applied != 0 || res.Rejected != 0 {
		t.Fatalf("forged resume: %+v %v", res, err)
	}
	if _, err := s.Get(context.Background(), "12000000099", false); err == nil {
		t.Fatal("a line after the forged prefix was applied")
	}
	res, err = s.Ingest(context.Background(), bytes.NewReader(data), IngestOptions{Source: SourceOf(data)})
	if err != nil || res.ResumedAfterLine != 10 || res.Applied != 20 {
		t.Fatalf("the real file after the forgery: %+v %v", res, err)
	}
}

// failingReader gives data, then an error, as a broken upload does.
type failingReader struct{ r io.Reader }

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

// An upload that breaks off stops after the last durable batch, as an interruption
// does: what is durable stays and the same file resumes after it.
func TestBrokenUploadResumes(t *testing.T) {
	s := openTemp(t)
	var ns []any
	for i := 1; i <= 12; i++ {
		ns = append(ns, person(i))
	}
	data := lines(ns...)
	cut := bytes.Index(data, []byte(`"t-8"`)) // inside line 8
	res, err := s.Ingest(context.Background(), &failingReader{bytes.NewReader(data[:cut])}, IngestOptions{BatchSize: 5, Source: SourceOf(data)})
	if !errors.Is(err, ErrReadFailed) || res.Applied != 5 {
		t.Fatalf("broken upload: %+v %v", res, err)
	}
	res, err = s.Ingest(context.Background(), bytes.NewReader(data), IngestOptions{BatchSize: 5, Source: SourceOf(data)})
	if err != nil || res.ResumedAfterLine != 5 || res.Applied != 12 {
		t.Fatalf("sent again: %+v %v", res, err)
	}
}

// Every ingest batch is logged under its operator with the codes of every line,
// applied or rejected, keyed: audit lookup finds a probe by 住民票コード and by 個人番号,
// even in a line that does not parse, and in a batch with more codes than one entry
// holds.
func TestIngestLoggedWithKeyedCodes(t *testing.T) {
	s := openTemp(t)
	mustApply(t, s, person(1))
	probe := change(1, "p", "住民票コード変更", "new_resident_code", "12000000555", "changed_on", "1868-01-01", "notified_on", "1868-01-01")
	guess := person(2).with("my_number", person(1)["my_number"])
	var ns []any
	ns = append(ns, probe, guess, `{"resident_code":"12000000777","oops":1}`)
	for i := 10; i < 700; i++ {
		ns = append(ns, person(i))
	}
	res, err := s.Ingest(context.Background(), bytes.NewReader(lines(ns...)), IngestOptions{LogOperator: "admin"})
	if err != nil || res.Rejected != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	for _, c := range []struct{ value, field string }{{"12000000001", "resident_code"}, {"12000000555", "new_resident_code"},
		{person(1)["my_number"].(string), "my_number"}, {"12000000002", "resident_code"}, {"12000000777", "resident_code"},
		{"12000000699", "resident_code"}, {person(699)["my_number"].(string), "my_number"}} {
		hits, err := s.Lookup(context.Background(), c.value)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, h := range hits {
			if h.Operator == "admin" && (h.Action == "ingest.batch" || h.Action == "ingest.keys") && slices.Contains(h.Fields, c.field) {
				found = true
			}
		}
		if !found {
			t.Errorf("audit lookup of a %s ingested by admin: %+v", c.field, hits)
		}
	}
}
