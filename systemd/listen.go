package systemd

import (
	"fmt"
	"net"

	"github.com/coreos/go-systemd/v22/activation"
)

// ActivatedListener returns the Unix socket systemd passed (socket activation,
// LISTEN_FDS), or nil when none was passed.
func ActivatedListener() (net.Listener, error) {
	ls, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("socket activation: %w", err)
	}
	for _, l := range ls {
		if l == nil {
			continue
		}
		if _, ok := l.(*net.UnixListener); ok {
			return l, nil
		}
		l.Close()
		return nil, fmt.Errorf("socket activation passed a %s socket; jukitermd serves only a Unix socket", l.Addr().Network())
	}
	return nil, nil
}
