package cs

import (
	"context"
	"errors"
	"fmt"

	"jukiterm/daemon/link"
	"jukiterm/daemon/link/linkpb"
	"jukiterm/daemon/link/peerstate"
	"jukiterm/store"
)

// serve runs one authenticated CS link: Hello both ways, Resume from the sequence the
// file holds, then notifications applied in batches and acknowledged once durable.
func (s *Server) serve(ctx context.Context, c *link.Conn, pin link.Pin, st *peerstate.Peer) error {
	if _, err := link.Handshake(c, s.Software); err != nil {
		return err
	}
	last, err := s.Store.CSLastSeq(ctx, pin.Municipality)
	if err != nil {
		c.Fail(link.CodeInternal, "the terminal cannot read this link's sequence; connect again later")
		return err
	}
	if err := c.Send(&linkpb.Frame{Body: &linkpb.Frame_Resume{Resume: &linkpb.Resume{LastAcked: last}}}); err != nil {
		return err
	}
	st.Acked(last)
	ctx, cancel := context.WithCancel(ctx) // stops the reader when this link ends
	defer cancel()
	frames := make(chan *linkpb.Frame, 256) // with frameLimit: at most 16 MiB waiting
	readErr := make(chan error, 1)
	go func() {
		defer close(frames)
		for {
			f, err := c.Recv()
			if err != nil {
				readErr <- err
				return
			}
			select {
			case frames <- f:
			case <-ctx.Done():
				return
			}
		}
	}()
	operator := "cs-" + pin.Municipality
	for {
		f, ok := <-frames
		if !ok {
			return <-readErr
		}
		var batch []store.LinkLine
		for f != nil { // what has arrived, up to a batch: one transaction
			n := f.GetNotification()
			if n == nil {
				msg := fmt.Sprintf("a %s is not allowed on a CS link after the Resume (only Notification)", link.FrameKind(f))
				c.Fail(link.CodeUnexpected, msg)
				return errors.New(msg)
			}
			batch = append(batch, store.LinkLine{Seq: n.GetSeq(), Line: n.GetLine()})
			f = nil
			if len(batch) < s.batchMax() {
				select {
				case g, ok := <-frames:
					if ok {
						f = g
					}
				default:
				}
			}
		}
		st.Received(batch[len(batch)-1].Seq)
		out, err := s.Store.ApplyFromCS(ctx, pin.Municipality, batch, operator)
		if errors.Is(err, store.ErrLinkOrder) {
			c.Fail(link.CodeSequence, err.Error()+": a CS numbers its notifications in increasing order and resends from the Resume's last_acked")
			return err
		}
		if err != nil {
			c.Fail(link.CodeInternal, "the terminal could not apply the notifications (nothing of this batch is acknowledged); connect again later and resend from the Resume")
			return err
		}
		acks := make([]*linkpb.Frame, len(out))
		for i, o := range out {
			acks[i] = &linkpb.Frame{Body: &linkpb.Frame_Ack{Ack: ack(o)}}
			st.Outcome(o.Outcome)
		}
		if err := c.SendAll(acks); err != nil {
			return err
		}
		st.Acked(out[len(out)-1].Seq)
	}
}

func ack(o store.LineOutcome) *linkpb.Ack {
	a := &linkpb.Ack{Seq: o.Seq, Rule: o.Rule, Message: o.Message, UpdateSeq: uint64(o.UpdateSeq)}
	switch o.Outcome {
	case store.OutcomeApplied:
		a.Outcome = linkpb.Outcome_APPLIED
	case store.OutcomeDuplicate:
		a.Outcome = linkpb.Outcome_DUPLICATE
	default:
		a.Outcome = linkpb.Outcome_REJECTED
	}
	return a
}

func (s *Server) batchMax() int {
	if s.BatchMax > 0 {
		return s.BatchMax
	}
	return 1000 // as a file's ingest
}
