package fingerprint

import (
	"context"
	"encoding/binary"
	"fmt"
)

// refreshInfo asks the reader for its description. With a key, a paired reader's
// answer must verify under it.
func (r *Reader) refreshInfo(ctx context.Context) error {
	f, err := r.exchange(ctx, OpInfo, nil, nil, nil, r.key == nil)
	if err != nil {
		return err
	}
	if f.Status != StatusOK && f.Status != StatusNotPaired {
		return statusErr(f.Status)
	}
	if len(f.Body) < 3 {
		return fmt.Errorf("%w: info body of %d bytes", ErrMalformed, len(f.Body))
	}
	r.mu.Lock()
	r.info.Slots = int(binary.BigEndian.Uint16(f.Body))
	r.info.Paired = f.Status == StatusOK && f.Body[2]&1 != 0
	r.info.Model = string(f.Body[3:])
	r.mu.Unlock()
	return nil
}

// Paired reports whether the reader is paired and answers under this Reader's key.
func (r *Reader) Paired() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.key != nil && r.info.Paired
}

func (r *Reader) requirePaired() error {
	if r.key == nil || !r.info.Paired {
		return ErrNotPaired
	}
	return nil
}

// Verify asks the reader to capture a finger and match it against all its templates
// (identification, 1:N). It waits for a finger until ctx ends (then it cancels the
// capture and returns an error matching ErrCancelled and ctx's error). A finger that
// matches no template gives Match{Matched: false} and a nil error: one call is one
// attempt. For sign-in prefer VerifySlot: an impostor's chance of a false match grows
// with the number of templates compared (docs/fingerprint.md).
func (r *Reader) Verify(ctx context.Context, ev Events) (Match, error) {
	return r.verify(ctx, nil, ev)
}

// VerifySlot is Verify against slot's template only (verification, 1:1): a match is
// always for slot.
func (r *Reader) VerifySlot(ctx context.Context, slot uint32, ev Events) (Match, error) {
	return r.verify(ctx, putU32(slot), ev)
}

func (r *Reader) verify(ctx context.Context, body []byte, ev Events) (Match, error) {
	ctx, end, err := r.begin(ctx)
	if err != nil {
		return Match{}, err
	}
	defer end()
	if err := r.requirePaired(); err != nil {
		return Match{}, err
	}
	if body != nil && r.info.Slots > 0 && int64(binary.BigEndian.Uint32(body)) >= int64(r.info.Slots) {
		return Match{}, fmt.Errorf("%w: slot %d, the reader has %d", ErrBadSlot, binary.BigEndian.Uint32(body), r.info.Slots)
	}
	f, err := r.exchange(ctx, OpVerify, body, ev, nil, false)
	if err != nil {
		return Match{}, err
	}
	switch f.Status {
	case StatusMatch:
		if len(f.Body) != 4 || (body != nil && string(f.Body) != string(body)) {
			return Match{}, fmt.Errorf("%w: a match body of %d bytes or for another slot", ErrMalformed, len(f.Body))
		}
		emit(ev, EventMatched, 0, 0)
		return Match{Slot: binary.BigEndian.Uint32(f.Body), Matched: true}, nil
	case StatusNoMatch:
		emit(ev, EventNotMatched, 0, 0)
		return Match{}, nil
	}
	return Match{}, finalErr(f.Status)
}

// Enroll captures samples samples of one finger and stores its template in slot,
// which must be empty. ev receives EventPlaceFinger, then EventSample (n of samples)
// after each sample. It waits for the finger until ctx ends, as Verify does.
func (r *Reader) Enroll(ctx context.Context, slot uint32, samples int, ev Events) error {
	if samples < 1 || samples > 255 {
		return fmt.Errorf("an enrollment takes 1 to 255 samples, not %d", samples)
	}
	ctx, end, err := r.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	if err := r.requirePaired(); err != nil {
		return err
	}
	if r.info.Slots > 0 && int64(slot) >= int64(r.info.Slots) {
		return fmt.Errorf("%w: slot %d, the reader has %d", ErrBadSlot, slot, r.info.Slots)
	}
	f, err := r.exchange(ctx, OpEnroll, append(putU32(slot), byte(samples)), ev, nil, false)
	if err != nil {
		return err
	}
	if f.Status == StatusSamplesDiffer {
		emit(ev, EventSamplesDiffer, 0, 0)
	}
	if f.Status != StatusOK {
		return finalErr(f.Status)
	}
	if len(f.Body) != 4 || binary.BigEndian.Uint32(f.Body) != slot {
		return fmt.Errorf("%w: the reader confirmed another slot", ErrMalformed)
	}
	return nil
}

// Delete erases slot's template; deleting an empty slot is not an error.
func (r *Reader) Delete(ctx context.Context, slot uint32) error {
	_, err := r.simple(ctx, OpDelete, putU32(slot))
	return err
}

// List returns the slots that hold a template, in increasing order.
func (r *Reader) List(ctx context.Context) ([]uint32, error) {
	body, err := r.simple(ctx, OpList, nil)
	if err != nil {
		return nil, err
	}
	if len(body) < 2 || len(body) != 2+4*int(binary.BigEndian.Uint16(body)) {
		return nil, fmt.Errorf("%w: list body of %d bytes", ErrMalformed, len(body))
	}
	out := make([]uint32, 0, binary.BigEndian.Uint16(body))
	for b := body[2:]; len(b) > 0; b = b[4:] {
		out = append(out, binary.BigEndian.Uint32(b))
	}
	return out, nil
}

// simple runs a command that needs no finger, bounded by the Reader's timeout.
func (r *Reader) simple(ctx context.Context, op Op, body []byte) ([]byte, error) {
	ctx, end, err := r.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	if err := r.requirePaired(); err != nil {
		return nil, err
	}
	tctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	f, err := r.exchange(tctx, op, body, nil, nil, false)
	if err != nil {
		return nil, timedOut(ctx, err)
	}
	if f.Status != StatusOK {
		return nil, finalErr(f.Status)
	}
	return f.Body, nil
}

// Pair gives an unpaired reader the 32-byte pairing key; the reader's answer must
// verify under it. From then on every command and reply is authenticated with it. The
// caller keeps the key (it is needed for every Open) as it keeps other secrets.
func (r *Reader) Pair(ctx context.Context, key []byte) error {
	if len(key) != KeySize {
		return fmt.Errorf("the pairing key must be %d bytes, not %d", KeySize, len(key))
	}
	ctx, end, err := r.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	tctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	k := append([]byte(nil), key...)
	f, err := r.exchange(tctx, OpPair, k, nil, k, false)
	if err != nil {
		return timedOut(ctx, err)
	}
	if f.Status != StatusOK {
		return finalErr(f.Status)
	}
	r.mu.Lock()
	r.key = k
	r.mu.Unlock()
	return timedOut(ctx, r.refreshInfo(tctx))
}

// finalErr is the error of a final status that is not a success.
func finalErr(s Status) error {
	if err := statusErr(s); err != nil {
		return err
	}
	return fmt.Errorf("%w: unexpected final status 0x%02x", ErrMalformed, byte(s))
}

func emit(ev Events, e Event, n, of int) {
	if ev != nil {
		ev(e, n, of)
	}
}
