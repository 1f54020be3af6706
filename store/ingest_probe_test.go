package store

import (
	"bytes"
	"context"
	"testing"
)

// TestProbeIsReported: a sender's notifications for one person rejected again and
// again under the file's rules (a binary search on 異動年月日, say) give an
// ingest.probe entry with the person's code keyed, which audit lookup finds; rejections
// under rules that need no look-up, or for different persons, do not.
func TestProbeIsReported(t *testing.T) {
	s := openTemp(t)
	mustApply(t, s, person(1).with("birth", "1961-07-23"), person(2))
	ctx := context.Background()
	send := func(operator string, ns ...any) {
		t.Helper()
		if _, err := s.Ingest(ctx, bytes.NewReader(lines(ns...)), IngestOptions{LogOperator: operator}); err != nil {
			t.Fatal(err)
		}
	}
	probe := func(id, date string) n {
		return change(1, id, "住民票コード変更", "new_resident_code", "12000000002", "changed_on", date, "notified_on", "2026-06-01")
	}
	before := s.LogSize()
	send("admin", probe("q1", "1980-01-01"), probe("q2", "1970-01-01")) // changed-before-birth, then duplicate-resident-code
	send("other", probe("q3", "1965-01-01"))                            // another sender: counted apart
	send("admin", person(3).with("sex", 7))                             // bad-sex: needs no look-up
	if got := probeEntries(t, s, before); len(got) != 0 {
		t.Fatalf("reported before the third file-rule rejection: %+v", got)
	}
	send("admin", probe("q4", "1962-01-01"))
	got := probeEntries(t, s, before)
	if len(got) != 1 || got[0].Operator != "admin" || got[0].Detail["rejections"] != float64(ProbeThreshold) {
		t.Fatalf("want one ingest.probe entry of admin's, got %+v", got)
	}
	hits, err := s.Lookup(ctx, "12000000001")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, h := range hits {
		found = found || h.Action == "ingest.probe"
	}
	if !found {
		t.Fatalf("audit lookup of the probed code does not find the ingest.probe entry: %+v", hits)
	}
}

func probeEntries(t *testing.T, s *Store, from int64) []LogEntry {
	t.Helper()
	es, err := s.ReadLog(context.Background(), from, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []LogEntry
	for _, e := range es {
		if e.Action == "ingest.probe" {
			out = append(out, e)
		}
	}
	return out
}

// TestNoOpCodeChangeAsksNothing: a 住民票コード変更 to the code it replaces is refused
// before the file is looked at, for a code in the file or not: the answer is the same.
func TestNoOpCodeChangeAsksNothing(t *testing.T) {
	s := openTemp(t)
	mustApply(t, s, person(1))
	for _, code := range []string{"12000000001", "12000000999"} {
		p := change(1, "x"+code, "住民票コード変更", "resident_code", code, "new_resident_code", code, "changed_on", "2026-06-01", "notified_on", "2026-06-01")
		res := ingest(t, s, p)
		if res.Rejected != 1 || res.Rejections[0].Rule != "duplicate-resident-code" {
			t.Fatalf("%s: %+v", code, res)
		}
	}
}
