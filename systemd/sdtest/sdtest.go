// Package sdtest helps tests stand in for systemd: a notify socket that collects what
// a daemon tells the service manager.
package sdtest

import (
	"net"
	"path/filepath"
	"testing"
	"time"
)

// NotifySocket listens on a unixgram socket in a temporary directory, points
// NOTIFY_SOCKET at it, and returns the channel of messages received.
func NotifySocket(t testing.TB) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	ch := make(chan string, 1000)
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(ch)
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return ch
}

// Next returns the next message, failing the test after 30 s of silence.
func Next(t testing.TB, ch <-chan string) string {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("nothing reached the notify socket in 30 s")
		return ""
	}
}

// Count counts the messages equal to msg that arrive within d.
func Count(ch <-chan string, d time.Duration, msg string) int {
	n := 0
	end := time.After(d)
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				return n
			}
			if m == msg {
				n++
			}
		case <-end:
			return n
		}
	}
}
