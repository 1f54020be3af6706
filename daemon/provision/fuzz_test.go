package provision

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzParseRequest: ParseRequest never panics; a refusal is a RequestError with at
// most MaxProblems problems; what it accepts is a set of searches the store accepts
// unchanged, and writes back as a request that reads as the same queries.
func FuzzParseRequest(f *testing.F) {
	for _, dir := range []string{"request.good", "request.bad"} {
		for _, name := range corpus(f, dir) {
			b, _ := os.ReadFile(name)
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		const maxRows = 20
		qs, err := ParseRequest(bytes.NewReader(in), maxRows)
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) || qs != nil || len(re.Problems) == 0 || len(re.Problems) > MaxProblems {
				t.Fatalf("refusal %T %v with %d queries", err, err, len(qs))
			}
			return
		}
		if len(qs) == 0 || len(qs) > maxRows {
			t.Fatalf("%d queries accepted", len(qs))
		}
		for _, q := range qs {
			sq := q.StoreQuery()
			before := sq
			if err := sq.Normalize(nil); err != nil {
				t.Fatalf("%v refused by the store: %v", q, err)
			}
			sq.Limit = 0
			if sq != before {
				t.Fatalf("%v not in the stored form", q)
			}
		}
		roundTrip(t, qs)
	})
}
