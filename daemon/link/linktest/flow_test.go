package linktest

import (
	"context"
	"sync"
	"testing"
	"time"

	"jukiterm/daemon/link"
	"jukiterm/hwsim/cssim"
)

// TestThreeCSToNational: three CS send at once, a twentieth of their notifications
// invalid; each gets exactly the expected outcomes by rule; the national simulator
// ends with exactly the applied updates, in 更新順番号 order, without gaps or
// duplicates; the outbox is empty.
func TestThreeCSToNational(t *testing.T) {
	munis := []string{"052019", "052027", "052035"}
	parties := map[string]Party{}
	var pins []link.Pin
	for _, m := range munis {
		parties[m] = NewParty(t, "cs-"+m)
		pins = append(pins, link.Pin{Name: "cs-" + m, Role: link.RoleCS, Municipality: m, SPKISHA256: parties[m].SPKI()})
	}
	w := Start(t, pins...)
	w.Sender(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	total := 0
	for i, m := range munis {
		lines := cssim.CSLines(uint64(100+i), m, munis[(i+1)%3], 2000, 20)
		applied, byRule := lines.Expected()
		total += applied
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := w.CS(t, m, parties[m]).Run(ctx, lines.Lines)
			if err != nil {
				t.Errorf("CS %s: %v", m, err)
				return
			}
			if res.Applied != applied || res.Rejected != len(lines.Lines)-applied || res.Duplicates != 0 {
				t.Errorf("CS %s: %+v, want %d applied", m, res, applied)
			}
			for rule, n := range byRule {
				if res.ByRule[rule] != n {
					t.Errorf("CS %s: %d rejected under %s, want %d (%v)", m, res.ByRule[rule], rule, n, res.ByRule)
				}
			}
		}()
	}
	wg.Wait()
	waitDelivered(t, w, total)
}

func waitDelivered(t *testing.T, w *World, total int) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := w.Store.Outbox(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Backlog == 0 && w.Sim.Stats().Received == int64(total) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered: outbox %+v, national %+v, want %d", st, w.Sim.Stats(), total)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got, err := w.Sim.Received(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, seq := range got {
		if seq != int64(i+1) {
			t.Fatalf("the national server holds 更新順番号 %d at place %d: a gap or a stranger", seq, i)
		}
	}
	if st := w.Sim.Stats(); st.Gaps != 0 || st.OutOfOrder != 0 {
		t.Fatalf("national simulator: %+v", st)
	}
}
