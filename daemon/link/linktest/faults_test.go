package linktest

import (
	"context"
	"fmt"
	"testing"

	"jukiterm/daemon/link"
	"jukiterm/hwsim/cssim"
)

// TestLinksSurviveBrokenLines: 20 trials in which the CS's line and the national
// server's line break at random points, several times each: every notification is
// applied exactly once (resends are duplicates or covered by the Resume), the CS's
// outcomes add up, and the national server holds every update once, in order.
func TestLinksSurviveBrokenLines(t *testing.T) {
	for trial := range 20 {
		t.Run(fmt.Sprint(trial), func(t *testing.T) {
			p := NewParty(t, "cs-052019")
			w := Start(t, link.Pin{Name: "cs-052019", Role: link.RoleCS, Municipality: "052019", SPKISHA256: p.SPKI()})
			csCut := NewCutter(t, w.CSAddr, 4, 60_000, uint64(trial))
			natCut := NewCutter(t, w.NatAddr, 4, 60_000, uint64(trial)+1000)
			w.SenderVia(t, natCut.Addr)
			lines := cssim.CSLines(uint64(trial), "052019", "052027", 600, 25)
			applied, byRule := lines.Expected()
			res, err := w.CSVia(t, "052019", p, csCut.Addr).Run(context.Background(), lines.Lines)
			if err != nil {
				t.Fatal(err)
			}
			// Each line has one answer: an outcome, or the Resume's cover after a cut.
			if got := res.Applied + res.Rejected + res.Duplicates + res.Unanswered; got != len(lines.Lines) {
				t.Fatalf("%+v: %d answers for %d lines", res, got, len(lines.Lines))
			}
			if res.Applied > applied || res.Rejected > len(lines.Lines)-applied || res.Duplicates != 0 {
				t.Fatalf("%+v, want at most %d applied, no duplicates", res, applied)
			}
			for rule, n := range res.ByRule {
				if n > byRule[rule] {
					t.Fatalf("%d rejected under %s, want at most %d", n, rule, byRule[rule])
				}
			}
			if last, _ := w.Store.CSLastSeq(context.Background(), "052019"); last != uint64(len(lines.Lines)) {
				t.Fatalf("the link reached %d", last)
			}
			waitDelivered(t, w, applied)
			if res.Connections < 2 || w.Sim.Stats().Connections < 2 {
				t.Fatalf("the lines did not break: CS %d connections, national %d", res.Connections, w.Sim.Stats().Connections)
			}
		})
	}
}
