package daemon

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/daemon/client"
)

// TestDenialFloodIsBounded: calls without a session are denied, and only the first
// few are logged one by one; the rest are counted in access.limited entries, so
// whoever can open the socket cannot fill the operation log.
func TestDenialFloodIsBounded(t *testing.T) {
	every := SignInRefusalEvery
	SignInRefusalEvery = 300 * time.Millisecond
	t.Cleanup(func() { SignInRefusalEvery = every })
	f := start(t)
	cl := client.New(f.socket)
	cl.Token = "not-a-token"
	before := f.st.LogSize()
	const calls = 300
	began := time.Now()
	for i := 0; i < calls; i++ {
		_, err := cl.Stats(context.Background())
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Kind != api.KindSignIn {
			t.Fatalf("call %d without a session: %v", i, err)
		}
	}
	elapsed := time.Since(began)
	waitSummaries(t, f, before, "access.limited") // the window ends: the last summary is written
	es, err := f.st.ReadLog(context.Background(), before, 1000)
	if err != nil {
		t.Fatal(err)
	}
	denied, summarised := 0, 0
	for _, e := range es {
		switch e.Action {
		case "access.denied":
			denied++
		case "access.limited":
			if e.Operator != uidName(os.Getuid()) {
				t.Fatalf("summary: %+v", e)
			}
			summarised += int(e.Detail["refused"].(float64))
		default:
			t.Fatalf("unexpected entry %+v", e)
		}
	}
	if most := SignInRefusalBurst + int(elapsed/SignInRefusalEvery) + 1; denied > most {
		t.Fatalf("%d denials logged one by one in %s, want at most %d", denied, elapsed, most)
	}
	if denied+summarised != calls || summarised == 0 {
		t.Fatalf("%d logged, %d summarised: want %d in all", denied, summarised, calls)
	}
}

// waitSummaries waits (polling, at most 20 s) until the log from index from holds an
// entry of action and no summary has been added for a while: the timer that writes a
// window's summary may run late on a loaded machine.
func waitSummaries(t *testing.T, f *fixture, from int64, action string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last, stable := -1, 0
	for time.Now().Before(deadline) {
		time.Sleep(2 * SignInRefusalEvery)
		es, err := f.st.ReadLog(context.Background(), from, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range es {
			if e.Action == action {
				n++
			}
		}
		if n > 0 && n == last {
			if stable++; stable >= 2 {
				return
			}
		} else {
			stable = 0
		}
		last = n
	}
	t.Fatalf("no %s entry settled within 20 s", action)
}
