package usbsim

import (
	"context"
	"errors"
	"testing"
	"time"

	"jukiterm/devices/usb"
)

// echo answers each OUT transfer with the same bytes on IN.
type echo struct{ ch chan []byte }

func (e echo) Out(_ uint8, b []byte) error { e.ch <- b; return nil }
func (e echo) In(ctx context.Context, _ uint8, buf []byte) (int, error) {
	select {
	case b := <-e.ch:
		return copy(buf, b), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

var stick = usb.DeviceInfo{VendorID: 0x0781, ProductID: 0x5567, Manufacturer: "SanDisk", Product: "Cruzer Blade",
	Serial: "4C530001234567890123", Interfaces: []usb.InterfaceInfo{{Class: usb.ClassMassStorage, SubClass: 6, Protocol: 0x50}}}

var gadget = usb.DeviceInfo{VendorID: 0x1234, ProductID: 0x5678, Class: usb.ClassVendor,
	Interfaces: []usb.InterfaceInfo{{Class: usb.ClassVendor, Endpoints: []usb.EndpointInfo{{Address: 0x01, Type: usb.Bulk}, {Address: 0x81, Type: usb.Bulk}}}}}

func TestBus(t *testing.T) {
	var _ usb.Bus = (*Bus)(nil)
	b := NewBus(1)
	s := b.Attach(stick, nil)
	d := b.Attach(gadget, echo{make(chan []byte, 4)})
	devs, _ := b.Devices()
	if len(devs) != 2 || devs[0].Address != 2 || devs[1].Address != 3 || devs[0].Port != "1-1" || !devs[0].HasInterfaceClass(usb.ClassMassStorage) {
		t.Fatalf("devices: %+v", devs)
	}
	h, err := b.Open(devs[1])
	if err != nil {
		t.Fatal(err)
	}
	in, err := h.Claim(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := b.Open(devs[1])
	if _, err := h2.Claim(0, 0); !errors.Is(err, usb.ErrBusy) {
		t.Errorf("second claim: %v", err)
	}
	h2.Close()
	ctx := context.Background()
	in.Write(ctx, 0x01, []byte("hi"))
	buf := make([]byte, 8)
	if n, err := in.Read(ctx, 0x81, buf); err != nil || string(buf[:n]) != "hi" {
		t.Errorf("echo: %q %v", buf[:n], err)
	}
	// A read waiting when the device is unplugged ends with ErrGone.
	go func() { time.Sleep(20 * time.Millisecond); b.Detach(d) }()
	if _, err := in.Read(ctx, 0x81, buf); !errors.Is(err, usb.ErrGone) {
		t.Errorf("read across the unplug: %v", err)
	}
	if _, err := in.Write(ctx, 0x01, buf); !errors.Is(err, usb.ErrGone) {
		t.Errorf("write after the unplug: %v", err)
	}
	if !d.Claimed() || d.Opens() != 1 {
		t.Error("the claim should stay until released")
	}
	h.Close()
	if d.Claimed() || d.Opens() != 0 {
		t.Error("Close left a claim or a handle")
	}
	if _, err := b.Open(devs[1]); !errors.Is(err, usb.ErrGone) {
		t.Errorf("open an unplugged device: %v", err)
	}
	b.Detach(s)
	b.Detach(s)
	if devs, _ := b.Devices(); len(devs) != 0 {
		t.Errorf("left: %v", devs)
	}
}
