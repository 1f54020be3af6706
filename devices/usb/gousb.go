package usb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/gousb"
)

// GousbOptions configure the libusb bus.
type GousbOptions struct {
	// SysfsRoot is where the strings of enumerated devices are read
	// (SysfsRoot/bus/usb/devices/*); "" means /sys. Tests under umockdev-run set
	// $UMOCKDEV_DIR/sys: umockdev redirects libusb's reads of /sys, not Go's.
	SysfsRoot string
	// ControlTimeout bounds each string-descriptor request; 0 means 1 s.
	ControlTimeout time.Duration
}

// GousbBus is the real bus: libusb 1.0 through github.com/google/gousb.
type GousbBus struct {
	ctx  *gousb.Context
	opts GousbOptions
}

// OpenGousb initialises libusb. Close it when done.
func OpenGousb(o GousbOptions) (b *GousbBus, err error) {
	if o.SysfsRoot == "" {
		o.SysfsRoot = "/sys"
	}
	if o.ControlTimeout == 0 {
		o.ControlTimeout = time.Second
	}
	defer func() { // gousb panics when libusb_init fails
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("libusb_init: %v", p)
		}
	}()
	return &GousbBus{ctx: gousb.NewContext(), opts: o}, nil
}

// Close ends the libusb context; every device must be closed first.
func (b *GousbBus) Close() error { return b.ctx.Close() }

// Devices lists the devices libusb sees, without opening them; the strings come from
// sysfs (the kernel read them at enumeration).
func (b *GousbBus) Devices() ([]DeviceInfo, error) {
	var out []DeviceInfo
	_, err := b.ctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		out = append(out, infoOf(d))
		return false
	})
	if err != nil {
		return out, fmt.Errorf("libusb_get_device_list: %w", err)
	}
	s := sysfsStrings(b.opts.SysfsRoot)
	for i := range out {
		if st, ok := s[[2]int{out[i].Bus, out[i].Address}]; ok {
			out[i].Port, out[i].Manufacturer, out[i].Product, out[i].Serial = st.port, st.manufacturer, st.product, st.serial
		}
	}
	return out, nil
}

// Open opens the device at info's bus and address. Strings sysfs did not give are read
// from the device's string descriptors.
func (b *GousbBus) Open(info DeviceInfo) (Device, error) {
	devs, err := b.ctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		return d.Bus == info.Bus && d.Address == info.Address &&
			uint16(d.Vendor) == info.VendorID && uint16(d.Product) == info.ProductID
	})
	if len(devs) == 0 {
		if err != nil {
			return nil, fmt.Errorf("open %v: %w (%v)", info, ErrGone, err)
		}
		return nil, fmt.Errorf("open %v: %w", info, ErrGone)
	}
	for _, d := range devs[1:] {
		d.Close()
	}
	d := devs[0]
	d.ControlTimeout = b.opts.ControlTimeout
	got := infoOf(d.Desc)
	got.Port, got.Manufacturer, got.Product, got.Serial = info.Port, info.Manufacturer, info.Product, info.Serial
	fill := func(s *string, f func() (string, error)) {
		if *s == "" {
			*s, _ = f() // best effort: a device without the string answers with an error
		}
	}
	fill(&got.Manufacturer, d.Manufacturer)
	fill(&got.Product, d.Product)
	fill(&got.Serial, d.SerialNumber)
	return &gousbDevice{dev: d, info: got}, nil
}

type gousbDevice struct {
	mu     sync.Mutex
	dev    *gousb.Device
	info   DeviceInfo
	claim  *gousbInterface
	closed bool
}

func (d *gousbDevice) Info() DeviceInfo { return d.info }

func (d *gousbDevice) Claim(iface, alt int) (Interface, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	if d.claim != nil {
		return nil, fmt.Errorf("claim interface %d of %v: %w (this process holds it)", iface, d.info, ErrBusy)
	}
	n, err := d.dev.ActiveConfigNum()
	if err != nil {
		return nil, fmt.Errorf("claim interface %d of %v: %w", iface, d.info, mapErr(err))
	}
	cfg, err := d.dev.Config(n)
	if err != nil {
		return nil, fmt.Errorf("claim interface %d of %v: %w", iface, d.info, mapErr(err))
	}
	in, err := cfg.Interface(iface, alt)
	if err != nil {
		cfg.Close()
		return nil, fmt.Errorf("claim interface %d of %v: %w", iface, d.info, mapErr(err))
	}
	d.claim = &gousbInterface{dev: d, cfg: cfg, intf: in, in: map[uint8]*gousb.InEndpoint{}, out: map[uint8]*gousb.OutEndpoint{}}
	return d.claim, nil
}

func (d *gousbDevice) Close() error {
	d.mu.Lock()
	c := d.claim
	d.mu.Unlock()
	if c != nil {
		c.Release()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	return mapErr(d.dev.Close())
}

type gousbInterface struct {
	dev  *gousbDevice
	mu   sync.Mutex
	cfg  *gousb.Config
	intf *gousb.Interface
	in   map[uint8]*gousb.InEndpoint
	out  map[uint8]*gousb.OutEndpoint
	gone bool
}

func (i *gousbInterface) Write(ctx context.Context, ep uint8, b []byte) (int, error) {
	i.mu.Lock()
	if i.gone {
		i.mu.Unlock()
		return 0, ErrClosed
	}
	e, ok := i.out[ep]
	if !ok {
		var err error
		if e, err = i.intf.OutEndpoint(int(ep & 0x0f)); err != nil {
			i.mu.Unlock()
			return 0, fmt.Errorf("endpoint 0x%02x: %w", ep, mapErr(err))
		}
		i.out[ep] = e
	}
	i.mu.Unlock()
	n, err := e.WriteContext(ctx, b)
	return n, transferErr(ctx, err)
}

func (i *gousbInterface) Read(ctx context.Context, ep uint8, b []byte) (int, error) {
	i.mu.Lock()
	if i.gone {
		i.mu.Unlock()
		return 0, ErrClosed
	}
	e, ok := i.in[ep]
	if !ok {
		var err error
		if e, err = i.intf.InEndpoint(int(ep & 0x0f)); err != nil {
			i.mu.Unlock()
			return 0, fmt.Errorf("endpoint 0x%02x: %w", ep, mapErr(err))
		}
		i.in[ep] = e
	}
	i.mu.Unlock()
	n, err := e.ReadContext(ctx, b)
	return n, transferErr(ctx, err)
}

func (i *gousbInterface) Release() error {
	i.mu.Lock()
	if i.gone {
		i.mu.Unlock()
		return nil
	}
	i.gone = true
	i.intf.Close() // libusb_release_interface; an unplugged device's error is ignored by gousb
	err := i.cfg.Close()
	i.mu.Unlock()
	i.dev.mu.Lock()
	i.dev.claim = nil
	i.dev.mu.Unlock()
	return mapErr(err)
}

// transferErr gives ctx's error for a transfer cancelled because ctx ended.
func transferErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && errors.Is(err, gousb.TransferCancelled) {
		return ctx.Err()
	}
	return mapErr(err)
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gousb.ErrorNoDevice), errors.Is(err, gousb.TransferNoDevice):
		return fmt.Errorf("%w (%v)", ErrGone, err)
	case errors.Is(err, gousb.ErrorBusy):
		return fmt.Errorf("%w (%v)", ErrBusy, err)
	}
	return err
}
