package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// An ingest stopped by its context resumes after its last durable line when the same
// file comes again, and reports the whole file; a finished file again starts afresh.
func TestResumeInterruptedIngest(t *testing.T) {
	s := openTemp(t)
	var ns []any
	for i := 1; i <= 30; i++ {
		ns = append(ns, person(i))
	}
	ns[4] = person(1).with("id", "again") // line 5: entering-current-resident
	ns[24] = "{broken"                    // line 25: bad-format
	data := lines(ns...)
	ctx, cancel := context.WithCancel(context.Background())
	o := IngestOptions{BatchSize: 10, Source: SourceOf(data), Committed: func(lines int, _ *IngestResult) {
		if lines >= 10 {
			cancel()
		}
	}}
	res, err := s.Ingest(ctx, bytes.NewReader(data), o)
	if !errors.Is(err, ErrInterrupted) || res.Applied != 9 || res.Rejected != 1 {
		t.Fatalf("interrupted ingest: %+v, %v", res, err)
	}
	o.Committed = nil
	res, err = s.Ingest(context.Background(), bytes.NewReader(data), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedAfterLine != 10 || res.Applied != 28 || res.Rejected != 2 || res.Duplicates != 0 ||
		len(res.Rejections) != 2 || res.Rejections[0].Line != 5 || res.Rejections[1].Line != 25 {
		t.Fatalf("resumed ingest: %+v", res)
	}
	res, err = s.Ingest(context.Background(), bytes.NewReader(data), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedAfterLine != 0 || res.Applied != 0 || res.Duplicates != 28 || res.Rejected != 2 {
		t.Fatalf("the finished file again: %+v", res)
	}
}

func TestSameFileTwiceAtOnceRefused(t *testing.T) {
	s := openTemp(t)
	data := lines(person(1), person(2))
	var inner error
	_, err := s.Ingest(context.Background(), bytes.NewReader(data), IngestOptions{BatchSize: 1, Source: SourceOf(data),
		Committed: func(int, *IngestResult) {
			if inner == nil {
				_, inner = s.Ingest(context.Background(), bytes.NewReader(data), IngestOptions{Source: SourceOf(data)})
			}
		}})
	if err != nil || !errors.Is(inner, ErrBusy) {
		t.Fatalf("outer %v, inner %v", err, inner)
	}
	res, err := s.Ingest(context.Background(), bytes.NewReader(data), IngestOptions{Source: SourceOf(data)})
	if err != nil || res.Duplicates != 2 {
		t.Fatalf("after the first finished: %+v %v", res, err)
	}
}
