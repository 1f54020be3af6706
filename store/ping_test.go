package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"jukiterm/systemd"
	"jukiterm/systemd/sdtest"
)

func TestPingSeesAWedgedWriter(t *testing.T) {
	s := openTemp(t)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock() // a write that never ends
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := s.Ping(ctx)
	s.mu.Unlock()
	if !errors.Is(err, ErrWedged) {
		t.Fatalf("Ping with the writer held: %v", err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping once free again: %v", err)
	}
}

// TestWatchdogStopsWhenWriterWedged: the daemon's watchdog, driven by Ping, stops
// pinging while the writer is held (a wedged main loop) and resumes after.
func TestWatchdogStopsWhenWriterWedged(t *testing.T) {
	s := openTemp(t)
	ch := sdtest.NotifySocket(t)
	t.Setenv("WATCHDOG_USEC", "200000")
	t.Setenv("WATCHDOG_PID", fmt.Sprint(os.Getpid()))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go systemd.Watchdog(ctx, s.Ping)
	pings := func(d time.Duration) int { return sdtest.Count(ch, d, "WATCHDOG=1") }
	if n := pings(time.Second); n < 5 {
		t.Fatalf("%d pings in a second while healthy", n)
	}
	s.mu.Lock()
	pings(250 * time.Millisecond) // a check under way when the writer was taken may still pass
	n := pings(time.Second)
	s.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d pings while the writer was wedged", n)
	}
	if n := pings(time.Second); n == 0 {
		t.Fatal("no pings once the writer was free again")
	}
}
