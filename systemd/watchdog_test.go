package systemd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"jukiterm/systemd/sdtest"
)

// TestWatchdogStopsWhenWedged: pings come while the health check passes and stop
// while it blocks (a wedged main loop), with STATUS saying why.
func TestWatchdogStopsWhenWedged(t *testing.T) {
	ch := sdtest.NotifySocket(t)
	t.Setenv("WATCHDOG_USEC", "100000") // 100 ms: pings every 50 ms
	t.Setenv("WATCHDOG_PID", fmt.Sprint(os.Getpid()))
	var wedged atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Watchdog(ctx, func(ctx context.Context) error {
		if wedged.Load() {
			<-ctx.Done()
			return errors.New("the main loop did not answer")
		}
		return nil
	})
	if n := sdtest.Count(ch, 500*time.Millisecond, "WATCHDOG=1"); n < 5 {
		t.Fatalf("%d pings in 500 ms while healthy, want about 10", n)
	}
	wedged.Store(true)
	time.Sleep(120 * time.Millisecond) // let a ping already under way arrive
	for len(ch) > 0 {
		<-ch
	}
	var status bool
	end := time.After(500 * time.Millisecond)
	for done := false; !done; {
		select {
		case m := <-ch:
			if m == "WATCHDOG=1" {
				t.Fatal("a wedged daemon still pinged the watchdog")
			}
			status = status || strings.HasPrefix(m, "STATUS=unhealthy")
		case <-end:
			done = true
		}
	}
	if !status {
		t.Fatal("no STATUS line said why the pings stopped")
	}
	wedged.Store(false)
	if n := sdtest.Count(ch, 300*time.Millisecond, "WATCHDOG=1"); n == 0 {
		t.Fatal("pings did not resume once healthy")
	}
}

func TestNoWatchdogReturns(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "")
	done := make(chan struct{})
	go func() { Watchdog(context.Background(), nil); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Watchdog without WATCHDOG_USEC did not return")
	}
}
