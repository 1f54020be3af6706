// Package usbsim is a simulated USB bus implementing devices/usb.Bus. Simulated
// devices (gadgets) with real-looking descriptors are attached and detached at run
// time; drivers see them exactly as they see libusb's. It knows nothing of any device
// class: hwsim/fingerprint attaches a reader, and media sticks can be attached the same
// way. Each device records whether it is open and claimed, so tests can check that a
// driver released it.
package usbsim

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"jukiterm/devices/usb"
)

// Gadget is the device side of a simulated device: it receives bulk OUT transfers and
// produces bulk IN transfers. A gadget without bulk endpoints (a stick seen only by
// enumeration) may return an error from both.
type Gadget interface {
	// Out receives one bulk OUT transfer on endpoint ep.
	Out(ep uint8, b []byte) error
	// In waits for the gadget's next bulk IN transfer on ep and copies it into buf;
	// it returns ctx.Err() when ctx ends first. The bus ends ctx on detach.
	In(ctx context.Context, ep uint8, buf []byte) (int, error)
}

// Bus is a simulated bus (number 1 unless set with NewBus).
type Bus struct {
	mu   sync.Mutex
	num  int
	next int // next address
	port int // next port
	devs []*Device
}

// NewBus returns an empty bus with bus number num.
func NewBus(num int) *Bus { return &Bus{num: num, next: 2, port: 1} }

// Device is a device attached to a Bus (or detached from it: then every transfer of
// its handles fails with usb.ErrGone).
type Device struct {
	bus    *Bus
	info   usb.DeviceInfo
	gadget Gadget
	gone   chan struct{}

	mu      sync.Mutex
	opens   int
	claimed map[int]bool
}

// Attach plugs a device in: info gives its descriptors and strings; the bus assigns
// Bus, Address and Port.
func (b *Bus) Attach(info usb.DeviceInfo, g Gadget) *Device {
	b.mu.Lock()
	defer b.mu.Unlock()
	info.Bus, info.Address, info.Port = b.num, b.next, fmt.Sprintf("%d-%d", b.num, b.port)
	b.next++
	b.port++
	d := &Device{bus: b, info: info, gadget: g, gone: make(chan struct{}), claimed: map[int]bool{}}
	b.devs = append(b.devs, d)
	return d
}

// Detach unplugs d: its open handles fail with usb.ErrGone from now on and their
// waiting reads end. Detaching twice is harmless.
func (b *Bus) Detach(d *Device) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if i := slices.Index(b.devs, d); i >= 0 {
		b.devs = slices.Delete(b.devs, i, i+1)
		close(d.gone)
	}
}

// Devices lists the attached devices.
func (b *Bus) Devices() ([]usb.DeviceInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]usb.DeviceInfo, len(b.devs))
	for i, d := range b.devs {
		out[i] = d.info
	}
	return out, nil
}

// Open opens the attached device at info's bus and address.
func (b *Bus) Open(info usb.DeviceInfo) (usb.Device, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, d := range b.devs {
		if d.info.Bus == info.Bus && d.info.Address == info.Address && d.info.VendorID == info.VendorID && d.info.ProductID == info.ProductID {
			d.mu.Lock()
			d.opens++
			d.mu.Unlock()
			return &handle{d: d}, nil
		}
	}
	return nil, fmt.Errorf("open %v: %w", info, usb.ErrGone)
}

// Info returns the device's description.
func (d *Device) Info() usb.DeviceInfo { return d.info }

// Claimed reports whether any interface of d is claimed.
func (d *Device) Claimed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.claimed) > 0
}

// Opens is the number of handles of d not yet closed.
func (d *Device) Opens() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.opens
}

// Attached reports whether d is still plugged in.
func (d *Device) Attached() bool {
	select {
	case <-d.gone:
		return false
	default:
		return true
	}
}

// Gone is closed when d is detached.
func (d *Device) Gone() <-chan struct{} { return d.gone }

type handle struct {
	d      *Device
	mu     sync.Mutex
	closed bool
	claims []*claim
}

func (h *handle) Info() usb.DeviceInfo { return h.d.info }

func (h *handle) Claim(iface, alt int) (usb.Interface, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, usb.ErrClosed
	}
	if !h.d.Attached() {
		return nil, fmt.Errorf("claim interface %d of %v: %w", iface, h.d.info, usb.ErrGone)
	}
	if _, ok := h.d.info.Interface(iface); !ok || alt != 0 {
		return nil, fmt.Errorf("claim interface %d alternate %d of %v: no such interface", iface, alt, h.d.info)
	}
	h.d.mu.Lock()
	defer h.d.mu.Unlock()
	if h.d.claimed[iface] {
		return nil, fmt.Errorf("claim interface %d of %v: %w", iface, h.d.info, usb.ErrBusy)
	}
	h.d.claimed[iface] = true
	c := &claim{h: h, iface: iface}
	h.claims = append(h.claims, c)
	return c, nil
}

func (h *handle) Close() error {
	h.mu.Lock()
	cs := h.claims
	h.mu.Unlock()
	for _, c := range cs {
		c.Release()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	h.d.mu.Lock()
	h.d.opens--
	h.d.mu.Unlock()
	return nil
}

type claim struct {
	h     *handle
	iface int
	mu    sync.Mutex
	done  bool
}

func (c *claim) check() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return usb.ErrClosed
	}
	if !c.h.d.Attached() {
		return fmt.Errorf("%v: %w", c.h.d.info, usb.ErrGone)
	}
	return nil
}

func (c *claim) Write(ctx context.Context, ep uint8, b []byte) (int, error) {
	if err := c.check(); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := c.h.d.gadget.Out(ep, slices.Clone(b)); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (c *claim) Read(ctx context.Context, ep uint8, b []byte) (int, error) {
	if err := c.check(); err != nil {
		return 0, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.h.d.gone:
			cancel()
		case <-rctx.Done():
		}
	}()
	n, err := c.h.d.gadget.In(rctx, ep, b)
	if err != nil && ctx.Err() == nil && !c.h.d.Attached() {
		return 0, fmt.Errorf("%v: %w", c.h.d.info, usb.ErrGone)
	}
	return n, err
}

func (c *claim) Release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return nil
	}
	c.done = true
	c.h.d.mu.Lock()
	delete(c.h.d.claimed, c.iface)
	c.h.d.mu.Unlock()
	return nil
}
