package store

import (
	"context"
	"errors"
	"testing"
)

// TestVerifyNamesMissingEntries deletes entries in the middle and at the end of a log
// and checks the exact report: the missing entries, and the next one stored.
func TestVerifyNamesMissingEntries(t *testing.T) {
	clk := newClock()
	s := openLogStore(t, clk)
	noSync(t, s)
	appendEntries(t, s, 0, 100)
	exported := checkpoint(t, s)
	clean := snapshot(t, s)
	for _, c := range []struct {
		name    string
		del     []int64
		from    []byte
		want    string
		idx, to int64
	}{
		{"one in the middle", []int64{60}, exported,
			"the operation log was altered: entry 60: the entry is missing (the next stored entry is 61)", 60, 60},
		{"one in the middle, odd", []int64{61}, exported,
			"the operation log was altered: entry 61: the entry is missing (the next stored entry is 62)", 61, 61},
		{"two consecutive", []int64{60, 61}, exported,
			"the operation log was altered: entries 60–61: the entries are missing (the next stored entry is 62)", 60, 61},
		{"two apart", []int64{60, 62}, exported,
			"the operation log was altered: entry 60: the entry is missing (the next stored entry is 61)", 60, 60},
		{"the last", []int64{99}, exported,
			"the operation log was altered: entry 99: the entry is missing: the log ends at 99 entries but the exported checkpoint covers 100 (entries were removed from the end, or the file was rolled back)", 99, 99},
		{"the last two", []int64{98, 99}, exported,
			"the operation log was altered: entries 98–99: the entries are missing: the log ends at 98 entries but the exported checkpoint covers 100 (entries were removed from the end, or the file was rolled back)", 98, 99},
		{"the last two, recorded checkpoint only", []int64{98, 99}, nil,
			"the operation log was altered: entries 98–99: the entries are missing: the log ends at 98 entries but a recorded checkpoint covers 100 (entries were removed from the end, or the file was rolled back)", 98, 99},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !clean.write(t, s) {
				t.Fatal("restore the clean log")
			}
			if c.from != nil { // an intruder removes the recorded checkpoints too
				if _, err := s.w.Exec(`DELETE FROM oplog_checkpoints`); err != nil {
					t.Fatal(err)
				}
			}
			for _, i := range c.del {
				if _, err := s.w.Exec(`DELETE FROM oplog WHERE idx = ?`, i); err != nil {
					t.Fatal(err)
				}
				if _, err := s.w.Exec(`DELETE FROM oplog_lookup WHERE idx = ?`, i); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := s.VerifyLog(context.Background(), testSigner.Verifier(), c.from)
			var p *LogProblem
			if !errors.As(err, &p) {
				t.Fatalf("deleted %v: verify says %v", c.del, err)
			}
			if err.Error() != c.want || p.Index != c.idx || p.Through != c.to {
				t.Fatalf("deleted %v: got %q (%d–%d), want %q (%d–%d)", c.del, err, p.Index, p.Through, c.want, c.idx, c.to)
			}
			if rep.Problem == nil || rep.Problem.Index != c.idx {
				t.Fatalf("the report's problem: %+v", rep.Problem)
			}
		})
	}
}
