package store

import (
	"bytes"
	"context"
	"testing"

	"jukiterm/hwsim/synth"
	"jukiterm/store/record"
)

// streamFile returns residents then a labelled stream as one JSON Lines file, with the
// label of every line (1-based; "" valid, "duplicate", or a rule id).
func streamFile(seed uint64, residents, items int, invalid float64) ([]byte, []string) {
	p := record.Akita()
	var b bytes.Buffer
	labels := []string{""}
	res := synth.Residents(seed, residents, p)
	for _, r := range res {
		b.Write(mustJSON(r))
		b.WriteByte('\n')
		labels = append(labels, "")
	}
	s := synth.NewStream(seed, res, p, synth.StreamOptions{Invalid: invalid})
	for range items {
		it := s.Next()
		b.Write(it.Line)
		b.WriteByte('\n')
		l := it.Rule
		if it.Duplicate {
			l = "duplicate"
		}
		labels = append(labels, l)
	}
	return b.Bytes(), labels
}

// TestGeneratedStream ingests the generator's labelled stream through SQLite: every
// invalid notification is rejected with exactly its labelled rule, every duplicate is
// counted, every valid one applied.
func TestGeneratedStream(t *testing.T) {
	data, labels := streamFile(7, 2000, 12000, 0.2)
	s := openTemp(t)
	res, err := s.Ingest(context.Background(), bytes.NewReader(data), IngestOptions{BatchSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	rejected := map[int]string{}
	for _, r := range res.Rejections {
		rejected[r.Line] = r.Rule
	}
	want := IngestResult{}
	seen := map[string]bool{}
	for line := 1; line < len(labels); line++ {
		switch l := labels[line]; l {
		case "":
			want.Applied++
		case "duplicate":
			want.Duplicates++
		default:
			want.Rejected++
			seen[l] = true
			if rejected[line] != l {
				t.Errorf("line %d: labelled %s, store said %q", line, l, rejected[line])
			}
		}
	}
	if res.Applied != want.Applied || res.Duplicates != want.Duplicates || res.Rejected != want.Rejected {
		t.Fatalf("got applied %d dup %d rejected %d, want %d %d %d", res.Applied, res.Duplicates, res.Rejected,
			want.Applied, want.Duplicates, want.Rejected)
	}
	for _, id := range record.RuleIDs {
		if !seen[id] {
			t.Errorf("the stream produced no %s", id)
		}
	}
	if ic, err := s.IntegrityCheck(); err != nil || ic != "ok" {
		t.Fatalf("integrity_check: %q %v", ic, err)
	}
}
