// Package cs is the terminal's end of the municipalities' CS links (docs/links.md): it
// accepts pinned CS over mutual TLS, tells each where to resume, applies each
// notification exactly as a file's (store.ApplyFromCS) and acknowledges it only once
// its transaction is durable.
package cs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"jukiterm/daemon/link"
	"jukiterm/daemon/link/peerstate"
	"jukiterm/store"
	"jukiterm/store/record"
)

// Server accepts CS links.
type Server struct {
	Store    *store.Store
	Identity func() (link.Identity, error) // this terminal's certificate and HSM key
	Pins     func(context.Context) (*link.PinSet, error)
	Log      *slog.Logger
	Status   *peerstate.Status
	Refused  func(*link.RefusedError) // records link.refused (rate-limited by the caller)
	Software string
	Now      func() time.Time

	// BatchMax bounds the notifications applied in one transaction (default 1000).
	BatchMax int
	// IdleTimeout closes a link that sends nothing for this long (default 10 minutes).
	IdleTimeout time.Duration

	mu      sync.Mutex
	conns   map[string]*active // the open link of each CS: a new one replaces it
	pending map[string]int     // connections not yet authenticated, by remote address
	total   int
}

// MaxHandshakes bounds the connections in their TLS handshake at once, and
// MaxHandshakesPerHost those from one address: beyond them a connection is closed at
// once, without a goroutine or a handshake, so a flood from one host neither exhausts
// the terminal nor keeps the CS of other addresses out.
const (
	MaxHandshakes        = 256
	MaxHandshakesPerHost = 8
)

// admit counts a connection into its handshake, or refuses it.
func (s *Server) admit(host string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		s.pending = map[string]int{}
	}
	if s.total >= MaxHandshakes || s.pending[host] >= MaxHandshakesPerHost {
		return false
	}
	s.pending[host]++
	s.total++
	return true
}

// admitted ends a connection's handshake count.
func (s *Server) admitted(host string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.pending[host]--; s.pending[host] <= 0 {
		delete(s.pending, host)
	}
}

func hostOf(nc net.Conn) string {
	h, _, err := net.SplitHostPort(nc.RemoteAddr().String())
	if err != nil {
		return nc.RemoteAddr().String()
	}
	return h
}

// frameLimit is a CS link's frame size limit: one notification line (record.MaxLine)
// and the frame around it.
const frameLimit = record.MaxLine + 1024

// active is a CS's open link; done closes when its handler has stopped (its last batch
// applied or rolled back).
type active struct {
	nc   net.Conn
	done chan struct{}
}

// Serve accepts connections on l until ctx ends.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	go func() { <-ctx.Done(); l.Close() }()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		nc, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				s.closeAll()
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept a CS link: %w", err)
		}
		if !s.admit(hostOf(nc)) {
			nc.Close() // too many at once: not even a goroutine for it
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handle(ctx, nc)
		}()
	}
}

func (s *Server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.nc.Close()
	}
}

// take makes nc the open link of name. The link it replaces is closed and waited for,
// so the Resume the new one gets counts everything the old one applied.
func (s *Server) take(name string, nc net.Conn) *active {
	me := &active{nc: nc, done: make(chan struct{})}
	for {
		s.mu.Lock()
		if s.conns == nil {
			s.conns = map[string]*active{}
		}
		old := s.conns[name]
		if old == nil {
			s.conns[name] = me
			s.mu.Unlock()
			return me
		}
		s.mu.Unlock()
		s.Log.Warn("a CS connected again: its previous link is closed", "peer", name)
		old.nc.Close()
		<-old.done
	}
}

func (s *Server) release(name string, a *active) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns[name] == a {
		delete(s.conns, name)
	}
	close(a.done)
}

func (s *Server) config(ctx context.Context) (*linkConfig, error) {
	id, err := s.Identity()
	if err != nil {
		return nil, err
	}
	pins, err := s.Pins(ctx)
	if err != nil {
		return nil, err
	}
	p := link.Policy{Pins: pins, Role: link.RoleCS, Now: s.Now}
	cfg, err := link.ServerConfig(id, p)
	if err != nil {
		return nil, err
	}
	return &linkConfig{tls: cfg, policy: p}, nil
}

func (s *Server) handle(ctx context.Context, nc net.Conn) {
	defer nc.Close()
	host, authenticated := hostOf(nc), false
	defer func() {
		if !authenticated {
			s.admitted(host)
		}
	}()
	cfg, err := s.config(ctx)
	if err != nil {
		s.Log.Error("a CS link cannot be accepted", "err", err, "remote", nc.RemoteAddr().String())
		return
	}
	tc, err := link.Accept(ctx, nc, cfg.tls)
	if err != nil {
		var re *link.RefusedError
		if errors.As(err, &re) && s.Refused != nil {
			s.Refused(re)
		} else {
			s.Log.Warn("a CS link failed at its handshake", "err", err, "remote", nc.RemoteAddr().String())
		}
		return
	}
	pin, err := cfg.policy.PeerOf(tc)
	if err != nil {
		s.Log.Error("a CS link's peer", "err", err)
		return
	}
	authenticated = true
	s.admitted(host)
	me := s.take(pin.Name, tc)
	defer s.release(pin.Name, me)
	c := link.NewConn(tc)
	c.ReadTimeout, c.WriteTimeout, c.MaxSize = s.idle(), 30*time.Second, frameLimit
	st := s.Status.Peer(pin.Name)
	st.Connected(nc.RemoteAddr().String())
	err = s.serve(ctx, c, pin, st)
	st.Disconnected(err)
	if err != nil && ctx.Err() == nil {
		s.Log.Warn("a CS link closed", "peer", pin.Name, "err", err)
	}
}

func (s *Server) idle() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return 10 * time.Minute
}

type linkConfig struct {
	tls    *tls.Config
	policy link.Policy
}
