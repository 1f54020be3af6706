package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jukiterm/hwsim/testlogs"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDiskAlarm: free space falling below the threshold raises the alarm once, and
// its return clears it.
func TestDiskAlarm(t *testing.T) {
	var free atomic.Uint64
	free.Store(50 << 30)
	const total = 100 << 30 // threshold: min(10 GiB, 2 GiB) = 2 GiB
	var out lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	log := slog.New(slog.NewTextHandler(testlogs.Writer(t, &out), nil))
	go func() {
		watchSpace(ctx, "/x", 5*time.Millisecond, func(string) (uint64, uint64, error) { return free.Load(), total, nil }, log)
		close(done)
	}()
	wait := func(what string, n int) {
		t.Helper()
		for i := 0; strings.Count(out.String(), what) < n; i++ {
			if i > 400 {
				t.Fatalf("no %q:\n%s", what, out.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	time.Sleep(30 * time.Millisecond)
	if strings.Contains(out.String(), "DISK SPACE LOW") {
		t.Fatal("an alarm with 50 GiB free")
	}
	free.Store(1 << 30)
	wait("DISK SPACE LOW", 1)
	time.Sleep(30 * time.Millisecond)
	if strings.Count(out.String(), "DISK SPACE LOW") != 1 {
		t.Fatal("the alarm repeats every check")
	}
	free.Store(3 << 30)
	wait("disk space is sufficient again", 1)
	cancel()
	<-done
}
