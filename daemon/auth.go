package daemon

import (
	"context"
	"net"
	"net/http"

	"golang.org/x/sys/unix"
)

// action names what a request does; the authorisation point decides per action.
type action string

const (
	actHealth action = "health"
	actIngest action = "ingest"
	actSearch action = "search"
	actShow   action = "show"
	actStats  action = "stats"

	actKeysRotate action = "keys-rotate"
	actBackup     action = "backup"
)

// Peer is the process at the other end of the socket, from SO_PEERCRED.
type Peer struct {
	PID, UID, GID int
	Known         bool
}

type peerKey struct{}

// withPeer reads the connecting process's credentials once per connection.
func withPeer(ctx context.Context, c net.Conn) context.Context {
	p := Peer{}
	if uc, ok := c.(*net.UnixConn); ok {
		if raw, err := uc.SyscallConn(); err == nil {
			raw.Control(func(fd uintptr) {
				if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
					p = Peer{PID: int(cred.Pid), UID: int(cred.Uid), GID: int(cred.Gid), Known: true}
				}
			})
		}
	}
	return context.WithValue(ctx, peerKey{}, p)
}

func peerOf(r *http.Request) Peer {
	p, _ := r.Context().Value(peerKey{}).(Peer)
	return p
}

// policy lists the actions a caller may perform. Anything not listed is denied.
// Until operator sign-in exists, any process that can open the socket (mode 0660:
// the daemon's user and group) may do these.
var policy = map[action]bool{
	actHealth: true,
	actIngest: true,
	actSearch: true,
	actShow:   true,
	actStats:  true,

	actKeysRotate: true,
	actBackup:     true,
}

// authorize is the one point every request passes: it denies by default.
func authorize(r *http.Request, a action) error {
	if !peerOf(r).Known {
		return errDenied("the caller's identity could not be read from the socket")
	}
	if !policy[a] {
		return errDenied("this operation is not allowed")
	}
	return nil
}

// guard wraps a handler with the authorisation point.
func (s *Server) guard(a action, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := authorize(r, a); err != nil {
			s.log.Warn("request denied", "action", string(a), "uid", peerOf(r).UID, "pid", peerOf(r).PID)
			writeError(w, err)
			return
		}
		h(w, r)
	}
}
