package fingerprint_test

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	fp "jukiterm/devices/fingerprint"
	"jukiterm/devices/usb"
	fpsim "jukiterm/hwsim/fingerprint"
	"jukiterm/hwsim/usbsim"
)

var testKey = bytes.Repeat([]byte{0x5a}, fp.KeySize)

// startSim starts a simulated reader with its state in a temporary directory.
func startSim(t *testing.T, o fpsim.Options) *fpsim.Sim {
	t.Helper()
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Poll == 0 {
		o.Poll = 5 * time.Millisecond
	}
	s, err := fpsim.Start(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pairedSim starts a simulated reader and pairs it with testKey.
func pairedSim(t *testing.T) *fpsim.Sim {
	t.Helper()
	s := startSim(t, fpsim.Options{})
	r, err := fp.Open(s.Bus(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Pair(ctxT(t), testKey); err != nil {
		t.Fatal(err)
	}
	return s
}

// openReader opens the reader on bus with testKey, closed at cleanup; it returns the
// simulated device it claimed, for assertReleased.
func openReader(t *testing.T, s *fpsim.Sim, bus usb.Bus) (*fp.Reader, *usbsim.Device) {
	t.Helper()
	if bus == nil {
		bus = s.Bus()
	}
	r, err := fp.Open(bus, testKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	dev := s.Device()
	if !dev.Claimed() || dev.Opens() != 1 {
		t.Fatalf("after Open the reader is not claimed (claimed %v, %d handles)", dev.Claimed(), dev.Opens())
	}
	return r, dev
}

// closeAndCheck closes r and checks that dev has no claim and no open handle left.
func closeAndCheck(t *testing.T, r *fp.Reader, dev *usbsim.Device) {
	t.Helper()
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if dev.Claimed() || dev.Opens() != 0 {
		t.Errorf("after Close the reader is still claimed (claimed %v, %d handles)", dev.Claimed(), dev.Opens())
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// recorder collects events.
type recorder struct {
	mu  sync.Mutex
	got []fp.Event
	on  func(e fp.Event, n, of int)
}

func (r *recorder) events(e fp.Event, n, of int) {
	r.mu.Lock()
	r.got = append(r.got, e)
	on := r.on
	r.mu.Unlock()
	if on != nil {
		on(e, n, of)
	}
}

func (r *recorder) list() []fp.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// tapBus passes everything through to a bus, but lets a test rewrite each frame the
// reader sends before the driver sees it: a man in the middle on the USB line.
type tapBus struct {
	usb.Bus
	tap *tap
}

type tap struct {
	mu  sync.Mutex
	in  func(frame []byte) []byte // the reader's frames; nil: pass through
	out func(frame []byte) []byte // the driver's frames; nil: pass through
}

func (t *tap) set(f func([]byte) []byte) { t.mu.Lock(); t.in = f; t.mu.Unlock() }

func (b tapBus) Open(i usb.DeviceInfo) (usb.Device, error) {
	d, err := b.Bus.Open(i)
	if err != nil {
		return nil, err
	}
	return tapDev{d, b.tap}, nil
}

type tapDev struct {
	usb.Device
	tap *tap
}

func (d tapDev) Claim(n, alt int) (usb.Interface, error) {
	i, err := d.Device.Claim(n, alt)
	if err != nil {
		return nil, err
	}
	return tapIntf{i, d.tap}, nil
}

type tapIntf struct {
	usb.Interface
	tap *tap
}

func (i tapIntf) Write(ctx context.Context, ep uint8, b []byte) (int, error) {
	i.tap.mu.Lock()
	f := i.tap.out
	i.tap.mu.Unlock()
	if f != nil {
		b = f(slices.Clone(b))
	}
	return i.Interface.Write(ctx, ep, b)
}

// Read passes the reader's frame through the tap; a frame the tap turns into nil is
// dropped, and the read waits for the next.
func (i tapIntf) Read(ctx context.Context, ep uint8, b []byte) (int, error) {
	for {
		n, err := i.Interface.Read(ctx, ep, b)
		i.tap.mu.Lock()
		f := i.tap.in
		i.tap.mu.Unlock()
		if err != nil || f == nil {
			return n, err
		}
		if out := f(slices.Clone(b[:n])); out != nil {
			return copy(b, out), nil
		}
	}
}
