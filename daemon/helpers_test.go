package daemon

import (
	"context"
	"net"
	"net/http"
	"time"

	"jukiterm/store"
)

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
