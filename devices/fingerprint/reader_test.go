package fingerprint_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	fp "jukiterm/devices/fingerprint"
	fpsim "jukiterm/hwsim/fingerprint"
)

// enroll enrolls name's finger in slot with samples samples, presenting the finger
// each time the reader asks for it, as a person would.
func enroll(t *testing.T, r *fp.Reader, s *fpsim.Sim, name string, slot uint32, samples int) []int {
	t.Helper()
	var progress []int
	rec := &recorder{on: func(e fp.Event, n, of int) {
		switch e {
		case fp.EventPlaceFinger, fp.EventLiftFinger:
			if err := s.Present(name, 0); err != nil {
				t.Error(err)
			}
		case fp.EventSample:
			if of != samples {
				t.Errorf("sample %d of %d, want of %d", n, of, samples)
			}
			progress = append(progress, n)
		}
	}}
	if err := r.Enroll(ctxT(t), slot, samples, rec.events); err != nil {
		t.Fatalf("enroll %s in slot %d: %v", name, slot, err)
	}
	return progress
}

func TestEnrollVerify(t *testing.T) {
	s := pairedSim(t)
	r, dev := openReader(t, s, nil)
	if info := r.Info(); !info.Paired || info.Slots != 64 || info.Device.Serial == "" {
		t.Errorf("info: %+v", info)
	}
	if got := enroll(t, r, s, "alice", 5, 3); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("enroll progress %v, want 1 2 3", got)
	}
	enroll(t, r, s, "bob", 7, 1)
	if slots, err := r.List(ctxT(t)); err != nil || !slices.Equal(slots, []uint32{5, 7}) {
		t.Errorf("list: %v, %v", slots, err)
	}
	for _, c := range []struct {
		name string
		slot uint32
	}{{"alice", 5}, {"bob", 7}} {
		s.Present(c.name, 0)
		rec := &recorder{}
		m, err := r.Verify(ctxT(t), rec.events)
		if err != nil || !m.Matched || m.Slot != c.slot {
			t.Errorf("verify %s: %+v, %v; want slot %d", c.name, m, err, c.slot)
		}
		if ev := rec.list(); !slices.Equal(ev, []fp.Event{fp.EventPlaceFinger, fp.EventMatched}) {
			t.Errorf("verify events %v", ev)
		}
	}
	// 1:1 against one slot: alice's finger does not open bob's slot.
	s.Present("alice", 0)
	if m, err := r.VerifySlot(ctxT(t), 7, nil); err != nil || m.Matched {
		t.Errorf("alice against bob's slot: %+v, %v", m, err)
	}
	s.Present("alice", 0)
	if m, err := r.VerifySlot(ctxT(t), 5, nil); err != nil || m != (fp.Match{Slot: 5, Matched: true}) {
		t.Errorf("alice against her slot: %+v, %v", m, err)
	}
	if _, err := r.VerifySlot(ctxT(t), 64, nil); !errors.Is(err, fp.ErrBadSlot) {
		t.Errorf("verify against slot 64 of 64: %v", err)
	}
	// The finger is presented after the reader asked for it.
	rec := &recorder{on: func(e fp.Event, _, _ int) {
		if e == fp.EventPlaceFinger {
			go func() { time.Sleep(30 * time.Millisecond); s.Present("alice", 0) }()
		}
	}}
	if m, err := r.Verify(ctxT(t), rec.events); err != nil || m != (fp.Match{Slot: 5, Matched: true}) {
		t.Errorf("verify with a late finger: %+v, %v", m, err)
	}
	closeAndCheck(t, r, dev)
}

func TestUnknownFinger(t *testing.T) {
	s := pairedSim(t)
	r, dev := openReader(t, s, nil)
	enroll(t, r, s, "alice", 0, 2)
	s.Present(fpsim.Unknown, 0)
	rec := &recorder{}
	m, err := r.Verify(ctxT(t), rec.events)
	if err != nil || m.Matched {
		t.Errorf("unknown finger: %+v, %v; want no match", m, err)
	}
	if ev := rec.list(); !slices.Equal(ev, []fp.Event{fp.EventPlaceFinger, fp.EventNotMatched}) {
		t.Errorf("events %v", ev)
	}
	if fp.EventNotMatched.Message() != "Finger not recognised" {
		t.Errorf("message %q", fp.EventNotMatched.Message())
	}
	closeAndCheck(t, r, dev)
}

func TestDeleteAndSlotErrors(t *testing.T) {
	s := pairedSim(t)
	r, dev := openReader(t, s, nil)
	enroll(t, r, s, "alice", 3, 1)
	if err := r.Enroll(ctxT(t), 3, 1, nil); !errors.Is(err, fp.ErrSlotInUse) {
		t.Errorf("enroll into a used slot: %v", err)
	}
	if err := r.Enroll(ctxT(t), 64, 1, nil); !errors.Is(err, fp.ErrBadSlot) {
		t.Errorf("enroll into slot 64 of 64: %v", err)
	}
	// Samples from two fingers.
	n := 0
	err := r.Enroll(ctxT(t), 4, 2, func(e fp.Event, _, _ int) {
		if e == fp.EventPlaceFinger || e == fp.EventLiftFinger {
			n++
			s.Present([]string{"", "bob", "carol"}[n], 0)
		}
	})
	if !errors.Is(err, fp.ErrSamplesDiffer) {
		t.Errorf("enroll with two fingers: %v", err)
	}
	if err := r.Delete(ctxT(t), 3); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctxT(t), 3); err != nil {
		t.Errorf("deleting an empty slot: %v", err)
	}
	if slots, err := r.List(ctxT(t)); err != nil || len(slots) != 0 {
		t.Errorf("list after delete: %v, %v", slots, err)
	}
	s.Present("alice", 0)
	if m, err := r.Verify(ctxT(t), nil); err != nil || m.Matched {
		t.Errorf("verify a deleted finger: %+v, %v", m, err)
	}
	closeAndCheck(t, r, dev)
}

func TestPairing(t *testing.T) {
	s := startSim(t, fpsim.Options{})
	// Unpaired: only Pair works.
	r, err := fp.Open(s.Bus(), nil)
	if err != nil {
		t.Fatal(err)
	}
	dev := s.Device()
	if r.Paired() {
		t.Error("a new reader says it is paired")
	}
	if _, err := r.Verify(ctxT(t), nil); !errors.Is(err, fp.ErrNotPaired) {
		t.Errorf("verify on an unpaired reader: %v", err)
	}
	if err := r.Pair(ctxT(t), testKey); err != nil {
		t.Fatal(err)
	}
	if !r.Paired() {
		t.Error("not paired after Pair")
	}
	if err := r.Pair(ctxT(t), testKey); !errors.Is(err, fp.ErrAlreadyPaired) {
		t.Errorf("second pairing: %v", err)
	}
	closeAndCheck(t, r, dev)

	// With the right key it opens paired; with another key it does not answer right.
	r, dev = openReader(t, s, nil)
	if !r.Paired() {
		t.Error("reopened with its key: not paired")
	}
	closeAndCheck(t, r, dev)
	other := make([]byte, fp.KeySize)
	if _, err := fp.Open(s.Bus(), other); !errors.Is(err, fp.ErrForged) {
		t.Errorf("open with another key: %v, want ErrForged", err)
	}
	if dev := s.Device(); dev.Claimed() || dev.Opens() != 0 {
		t.Error("a failed Open left the reader claimed")
	}
	// Another terminal's key: the reader refuses its commands too.
	// A reset reader opened with the old key is unpaired until paired again.
	if err := fpsim.Reset(s.Dir()); err != nil {
		t.Fatal(err)
	}
	r, dev = openReader(t, s, nil)
	if r.Paired() {
		t.Error("a reset reader says it is paired")
	}
	if _, err := r.List(ctxT(t)); !errors.Is(err, fp.ErrNotPaired) {
		t.Errorf("list on a reset reader: %v", err)
	}
	if err := r.Pair(ctxT(t), testKey); err != nil {
		t.Errorf("pair a reset reader: %v", err)
	}
	closeAndCheck(t, r, dev)
}

func TestNoReader(t *testing.T) {
	s := pairedSim(t)
	s.Unplug()
	if _, err := fp.Open(s.Bus(), testKey); !errors.Is(err, fp.ErrNoReader) {
		t.Errorf("open with the reader unplugged: %v", err)
	}
	if err := fp.ErrNoReader.Error(); err != "the fingerprint reader is not connected: plug it in and try again" {
		t.Errorf("message %q", err)
	}
	s.Plug()
	r, dev := openReader(t, s, nil)
	closeAndCheck(t, r, dev)
}

func TestUnplugDuringVerify(t *testing.T) {
	s := pairedSim(t)
	r, dev := openReader(t, s, nil)
	rec := &recorder{on: func(e fp.Event, _, _ int) {
		if e == fp.EventPlaceFinger {
			go s.Unplug()
		}
	}}
	_, err := r.Verify(ctxT(t), rec.events)
	if !errors.Is(err, fp.ErrNoReader) {
		t.Fatalf("verify while unplugged: %v, want ErrNoReader", err)
	}
	if _, err := r.List(ctxT(t)); !errors.Is(err, fp.ErrNoReader) {
		t.Errorf("list after the unplug: %v", err)
	}
	if !dev.Claimed() {
		t.Error("the claim vanished before Close (it should be released by Close)")
	}
	closeAndCheck(t, r, dev)
	// Plugged in again, it opens again with its templates.
	s.Plug()
	r, dev = openReader(t, s, nil)
	closeAndCheck(t, r, dev)
}

func TestCancel(t *testing.T) {
	s := pairedSim(t)
	r, dev := openReader(t, s, nil)
	enroll(t, r, s, "alice", 1, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()
	_, err := r.Verify(ctx, nil)
	if !errors.Is(err, fp.ErrCancelled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("verify past its deadline: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(30 * time.Millisecond); cancel() }()
	if err := r.Enroll(ctx, 2, 3, nil); !errors.Is(err, fp.ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled enroll: %v", err)
	}
	// The reader was told to cancel: it takes the next command at once.
	s.Present("alice", 0)
	if m, err := r.Verify(ctxT(t), nil); err != nil || !m.Matched || m.Slot != 1 {
		t.Errorf("verify after cancels: %+v, %v", m, err)
	}
	closeAndCheck(t, r, dev)
}

func TestCloseDuringVerify(t *testing.T) {
	s := pairedSim(t)
	r, dev := openReader(t, s, nil)
	done := make(chan error, 1)
	placed := make(chan struct{})
	go func() {
		_, err := r.Verify(context.Background(), func(e fp.Event, _, _ int) {
			if e == fp.EventPlaceFinger {
				close(placed)
			}
		})
		done <- err
	}()
	<-placed
	closeAndCheck(t, r, dev)
	if err := <-done; !errors.Is(err, fp.ErrCancelled) {
		t.Errorf("verify ended by Close: %v", err)
	}
	if _, err := r.Verify(ctxT(t), nil); !errors.Is(err, fp.ErrClosed) {
		t.Errorf("verify after Close: %v", err)
	}
}

// TestRatesThroughDriver: the simulator's rates reach the driver over the protocol.
// The seed fixes the outcome; the bound (5 standard deviations) says it is plausible.
func TestRatesThroughDriver(t *testing.T) {
	s := startSim(t, fpsim.Options{Rates: fpsim.Rates{FMR: 0.2, FNMR: 0.3}})
	r, err := fp.Open(s.Bus(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Pair(ctxT(t), testKey); err != nil {
		t.Fatal(err)
	}
	dev := s.Device()
	enroll(t, r, s, "alice", 0, 1)
	const n = 300
	count := func(name string) (matched int) {
		s.Present(name, time.Minute)
		defer fpsim.Lift(s.Dir())
		for range n {
			m, err := r.VerifySlot(ctxT(t), 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			if m.Matched {
				matched++
			}
		}
		return matched
	}
	fm, genuine := count(fpsim.Unknown), count("alice")
	if fm < 60-5*7 || fm > 60+5*7 { // n·FMR = 60, sd ≈ 6.9
		t.Errorf("%d false matches in %d, want about 60", fm, n)
	}
	if fnm := n - genuine; fnm < 90-5*8 || fnm > 90+5*8 { // n·FNMR = 90, sd ≈ 7.9
		t.Errorf("%d false non-matches in %d, want about 90", fnm, n)
	}
	t.Logf("false matches %d/%d, false non-matches %d/%d", fm, n, n-genuine, n)
	closeAndCheck(t, r, dev)
}

// TestSilentReader: a device that takes commands but never answers gives ErrNoAnswer
// at Open, within the timeout, and is released.
func TestSilentReader(t *testing.T) {
	s := pairedSim(t)
	tp := &tap{}
	tp.set(func([]byte) []byte { return nil }) // every reply lost
	start := time.Now()
	_, err := fp.Open(tapBus{s.Bus(), tp}, testKey, fp.WithTimeout(100*time.Millisecond))
	if !errors.Is(err, fp.ErrNoAnswer) {
		t.Errorf("open a silent reader: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	if dev := s.Device(); dev.Claimed() || dev.Opens() != 0 {
		t.Error("a failed Open left the reader claimed")
	}
}
