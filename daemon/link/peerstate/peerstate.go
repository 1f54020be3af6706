// Package peerstate keeps what `jukiterm link status` shows of each link: connected or
// not, since when and from where, the sequences received, sent and acknowledged, the
// backlog, the counts of outcomes and the last error.
package peerstate

import (
	"sort"
	"sync"
	"time"
)

// Status holds the state of every link by peer name.
type Status struct {
	mu    sync.Mutex
	peers map[string]*Peer
	now   func() time.Time
}

// New returns an empty status (now: the clock, time.Now when nil).
func New(now func() time.Time) *Status {
	if now == nil {
		now = time.Now
	}
	return &Status{peers: map[string]*Peer{}, now: now}
}

// Peer is one link's state.
type Peer struct {
	s *Status
	v View
}

// View is a copy of a link's state, as the API returns it.
type View struct {
	Name        string         `json:"name"`
	Connected   bool           `json:"connected"`
	Remote      string         `json:"remote,omitempty"`
	Since       *time.Time     `json:"since,omitempty"` // connected or disconnected since
	Received    uint64         `json:"received,omitempty"`
	Sent        uint64         `json:"sent,omitempty"`
	Acked       uint64         `json:"acked"`
	Backlog     int64          `json:"backlog,omitempty"`
	Outcomes    map[string]int `json:"outcomes,omitempty"`
	LastError   string         `json:"last_error,omitempty"`
	LastErrorAt *time.Time     `json:"last_error_at,omitempty"`
}

// Peer returns the state of name, created when first asked for.
func (s *Status) Peer(name string) *Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.peers[name]
	if p == nil {
		p = &Peer{s: s, v: View{Name: name}}
		s.peers[name] = p
	}
	return p
}

// All returns a copy of every link's state, by name.
func (s *Status) All() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]View, 0, len(s.peers))
	for _, p := range s.peers {
		v := p.v
		v.Outcomes = map[string]int{}
		for k, n := range p.v.Outcomes {
			v.Outcomes[k] = n
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (p *Peer) update(f func(v *View)) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	f(&p.v)
}

// Connected records a connection from remote.
func (p *Peer) Connected(remote string) {
	now := p.s.now()
	p.update(func(v *View) { v.Connected, v.Remote, v.Since = true, remote, &now })
}

// Disconnected records the end of the connection, with its error if any.
func (p *Peer) Disconnected(err error) {
	now := p.s.now()
	p.update(func(v *View) {
		v.Connected, v.Since = false, &now
		if err != nil {
			v.LastError, v.LastErrorAt = err.Error(), &now
		}
	})
}

// Failed records an error without a connection (a refused dial, say).
func (p *Peer) Failed(err error) {
	now := p.s.now()
	p.update(func(v *View) { v.LastError, v.LastErrorAt = err.Error(), &now })
}

// Received records the newest sequence received.
func (p *Peer) Received(seq uint64) { p.update(func(v *View) { v.Received = seq }) }

// Sent records the newest sequence sent.
func (p *Peer) Sent(seq uint64) { p.update(func(v *View) { v.Sent = max(v.Sent, seq) }) }

// Acked records the newest sequence acknowledged.
func (p *Peer) Acked(seq uint64) { p.update(func(v *View) { v.Acked = max(v.Acked, seq) }) }

// Backlog records what waits to be sent.
func (p *Peer) Backlog(n int64) { p.update(func(v *View) { v.Backlog = n }) }

// Outcome counts one outcome (applied, duplicate, rejected).
func (p *Peer) Outcome(o string) {
	p.update(func(v *View) {
		if v.Outcomes == nil {
			v.Outcomes = map[string]int{}
		}
		v.Outcomes[o]++
	})
}
