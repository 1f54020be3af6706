package store

import (
	"context"
	"testing"
)

// TestProveConsistency proves each recorded checkpoint consistent with each later one,
// with the roots the checkpoints signed, and refuses a wrong root.
func TestProveConsistency(t *testing.T) {
	clk := newClock()
	s := openLogStore(t, clk)
	noSync(t, s)
	var cps []Checkpoint
	for _, n := range []int{1, 6, 7, 31, 64, 100} {
		appendEntries(t, s, int(s.LogSize()), n-int(s.LogSize()))
		c, err := OpenCheckpoint(checkpoint(t, s), testSigner.Verifier())
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, c)
	}
	ctx := context.Background()
	for i, old := range cps {
		for _, new := range cps[i:] {
			p, err := s.ProveConsistency(ctx, old.Size, new.Size)
			if err != nil {
				t.Fatal(err)
			}
			if p.OldRoot != old.Root || p.NewRoot != new.Root {
				t.Fatalf("%d→%d: the roots are not the signed ones", old.Size, new.Size)
			}
			if err := CheckConsistency(p, old, new); err != nil {
				t.Fatal(err)
			}
			if old.Size < new.Size {
				bad := new
				bad.Root[0] ^= 1
				if CheckConsistency(p, old, bad) == nil {
					t.Fatalf("%d→%d: a changed root passes", old.Size, new.Size)
				}
			}
		}
	}
	for _, c := range [][2]int64{{0, 5}, {6, 5}, {5, 101}} {
		if _, err := s.ProveConsistency(ctx, c[0], c[1]); err == nil {
			t.Errorf("%v: no error", c)
		}
	}
	p, err := s.ProveInclusion(ctx, 40, 64)
	if err != nil {
		t.Fatal(err)
	}
	if p.Root != cps[4].Root || CheckInclusion(p, p.Root) != nil {
		t.Fatal("the inclusion proof's root is not the checkpoint's")
	}
}
