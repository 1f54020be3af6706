package fingerprint

import (
	"context"
	"errors"
	"fmt"
)

// exchange sends one command and reads its replies until a final one, which it
// returns. Every reply must carry the command's nonce (else ErrReplayed), verify under
// the key (else ErrForged) and come in sequence. Events go to ev. When ctx ends, or an
// error stops the exchange before the final reply, the reader is told to cancel.
// With unauth set the replies are not checked (Info without a key); with pairKey set
// they are checked under it instead of r.key (Pair).
func (r *Reader) exchange(ctx context.Context, op Op, body []byte, ev Events, pairKey []byte, unauth bool) (*Frame, error) {
	if r.gone {
		return nil, ErrNoReader
	}
	if r.desync {
		if err := r.resync(); err != nil {
			return nil, err
		}
	}
	cmd := &Frame{Kind: KindCommand, Op: op, Nonce: newNonce(), Body: body}
	if r.key != nil && op != OpPair {
		cmd.MAC = CommandMAC(r.key, cmd)
	}
	key := r.key
	if pairKey != nil {
		key = pairKey
	}
	if err := r.write(ctx, cmd); err != nil {
		return nil, err
	}
	buf := make([]byte, readSize)
	for seq := uint16(0); ; seq++ {
		f, err := r.read(ctx, buf)
		if err == nil {
			err = check(cmd, f, seq, key, unauth)
		}
		if err != nil {
			if !errors.Is(err, ErrNoReader) {
				if cerr := r.cancel(); cerr != nil && errors.Is(cerr, ErrNoReader) {
					err = cerr
				}
			}
			if isCtxErr(err) {
				return nil, cancelled{err}
			}
			return nil, err
		}
		if f.Status != StatusEvent {
			return f, nil
		}
		if ev != nil && len(f.Body) == 3 {
			ev(Event(f.Body[0]), int(f.Body[1]), int(f.Body[2]))
		}
	}
}

// check validates a reply to cmd: nonce first (a reply to another command is a
// replay), then the MAC, then the sequence number.
func check(cmd, f *Frame, seq uint16, key []byte, unauth bool) error {
	if f.Kind != KindReply {
		return fmt.Errorf("%w: a command frame came from the reader", ErrForged)
	}
	if f.Nonce != cmd.Nonce {
		return ErrReplayed
	}
	if unauth {
		return nil
	}
	if key == nil {
		return ErrNotPaired
	}
	if !VerifyMAC(ReplyMAC(key, cmd, f), f.MAC) {
		// An unpaired reader cannot authenticate; one paired with another key
		// answers Pair under that key; a reader that got an altered command MACs its
		// refusal over what it received. These refusals are taken unauthenticated, as
		// they only ever refuse (an Info saying "not paired" only restricts use).
		switch {
		case f.Status == StatusNotPaired && cmd.Op == OpInfo:
			return nil
		case f.Status == StatusNotPaired, f.Status == StatusAlreadyPaired, f.Status == StatusBadMAC:
			return statusErr(f.Status)
		}
		return ErrForged
	}
	if f.Op != cmd.Op {
		return fmt.Errorf("%w: a reply to %v for %v", ErrForged, f.Op, cmd.Op)
	}
	if f.Seq != seq {
		return fmt.Errorf("%w: reply %d where %d was due", ErrReplayed, f.Seq, seq)
	}
	return nil
}

func (r *Reader) write(ctx context.Context, f *Frame) error {
	wctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	_, err := r.intf.Write(wctx, r.sensor.Out, f.Marshal())
	return r.ioErr(err)
}

func (r *Reader) read(ctx context.Context, buf []byte) (*Frame, error) {
	n, err := r.intf.Read(ctx, r.sensor.In, buf)
	if err != nil {
		return nil, r.ioErr(err)
	}
	f, err := Parse(buf[:n])
	if err != nil {
		return nil, fmt.Errorf("the fingerprint reader sent a frame that could not be read: %w", err)
	}
	return &f, nil
}

// ioErr maps a transfer error, remembering that the device is gone.
func (r *Reader) ioErr(err error) error {
	if err == nil || isCtxErr(err) {
		return err
	}
	err = usbErr(err)
	if errors.Is(err, ErrNoReader) {
		r.gone = true
	}
	return err
}

// cancel tells the reader to end the command under way and reads until the cancel's
// own reply, discarding the replies of the command it ended (never accepted: the
// exchange already failed). Without an answer in time the reader is marked out of
// step, and the next operation cancels again first.
func (r *Reader) cancel() error {
	ctx, done := context.WithTimeout(context.Background(), r.timeout)
	defer done()
	cmd := &Frame{Kind: KindCommand, Op: OpCancel, Nonce: newNonce()}
	if r.key != nil {
		cmd.MAC = CommandMAC(r.key, cmd)
	}
	r.desync = true
	if err := r.write(ctx, cmd); err != nil {
		return err
	}
	buf := make([]byte, readSize)
	for {
		f, err := r.read(ctx, buf)
		if err != nil {
			if errors.Is(err, ErrNoReader) || isCtxErr(err) {
				return err
			}
			continue // a garbled frame of the old command: keep draining
		}
		if f.Nonce == cmd.Nonce && f.Op == OpCancel && f.Status != StatusEvent {
			r.desync = false
			return nil
		}
	}
}

func (r *Reader) resync() error {
	if err := r.cancel(); err != nil {
		if errors.Is(err, ErrNoReader) {
			return err
		}
		return fmt.Errorf("the fingerprint reader does not answer: unplug it, plug it in again and retry (%w)", err)
	}
	return nil
}

// readSize is the buffer of each bulk IN read: MaxFrame rounded up to a multiple of
// every bulk packet size (64 at full speed, 512 at high speed), as libusb advises, so
// a packet never overflows it.
const readSize = 1024
