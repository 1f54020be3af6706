package fingerprint_test

import (
	"encoding/binary"
	"errors"
	"testing"

	fp "jukiterm/devices/fingerprint"
	fpsim "jukiterm/hwsim/fingerprint"
)

// final reports whether frame is a verify's final reply of status st.
func final(frame []byte, st fp.Status) bool {
	f, err := fp.Parse(frame)
	return err == nil && f.Op == fp.OpVerify && f.Status == st
}

// TestForgedReply: something on the USB line turns the reader's "no match" into a
// "match" for slot 0. It cannot compute the MAC, so the driver rejects the reply.
func TestForgedReply(t *testing.T) {
	s := pairedSim(t)
	tp := &tap{}
	r, dev := openReader(t, s, tapBus{s.Bus(), tp})
	enroll(t, r, s, "alice", 0, 1)
	forged := 0
	tp.set(func(b []byte) []byte {
		if !final(b, fp.StatusNoMatch) {
			return b
		}
		f, _ := fp.Parse(b)
		f.Status, f.Body = fp.StatusMatch, binary.BigEndian.AppendUint32(nil, 0)
		forged++
		return f.Marshal() // the old MAC: it does not cover the new status and body
	})
	s.Present(fpsim.Unknown, 0)
	m, err := r.Verify(ctxT(t), nil)
	if !errors.Is(err, fp.ErrForged) || m.Matched || forged != 1 {
		t.Errorf("forged match: %+v, %v (forged %d), want ErrForged", m, err, forged)
	}
	// A MAC made up under a guessed key is no better.
	tp.set(func(b []byte) []byte {
		if !final(b, fp.StatusNoMatch) {
			return b
		}
		f, _ := fp.Parse(b)
		f.Status, f.Body = fp.StatusMatch, binary.BigEndian.AppendUint32(nil, 0)
		f.MAC = fp.ReplyMAC(make([]byte, fp.KeySize), &fp.Frame{}, &f)
		return f.Marshal()
	})
	s.Present(fpsim.Unknown, 0)
	if m, err := r.Verify(ctxT(t), nil); !errors.Is(err, fp.ErrForged) || m.Matched {
		t.Errorf("match under a guessed key: %+v, %v", m, err)
	}
	// Garbage is rejected as such, and the reader is still usable afterwards.
	tp.set(func(b []byte) []byte {
		if final(b, fp.StatusNoMatch) {
			return b[:10]
		}
		return b
	})
	s.Present(fpsim.Unknown, 0)
	if _, err := r.Verify(ctxT(t), nil); !errors.Is(err, fp.ErrMalformed) {
		t.Errorf("truncated reply: %v, want ErrMalformed", err)
	}
	tp.set(nil)
	s.Present("alice", 0)
	if m, err := r.Verify(ctxT(t), nil); err != nil || !m.Matched {
		t.Errorf("honest verify after the attacks: %+v, %v", m, err)
	}
	closeAndCheck(t, r, dev)
}

// TestReplayedReply: a genuine "match" recorded from an earlier verification is sent
// again in place of the reader's answer to a later one. Its MAC is genuine, but it
// carries the earlier command's nonce, so the driver rejects it.
func TestReplayedReply(t *testing.T) {
	s := pairedSim(t)
	tp := &tap{}
	r, dev := openReader(t, s, tapBus{s.Bus(), tp})
	enroll(t, r, s, "alice", 2, 1)
	var recorded []byte
	tp.set(func(b []byte) []byte {
		if final(b, fp.StatusMatch) {
			recorded = b
		}
		return b
	})
	s.Present("alice", 0)
	if m, err := r.Verify(ctxT(t), nil); err != nil || !m.Matched {
		t.Fatalf("verify alice: %+v, %v", m, err)
	}
	if recorded == nil {
		t.Fatal("no match reply recorded")
	}
	tp.set(func(b []byte) []byte {
		if final(b, fp.StatusNoMatch) {
			return recorded
		}
		return b
	})
	s.Present(fpsim.Unknown, 0)
	m, err := r.Verify(ctxT(t), nil)
	if !errors.Is(err, fp.ErrReplayed) || m.Matched {
		t.Errorf("replayed match: %+v, %v, want ErrReplayed", m, err)
	}
	// A reply repeated within one command (same nonce, genuine MAC) is refused too:
	// the reader's "place your finger" sent twice.
	tp.set(func(b []byte) []byte {
		if f, err := fp.Parse(b); err == nil && f.Status == fp.StatusEvent {
			recorded = b
		}
		if final(b, fp.StatusMatch) {
			return recorded
		}
		return b
	})
	s.Present("alice", 0)
	if _, err := r.Verify(ctxT(t), nil); !errors.Is(err, fp.ErrReplayed) {
		t.Errorf("repeated event in place of the result: %v, want ErrReplayed", err)
	}
	closeAndCheck(t, r, dev)
}

// TestAlteredCommand: a delete whose slot is changed on the way is refused by the
// reader (its MAC no longer verifies), and the driver reports ErrRefused.
func TestAlteredCommand(t *testing.T) {
	s := pairedSim(t)
	tp := &tap{}
	r, dev := openReader(t, s, tapBus{s.Bus(), tp})
	enroll(t, r, s, "alice", 1, 1)
	tp.mu.Lock()
	tp.out = func(b []byte) []byte {
		if f, err := fp.Parse(b); err == nil && f.Op == fp.OpDelete {
			f.Body[3] = 1 // slot 2 becomes slot 1
			return f.Marshal()
		}
		return b
	}
	tp.mu.Unlock()
	if err := r.Delete(ctxT(t), 2); !errors.Is(err, fp.ErrRefused) {
		t.Errorf("altered delete: %v, want ErrRefused", err)
	}
	if slots, err := r.List(ctxT(t)); err != nil || len(slots) != 1 || slots[0] != 1 {
		t.Errorf("slots after the altered delete: %v, %v", slots, err)
	}
	closeAndCheck(t, r, dev)
}
