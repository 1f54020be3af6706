package daemon

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	fp "jukiterm/devices/fingerprint"
	fpsim "jukiterm/hwsim/fingerprint"
)

// simReader is the simulated reader (hwsim) behind the real driver (devices/), paired
// with a key of the test's, as jukitermd's own reader (cmd/internal/hw) is.
type simReader struct {
	sim *fpsim.Sim
	key []byte
}

func newSimReader(t *testing.T) *simReader {
	t.Helper()
	sim, err := fpsim.Start(t.TempDir(), fpsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	d, err := fp.Open(sim.Bus(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Pair(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	return &simReader{sim: sim, key: key}
}

func (r *simReader) Verify(ctx context.Context, slot uint32, prompt func(string)) (bool, error) {
	d, err := fp.Open(r.sim.Bus(), r.key)
	if err != nil {
		return false, err
	}
	defer d.Close()
	m, err := d.VerifySlot(ctx, slot, nil)
	return m.Matched && m.Slot == slot, err
}

func (r *simReader) Enroll(ctx context.Context, slot uint32, prompt func(string)) error {
	d, err := fp.Open(r.sim.Bus(), r.key)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Enroll(ctx, slot, 3, nil)
}

func (r *simReader) Delete(ctx context.Context, slot uint32) error {
	d, err := fp.Open(r.sim.Bus(), r.key)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Delete(ctx, slot)
}

func (r *simReader) Present(name string) error         { return r.sim.Present(name, 0) }
func (r *simReader) PresentForEnrol(name string) error { return r.sim.Present(name, 10*time.Second) }
func (r *simReader) Lift() error                       { return fpsim.Lift(r.sim.Dir()) }

// enrol puts name's finger in slot.
func (r *simReader) enrol(t *testing.T, slot uint32, name string) {
	t.Helper()
	r.PresentForEnrol(name)
	defer r.Lift()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.Enroll(ctx, slot, nil); err != nil {
		t.Fatal(err)
	}
}

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
