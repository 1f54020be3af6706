package daemon

import (
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultConnectionsPerUID is how many connections one Unix user may hold open to
// the socket at once unless the configuration says otherwise.
const DefaultConnectionsPerUID = 64

// peerListener reads each connection's peer credentials at accept and closes at once
// a connection whose Unix user holds the most allowed already: one user cannot use
// up the daemon's file descriptors and shut the others out.
type peerListener struct {
	net.Listener
	limit int
	log   *slog.Logger

	mu      sync.Mutex
	open    map[int]int // per uid (-1: credentials not readable)
	refused map[int]*refusedConns
}

// refusedConns counts refused connections of a uid between two log lines.
type refusedConns struct {
	count  int
	logged time.Time
}

// refusedLogEvery is the least time between two log lines about a uid's refused
// connections.
var refusedLogEvery = time.Minute

func newPeerListener(l net.Listener, limit int, log *slog.Logger) *peerListener {
	return &peerListener{Listener: l, limit: limit, log: log, open: map[int]int{}, refused: map[int]*refusedConns{}}
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		p := peerCred(c)
		key := p.UID
		if !p.Known {
			key = -1
		}
		l.mu.Lock()
		if l.open[key] >= l.limit {
			l.refuse(key)
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.open[key]++
		l.mu.Unlock()
		pc := &peerConn{Conn: c, peer: p}
		pc.release = func() { l.release(key) }
		return pc, nil
	}
}

// refuse counts a refused connection and logs, at most once per refusedLogEvery
// for a uid, how many were refused (under mu).
func (l *peerListener) refuse(uid int) {
	r, ok := l.refused[uid]
	if !ok {
		r = &refusedConns{}
		l.refused[uid] = r
	}
	r.count++
	if now := time.Now(); now.Sub(r.logged) >= refusedLogEvery {
		l.log.Warn("connections refused: this Unix user already holds the most connections allowed to the socket (max_connections_per_uid)",
			"uid", uid, "open", l.open[uid], "refused_since_last_report", r.count)
		r.count, r.logged = 0, now
	}
}

func (l *peerListener) release(uid int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[uid]--; l.open[uid] <= 0 {
		delete(l.open, uid)
	}
}

// peerConn is an accepted connection with its peer's credentials.
type peerConn struct {
	net.Conn
	peer    Peer
	release func()
	once    sync.Once
}

func (c *peerConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// peerCred reads the credentials of the process at the other end of c.
func peerCred(c net.Conn) Peer {
	p := Peer{}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return p
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return p
	}
	raw.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			p = Peer{PID: int(cred.Pid), UID: int(cred.Uid), GID: int(cred.Gid), Known: true}
		}
	})
	return p
}
