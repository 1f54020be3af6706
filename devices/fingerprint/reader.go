// Package fingerprint drives a match-on-sensor USB fingerprint reader: the reader keeps
// the templates and answers enroll, verify, delete and list over bulk endpoints, each
// reply carrying the host's nonce and a MAC under the pairing key (docs/fingerprint.md).
// It works on any usb.Bus: libusb (usb.GousbBus) or hwsim's simulated reader.
package fingerprint

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"jukiterm/devices/usb"
)

// Reader is an open, claimed reader. Its methods run one at a time; Close may be
// called at any time and ends the operation under way.
type Reader struct {
	sensor Sensor
	dev    usb.Device
	intf   usb.Interface
	info   Info

	ops  sync.Mutex // one operation on the wire at a time
	key  []byte
	gone bool // the device went away: every operation gives ErrNoReader
	// desync: a cancel got no answer, so replies of an earlier command may still come;
	// the next operation cancels again and discards them first.
	desync bool

	mu     sync.Mutex // guards closed, stop, and writes of info and key
	closed bool
	stop   context.CancelFunc // ends the operation under way

	timeout time.Duration
}

// Info describes the open reader.
type Info struct {
	Sensor Sensor
	Device usb.DeviceInfo
	Model  string // as the reader reports it
	Slots  int    // template slots, numbered 0 … Slots-1
	Paired bool   // authenticated when the Reader has a key; as reported when not
}

// Match is the outcome of a verification.
type Match struct {
	Slot    uint32
	Matched bool
}

// Events receives the reader's intermediate statuses, for the person at the reader.
// n and of count enrollment samples (EventSample); they are 0 otherwise. It runs on
// the operation's goroutine: it should return promptly and may call Info, but no
// other method of the Reader (Close from there would wait for itself).
type Events func(e Event, n, of int)

// Option configures Open.
type Option func(*options) error

type options struct {
	sensors []Sensor
	timeout time.Duration
}

// WithSensors sets the approved models Open looks for (default DefaultSensors).
func WithSensors(s ...Sensor) Option {
	return func(o *options) error {
		if len(s) == 0 {
			return errors.New("WithSensors: no model given")
		}
		o.sensors = s
		return nil
	}
}

// WithTimeout bounds the commands that do not wait for a finger (info, list, delete,
// pair, cancel) and each write; default 2 s.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return errors.New("WithTimeout: the timeout must be positive")
		}
		o.timeout = d
		return nil
	}
}

// Open finds the first reader of an approved model on bus, opens it, claims its
// interface and asks for its description. pairingKey is the 32-byte key the reader was
// paired with, or nil for a reader still to be paired (then only Pair works).
// It fails with ErrNoReader when none is plugged in, ErrInUse when another program
// holds it, and ErrForged when the reader does not answer under pairingKey.
func Open(bus usb.Bus, pairingKey []byte, opts ...Option) (*Reader, error) {
	o := options{sensors: DefaultSensors, timeout: 2 * time.Second}
	for _, f := range opts {
		if err := f(&o); err != nil {
			return nil, err
		}
	}
	if pairingKey != nil && len(pairingKey) != KeySize {
		return nil, fmt.Errorf("the pairing key must be %d bytes, not %d", KeySize, len(pairingKey))
	}
	devs, err := bus.Devices()
	if err != nil {
		return nil, fmt.Errorf("list USB devices: %w", err)
	}
	for _, d := range devs {
		for _, s := range o.sensors {
			if s.Matches(d) {
				return open(bus, d, s, pairingKey, o)
			}
		}
	}
	return nil, ErrNoReader
}

func open(bus usb.Bus, d usb.DeviceInfo, s Sensor, key []byte, o options) (*Reader, error) {
	dev, err := bus.Open(d)
	if err != nil {
		return nil, usbErr(err)
	}
	intf, err := dev.Claim(s.Interface, 0)
	if err != nil {
		dev.Close()
		return nil, usbErr(err)
	}
	r := &Reader{sensor: s, dev: dev, intf: intf, timeout: o.timeout}
	if key != nil {
		r.key = append([]byte(nil), key...)
	}
	r.info = Info{Sensor: s, Device: dev.Info()}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	if err := r.refreshInfo(ctx); err != nil {
		r.Close()
		return nil, timedOut(context.Background(), err)
	}
	return r, nil
}

// Info returns the reader's description as read at Open (and after Pair). It does
// not wait for an operation under way.
func (r *Reader) Info() Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.info
}

// Close ends any operation under way, releases the claimed interface and closes the
// device. It always releases the claim, whatever happened before (error, cancel,
// timeout, unplug), and may be called more than once.
func (r *Reader) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	if r.stop != nil {
		r.stop()
	}
	r.mu.Unlock()
	r.ops.Lock() // the operation under way has sent its cancel and returned
	defer r.ops.Unlock()
	err := r.intf.Release()
	if cerr := r.dev.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, usb.ErrGone) {
		err = nil // released on our side; the device is simply not there any more
	}
	return err
}

// begin takes the operation lock and gives the operation's context, which Close ends.
func (r *Reader) begin(ctx context.Context) (context.Context, func(), error) {
	r.ops.Lock()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.ops.Unlock()
		return nil, nil, ErrClosed
	}
	opCtx, cancel := context.WithCancel(ctx)
	r.stop = cancel
	r.mu.Unlock()
	return opCtx, func() {
		r.mu.Lock()
		r.stop = nil
		r.mu.Unlock()
		cancel()
		r.ops.Unlock()
	}, nil
}

// usbErr turns a bus error into the package's errors.
func usbErr(err error) error {
	switch {
	case errors.Is(err, usb.ErrGone):
		return fmt.Errorf("%w (%v)", ErrNoReader, err)
	case errors.Is(err, usb.ErrBusy):
		return fmt.Errorf("%w (%v)", ErrInUse, err)
	case errors.Is(err, usb.ErrClosed):
		return ErrClosed
	}
	return err
}

func newNonce() [NonceSize]byte {
	var n [NonceSize]byte
	rand.Read(n[:]) // never fails (crypto/rand)
	return n
}
