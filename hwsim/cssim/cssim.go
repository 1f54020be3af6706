// Package cssim simulates a municipality's CS (市町村CS) on its link to the terminal
// (docs/links.md), over the real TLS and protocol code: it numbers its notifications,
// sends them, checks every acknowledgement (in order, one per notification), and after a
// broken connection connects again and resends from the terminal's Resume.
package cssim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"jukiterm/daemon/link"
	"jukiterm/daemon/link/linkpb"
)

// Sim is one CS.
type Sim struct {
	Municipality string
	Address      string      // the terminal's cs_listen
	TLS          *tls.Config // this CS's certificate, the terminal pinned
	Log          *slog.Logger
	// Retries bounds the connections after a failure (default 20), with Backoff between
	// them (default 200 ms).
	Retries int
	Backoff time.Duration
	// Window bounds the notifications sent and not yet acknowledged (default 2000).
	Window int
	// OnAck, when set, sees every acknowledgement as it arrives (benchmarks).
	OnAck func(*linkpb.Ack)
}

// Result is what the CS got back.
type Result struct {
	Sent        int            `json:"sent"` // notifications sent, resends included
	Applied     int            `json:"applied"`
	Duplicates  int            `json:"duplicates"`
	Rejected    int            `json:"rejected"`
	ByRule      map[string]int `json:"rejected_by_rule"`
	Connections int            `json:"connections"`
	// Unanswered counts the notifications the terminal made durable whose
	// acknowledgement was lost with a connection: the Resume covered them.
	Unanswered int `json:"unanswered"`
}

// definitive are the refusals a new connection would meet again (a broken line's
// failed handshake is not one).
var definitive = map[string]bool{link.ReasonRefusedByPeer: true, link.ReasonUnknown: true, link.ReasonExpired: true,
	link.ReasonNotYetValid: true, link.ReasonWrongRole: true, link.ReasonTLSVersion: true, link.ReasonNoCertificate: true}

// Run sends lines (seq i+1 for lines[i]) until every one is acknowledged or covered by
// a Resume.
func (s *Sim) Run(ctx context.Context, lines [][]byte) (Result, error) {
	res := Result{ByRule: map[string]int{}}
	done := make([]bool, len(lines))
	var last error
	for try := 0; try <= s.retries(); try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(s.backoff()):
			}
		}
		finished, err := s.once(ctx, lines, done, &res)
		if finished {
			return res, nil
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		last = err
		var re *link.RefusedError
		if errors.As(err, &re) && definitive[re.Reason] { // a refusal does not pass by itself
			return res, err
		}
		if s.Log != nil {
			s.Log.Warn("CS simulator: the link broke; connecting again", "municipality", s.Municipality, "err", err)
		}
	}
	return res, fmt.Errorf("the CS gave up after %d connections: %w", s.retries()+1, last)
}

func (s *Sim) once(ctx context.Context, lines [][]byte, done []bool, res *Result) (bool, error) {
	tc, err := link.Dial(ctx, s.Address, s.TLS)
	if err != nil {
		return false, err
	}
	c := link.NewConn(tc)
	defer c.Close()
	c.ReadTimeout, c.WriteTimeout = time.Minute, time.Minute
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { <-ctx.Done(); c.Close() }()
	res.Connections++
	if _, err := link.Handshake(c, "jukiterm CS simulator "+s.Municipality); err != nil {
		// Under TLS 1.3 the terminal checks this CS's certificate after the client's
		// handshake is done: its refusal arrives as an alert on the first read.
		if strings.Contains(err.Error(), "remote error: tls:") {
			return false, &link.RefusedError{Reason: link.ReasonRefusedByPeer, Remote: s.Address, Err: err}
		}
		return false, err
	}
	f, err := c.Recv()
	if err != nil {
		return false, err
	}
	r := f.GetResume()
	if r == nil {
		return false, fmt.Errorf("the terminal sent a %s, not the Resume", link.FrameKind(f))
	}
	from := int(min(r.GetLastAcked(), uint64(len(lines))))
	for i := 0; i < from; i++ {
		if !done[i] {
			done[i] = true
			res.Unanswered++
		}
	}
	if from == len(lines) {
		return true, nil
	}
	window := make(chan struct{}, s.window())
	sendErr := make(chan error, 1)
	go func() { // sends what the window allows, flushed together
		var pending []*linkpb.Frame
		flush := func() error {
			if len(pending) == 0 {
				return nil
			}
			err := c.SendAll(pending)
			res.Sent += len(pending) // only this goroutine counts sends while it runs
			pending = pending[:0]
			return err
		}
		for i := from; i < len(lines); i++ {
			select {
			case window <- struct{}{}:
			default:
				if err := flush(); err != nil {
					sendErr <- err
					return
				}
				select {
				case window <- struct{}{}:
				case <-ctx.Done():
					sendErr <- ctx.Err()
					return
				}
			}
			pending = append(pending, &linkpb.Frame{Body: &linkpb.Frame_Notification{Notification: &linkpb.Notification{Seq: uint64(i + 1), Line: lines[i]}}})
			if len(pending) >= 256 {
				if err := flush(); err != nil {
					sendErr <- err
					return
				}
			}
		}
		sendErr <- flush()
	}()
	next := from + 1
	for next <= len(lines) {
		f, err := c.Recv()
		if err != nil {
			cancel()
			<-sendErr
			return false, err
		}
		a := f.GetAck()
		if a == nil || a.GetSeq() != uint64(next) {
			cancel()
			<-sendErr
			return false, fmt.Errorf("the terminal acknowledged %v where the acknowledgement of %d was due", f, next)
		}
		switch a.GetOutcome() {
		case linkpb.Outcome_APPLIED:
			res.Applied++
		case linkpb.Outcome_DUPLICATE:
			res.Duplicates++
		case linkpb.Outcome_REJECTED:
			res.Rejected++
			res.ByRule[a.GetRule()]++
		default:
			cancel()
			<-sendErr
			return false, errors.New("an acknowledgement without an outcome")
		}
		if s.OnAck != nil {
			s.OnAck(a)
		}
		done[next-1] = true
		next++
		<-window
	}
	cancel()
	<-sendErr
	return true, nil
}

func (s *Sim) retries() int {
	if s.Retries > 0 {
		return s.Retries
	}
	return 20
}

func (s *Sim) backoff() time.Duration {
	if s.Backoff > 0 {
		return s.Backoff
	}
	return 200 * time.Millisecond
}

func (s *Sim) window() int {
	if s.Window > 0 {
		return s.Window
	}
	return 2000
}
