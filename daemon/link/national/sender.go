// Package national is the terminal's end of the link to the national server (全国サーバ,
// docs/links.md): a sender that delivers the outbox in 更新順番号 order, at least once,
// with back-off, trimming it on each acknowledgement; and queries (機構への照会).
package national

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"jukiterm/daemon/link"
	"jukiterm/daemon/link/linkpb"
	"jukiterm/daemon/link/peerstate"
	"jukiterm/store"
)

// Peer is how to reach the national server: its address and the TLS configuration
// that pins it.
type Peer struct {
	Address string
	TLS     *tls.Config
}

// ErrNotPinned: no national server is pinned yet; the sender looks again later,
// without logging it each time.
var ErrNotPinned = errors.New("no national server is pinned (`jukiterm peer add --national`)")

// Sender delivers the outbox to the national server.
type Sender struct {
	Store    *store.Store
	Peer     func(context.Context) (Peer, error) // "" address: none pinned yet
	Log      *slog.Logger
	Status   *peerstate.Peer
	Software string

	// Window bounds the updates sent and not yet acknowledged (default 256).
	Window int
	// Poll is how often an idle sender looks at the outbox (default 50 ms).
	Poll time.Duration
	// MinBackoff and MaxBackoff bound the wait before a new connection (1 s, 60 s).
	MinBackoff, MaxBackoff time.Duration
}

// trimEvery is how often the outbox is trimmed up to the newest acknowledgement.
const trimEvery = 100 * time.Millisecond

// notPinnedWait is how often the sender looks for a newly pinned national server.
const notPinnedWait = 5 * time.Second

// Run delivers until ctx ends.
func (s *Sender) Run(ctx context.Context) {
	backoff := s.minBackoff()
	for ctx.Err() == nil {
		delivered, err := s.once(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrNotPinned) { // looked at again every few seconds, quietly
			s.Status.Failed(err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(notPinnedWait):
			}
			backoff = s.minBackoff()
			continue
		}
		if err != nil {
			s.Status.Failed(err)
			s.Log.Warn("the link to the national server failed; it is tried again", "err", err, "retry_in", backoff.String())
		}
		if delivered {
			backoff = s.minBackoff()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if !delivered {
			backoff = min(backoff*2, s.maxBackoff())
		}
	}
}

// once runs one connection: it returns whether anything was acknowledged.
func (s *Sender) once(ctx context.Context) (bool, error) {
	p, err := s.Peer(ctx)
	if err != nil {
		return false, err
	}
	if p.Address == "" {
		return false, ErrNotPinned
	}
	tc, err := link.Dial(ctx, p.Address, p.TLS)
	if err != nil {
		return false, err
	}
	c := link.NewConn(tc)
	c.WriteTimeout = 30 * time.Second
	defer c.Close()
	if _, err := link.Handshake(c, s.Software); err != nil {
		return false, err
	}
	s.Status.Connected(p.Address)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { <-ctx.Done(); c.Close() }()

	st, err := s.Store.Outbox(ctx)
	if err != nil {
		return false, err
	}
	var mu sync.Mutex
	var sent atomic.Int64
	sent.Store(st.Acked)
	acked, progressed := st.Acked, false
	window := make(chan struct{}, s.window())
	recvErr := make(chan error, 1)
	// The outbox is trimmed up to the newest acknowledgement every trimEvery and at the
	// end, not at each one: an update acknowledged and not yet trimmed when jukitermd
	// stops is sent again (the server drops it as a duplicate).
	var ackedMax atomic.Int64
	ackedMax.Store(st.Acked)
	trimmed := make(chan error, 1)
	go func() {
		t := time.NewTicker(trimEvery)
		defer t.Stop()
		done, upTo := false, st.Acked
		for !done {
			select {
			case <-ctx.Done():
				done = true
			case <-t.C:
			}
			if n := ackedMax.Load(); n > upTo {
				if err := s.Store.OutboxAck(context.WithoutCancel(ctx), n); err != nil {
					trimmed <- err
					cancel()
					return
				}
				upTo = n
			}
		}
		trimmed <- nil
	}()
	go func() { // acknowledgements
		for {
			f, err := c.Recv()
			if err != nil {
				recvErr <- err
				cancel()
				return
			}
			a := f.GetUpdateAck()
			if a == nil {
				c.Fail(link.CodeUnexpected, "only UpdateAck is expected from the national server on this link")
				recvErr <- fmt.Errorf("the national server sent a %s", link.FrameKind(f))
				cancel()
				return
			}
			if int64(a.GetUpdateSeq()) > sent.Load() {
				c.Fail(link.CodeSequence, fmt.Sprintf("UpdateAck %d for an update not sent (the newest sent is %d)", a.GetUpdateSeq(), sent.Load()))
				recvErr <- fmt.Errorf("the national server acknowledged update %d, which was not sent", a.GetUpdateSeq())
				cancel()
				return
			}
			ackedMax.Store(max(ackedMax.Load(), int64(a.GetUpdateSeq())))
			mu.Lock()
			for n := int64(a.GetUpdateSeq()); acked < n; acked++ {
				select {
				case <-window:
				default:
				}
			}
			progressed = true
			mu.Unlock()
			s.Status.Acked(a.GetUpdateSeq())
		}
	}()
	err = s.send(ctx, c, &sent, window)
	cancel()
	c.Close()
	rerr := <-recvErr
	if terr := <-trimmed; terr != nil {
		err = errors.Join(err, terr)
	}
	mu.Lock()
	defer mu.Unlock()
	s.Status.Disconnected(errors.Join(err, rerr))
	if err == nil {
		err = rerr
	}
	if errors.Is(err, link.ErrClosed) || errors.Is(err, context.Canceled) {
		err = nil
	}
	return progressed, err
}

// send sends the outbox after *sent, keeping at most a window unacknowledged.
func (s *Sender) send(ctx context.Context, c *link.Conn, sent *atomic.Int64, window chan struct{}) error {
	for ctx.Err() == nil {
		items, err := s.Store.OutboxNext(ctx, sent.Load(), s.window())
		if err != nil {
			return err
		}
		if st, err := s.Store.Outbox(ctx); err == nil {
			s.Status.Backlog(st.Backlog)
		}
		if len(items) == 0 {
			select {
			case <-ctx.Done():
			case <-time.After(s.poll()):
			}
			continue
		}
		frames := make([]*linkpb.Frame, 0, len(items))
		for _, it := range items {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			rec, err := json.Marshal(it.Record)
			if err != nil {
				return err
			}
			frames = append(frames, &linkpb.Frame{Body: &linkpb.Frame_Update{Update: &linkpb.Update{UpdateSeq: uint64(it.UpdateSeq), Record: rec}}})
			sent.Store(it.UpdateSeq) // before it goes: its acknowledgement may come at once
			if len(frames) == cap(frames) || len(window) == cap(window) {
				if err := c.SendAll(frames); err != nil {
					return err
				}
				frames = frames[:0]
			}
		}
		if len(frames) > 0 {
			if err := c.SendAll(frames); err != nil {
				return err
			}
		}
		s.Status.Sent(uint64(sent.Load()))
	}
	return nil
}

func (s *Sender) window() int {
	if s.Window > 0 {
		return s.Window
	}
	return 256
}

func (s *Sender) poll() time.Duration {
	if s.Poll > 0 {
		return s.Poll
	}
	return 50 * time.Millisecond
}

func (s *Sender) minBackoff() time.Duration {
	if s.MinBackoff > 0 {
		return s.MinBackoff
	}
	return time.Second
}

func (s *Sender) maxBackoff() time.Duration {
	if s.MaxBackoff > 0 {
		return s.MaxBackoff
	}
	return time.Minute
}
