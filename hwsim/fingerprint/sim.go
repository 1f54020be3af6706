// Package fingerprint simulates a match-on-sensor USB fingerprint reader on a
// simulated bus (hwsim/usbsim). It speaks devices/fingerprint's protocol at the USB
// level, keeps its templates and pairing key in a state directory, and takes its
// fingers, plug state and rates from files there, so that `jukiterm sim finger …` and
// `jukiterm sim reader …` in another process drive the reader inside jukitermd.
package fingerprint

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	fp "jukiterm/devices/fingerprint"
	"jukiterm/devices/usb"
	"jukiterm/hwsim/usbsim"
)

// Options configure a simulated reader.
type Options struct {
	// Rates are the false-match and false-non-match rates of each verification
	// (default 0 and 0: exact); a rates.json in the state directory overrides them.
	Rates Rates
	// Seed seeds the draws (0: a random seed).
	Seed uint64
	// Slots is the number of template slots (default 64).
	Slots int
	// Poll is how often the state directory is read (default 20 ms).
	Poll time.Duration
	// Bus is the bus to attach to (default: a new bus of its own, number 1).
	Bus *usbsim.Bus
	// Model is what Info reports.
	Model string
}

// Sim is a running simulated reader.
type Sim struct {
	dir string
	o   Options
	bus *usbsim.Bus

	mu  sync.Mutex // the state file and the random draws
	rng *rand.Rand

	plug   sync.Mutex // dev and g
	dev    *usbsim.Device
	g      *sensor
	serial string

	stop chan struct{}
	done chan struct{}
}

// Start starts the reader whose state is in dir (created if absent) and attaches it to
// the bus unless dir says it is unplugged. Close stops it.
func Start(dir string, o Options) (*Sim, error) {
	if err := o.Rates.check(); err != nil {
		return nil, err
	}
	if o.Slots <= 0 {
		o.Slots = 64
	}
	if o.Slots > 120 {
		return nil, errors.New("at most 120 slots (a list reply must fit in one frame)")
	}
	if o.Poll <= 0 {
		o.Poll = 20 * time.Millisecond
	}
	if o.Bus == nil {
		o.Bus = usbsim.NewBus(1)
	}
	if o.Model == "" {
		o.Model = "jukiterm simulated reader"
	}
	seed := o.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &Sim{dir: dir, o: o, bus: o.Bus, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		stop: make(chan struct{}), done: make(chan struct{})}
	// A serial of its own, kept across restarts.
	if err := s.update(func(st *readerState) {
		if st.Serial == "" {
			st.Serial = newSerial()
		}
		s.serial = st.Serial
	}); err != nil {
		return nil, err
	}
	s.Sync()
	go s.poll()
	return s, nil
}

// Dir is the state directory.
func (s *Sim) Dir() string { return s.dir }

// Bus is the bus the reader is attached to; give it to devices/fingerprint.Open.
func (s *Sim) Bus() *usbsim.Bus { return s.bus }

// Device is the reader's current attachment (nil while unplugged). Each plug-in is a
// new Device; tests check its Claimed and Opens.
func (s *Sim) Device() *usbsim.Device {
	s.plug.Lock()
	defer s.plug.Unlock()
	return s.dev
}

// Close detaches the reader and stops reading the state directory.
func (s *Sim) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	<-s.done
	s.detach()
	return nil
}

// Present, Unplug and Plug act as the sim commands do, then apply at once.
func (s *Sim) Present(name string, hold time.Duration) error { return Present(s.dir, name, hold) }

// Unplug detaches the reader (and records it in the state directory).
func (s *Sim) Unplug() error {
	if err := SetPlugged(s.dir, false); err != nil {
		return err
	}
	s.Sync()
	return nil
}

// Plug attaches the reader again.
func (s *Sim) Plug() error {
	if err := SetPlugged(s.dir, true); err != nil {
		return err
	}
	s.Sync()
	return nil
}

// Sync applies the plug state recorded in the state directory now.
func (s *Sim) Sync() {
	_, err := os.Stat(filepath.Join(s.dir, unpluggedFile))
	if errors.Is(err, os.ErrNotExist) {
		s.attach()
	} else if err == nil {
		s.detach()
	}
}

func (s *Sim) poll() {
	defer close(s.done)
	t := time.NewTicker(s.o.Poll)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Sync()
		}
	}
}

func (s *Sim) attach() {
	s.plug.Lock()
	defer s.plug.Unlock()
	if s.dev != nil {
		return
	}
	s.g = newSensor(s)
	s.dev = s.bus.Attach(s.descriptor(), s.g)
}

func (s *Sim) detach() {
	s.plug.Lock()
	dev, g := s.dev, s.g
	s.dev, s.g = nil, nil
	if dev != nil {
		s.bus.Detach(dev) // under the lock: no one sees the reader gone but still listed
	}
	s.plug.Unlock()
	if g != nil {
		g.shutdown()
	}
}

// descriptor is what the reader presents: the layout of devices/usb/testdata's
// described reader.
func (s *Sim) descriptor() usb.DeviceInfo {
	m := fp.SimulatedSensor
	return usb.DeviceInfo{
		VendorID: m.VendorID, ProductID: m.ProductID,
		Class: usb.ClassVendor, SubClass: 0x10, Protocol: 0xff,
		Serial: s.serial,
		Interfaces: []usb.InterfaceInfo{{Number: m.Interface, Class: usb.ClassVendor, Endpoints: []usb.EndpointInfo{
			{Address: m.Out, Type: usb.Bulk, MaxPacket: 64},
			{Address: m.In, Type: usb.Bulk, MaxPacket: 64},
			{Address: 0x83, Type: usb.Interrupt, MaxPacket: 8},
		}}},
	}
}

func (s *Sim) load() (readerState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return loadReader(s.dir)
}

func (s *Sim) update(f func(*readerState)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := loadReader(s.dir)
	if err != nil {
		return err
	}
	f(&st)
	return writeJSON(s.dir, readerFile, st, 0o600)
}

// waitFinger waits for a finger on the reader until ctx ends.
func (s *Sim) waitFinger(ctx context.Context) (string, error) {
	t := time.NewTicker(s.o.Poll)
	defer t.Stop()
	for {
		if name, ok := takeFinger(s.dir); ok {
			return name, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-t.C:
		}
	}
}

// rates are the rates in force: rates.json if present, else the options'.
func (s *Sim) rates() Rates {
	var r Rates
	if ok, err := readJSON(s.dir, ratesFile, &r); ok && err == nil && r.check() == nil {
		return r
	}
	return s.o.Rates
}

// match decides a verification of name's finger against every template (only < 0)
// or against slot only. An enrolled finger matches its own slot unless a false
// non-match is drawn, and never another slot (a simplification). Any other finger
// falsely matches each compared template with probability FMR: against N templates
// some slot matches with probability 1-(1-FMR)^N, then a slot drawn among them.
func (s *Sim) match(name string, only int64) (uint32, bool) {
	st, err := s.load()
	if err != nil {
		return 0, false
	}
	return s.decide(st.Templates, s.rates(), name, only)
}

// decide is match on given templates and rates.
func (s *Sim) decide(templates map[uint32]string, r Rates, name string, only int64) (uint32, bool) {
	var slots []uint32
	own, found := uint32(0), false
	for slot, n := range templates {
		if only >= 0 && int64(slot) != only {
			continue
		}
		slots = append(slots, slot)
		if name != "" && n == name && (!found || slot < own) {
			own, found = slot, true
		}
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i] < slots[j] })
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.rng.Float64()
	if found {
		return own, u >= r.FNMR
	}
	if len(slots) == 0 || u >= 1-math.Pow(1-r.FMR, float64(len(slots))) {
		return 0, false
	}
	return slots[s.rng.IntN(len(slots))], true
}
