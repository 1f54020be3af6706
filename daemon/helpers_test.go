package daemon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"jukiterm/hwsim/testlogs"
	"jukiterm/store"
)

// testLogger is the logger of a test's Server: text lines to w (io.Discard when the
// test does not read them), and to the test run's collection when JUKITERM_TEST_LOGS
// is set, which `make test` scans for personal values.
func testLogger(t testing.TB, w io.Writer, opts *slog.HandlerOptions) *slog.Logger {
	return slog.New(slog.NewTextHandler(testlogs.Writer(t, w), opts))
}

func clientFor(socket string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}}
}

// rightsOf returns rights in force for roles, for test sessions.
func rightsOf(roles ...store.Role) []store.Right {
	var out []store.Right
	for _, r := range roles {
		out = append(out, store.Right{Role: r, GrantedAt: time.Now().Add(-time.Hour), GrantedBy: "test", Reason: "test"})
	}
	return out
}
