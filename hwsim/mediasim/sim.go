// Package mediasim simulates hardware-encrypted, security-locked USB sticks on a
// simulated bus (hwsim/usbsim). Each stick is a file in a state directory, so that
// `jukiterm sim usb plug|unplug|lock|unlock` in another process drives the sticks the
// simulator inside jukitermd attaches; its data volume is a directory beside it.
//
// The simulator is also a media.Locator: the volume of a plugged-in, unlocked stick
// behaves like a real one that can be pulled out. Once the stick is unplugged or
// locked, every call on the volume and on its files fails with an error wrapping
// media.ErrGone, and what was not made durable is lost: each file keeps only what
// was written before its last Sync, and an entry created, renamed or removed since
// its directory's last SyncDir is undone. (*Stick).UnplugAfter pulls a stick in the
// middle of a write.
package mediasim

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"jukiterm/devices/media"
	"jukiterm/devices/usb"
	"jukiterm/hwsim/usbsim"
)

// Poll is how often the simulator reads its state directory.
const Poll = 20 * time.Millisecond

// Sim is a running simulator of the sticks in one state directory.
type Sim struct {
	dir string
	bus *usbsim.Bus

	mu     sync.Mutex // sticks; never held while taking a medium's lock
	sticks map[string]*Stick

	stop, done chan struct{}
}

var _ media.Locator = (*Sim)(nil)

// Start starts the simulator of the sticks in dir (created if absent) on bus (nil: a
// new bus of its own, number 1) and attaches those plugged in. Close stops it.
func Start(dir string, bus *usbsim.Bus) (*Sim, error) {
	if bus == nil {
		bus = usbsim.NewBus(1)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if _, err := List(dir); err != nil {
		return nil, fmt.Errorf("the simulated sticks in %s: %w", dir, err)
	}
	s := &Sim{dir: dir, bus: bus, sticks: map[string]*Stick{}, stop: make(chan struct{}), done: make(chan struct{})}
	s.Sync()
	go s.poll()
	return s, nil
}

// Dir is the state directory.
func (s *Sim) Dir() string { return s.dir }

// Bus is the bus the sticks are attached to.
func (s *Sim) Bus() *usbsim.Bus { return s.bus }

// Close stops reading the state directory and detaches every stick, as a host that
// shuts down does: what was written to the volumes stays (nothing is lost), and the
// sticks stay plugged in for the next Start.
func (s *Sim) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	<-s.done
	s.mu.Lock()
	var all []*Stick
	for serial, k := range s.sticks {
		s.bus.Detach(k.dev)
		delete(s.sticks, serial)
		all = append(all, k)
	}
	s.mu.Unlock()
	for _, k := range all {
		k.release(false)
	}
	return nil
}

func (s *Sim) poll() {
	defer close(s.done)
	t := time.NewTicker(Poll)
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

// Sync applies the state directory now: attaches the sticks plugged in, detaches (and
// pulls the volumes of) those unplugged, locks and unlocks.
func (s *Sim) Sync() {
	list, err := List(s.dir)
	if err != nil {
		return // a stick's file being replaced; the next poll reads it
	}
	want := map[string]StickStatus{}
	for _, st := range list {
		if st.Plugged && st.check() == nil {
			want[st.Serial] = st
		}
	}
	type lockChange struct {
		k      *Stick
		locked bool
	}
	var gone []*Stick
	var changes []lockChange
	s.mu.Lock()
	for serial, k := range s.sticks {
		if st, ok := want[serial]; !ok || st.Plugs != k.plugs {
			// Off the bus before anyone sees its volume gone.
			s.bus.Detach(k.dev)
			delete(s.sticks, serial)
			gone = append(gone, k)
		}
	}
	for serial, st := range want {
		if k, ok := s.sticks[serial]; ok {
			changes = append(changes, lockChange{k, st.Locked})
			continue
		}
		k := &Stick{sim: s, spec: st.StickSpec, plugs: st.Plugs, locked: st.Locked}
		k.budget.Store(-1)
		k.dev = s.bus.Attach(descriptor(st.StickSpec), gadget{})
		s.sticks[serial] = k
	}
	s.mu.Unlock()
	for _, k := range gone {
		k.release(true)
	}
	for _, c := range changes {
		c.k.setLocked(c.locked)
	}
}

// Plug plugs the stick sp describes in (Plug) and attaches it at once.
func (s *Sim) Plug(sp StickSpec) (*Stick, error) {
	if _, err := Plug(s.dir, sp); err != nil {
		return nil, err
	}
	s.Sync()
	return s.Stick(sp.Serial), nil
}

// Stick is the stick with that serial as attached now (nil while unplugged). Each
// plug-in is a new Stick.
func (s *Sim) Stick(serial string) *Stick {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sticks[serial]
}

// Volume implements media.Locator for the sticks on this simulator's bus.
func (s *Sim) Volume(info usb.DeviceInfo) (media.Volume, error) {
	s.mu.Lock()
	var k *Stick
	for _, c := range s.sticks {
		d := c.dev.Info()
		if d.Bus == info.Bus && d.Address == info.Address && d.VendorID == info.VendorID && d.ProductID == info.ProductID {
			k = c
		}
	}
	s.mu.Unlock()
	if k == nil {
		return nil, fmt.Errorf("find the volume of %v: %w", info, media.ErrGone)
	}
	return k.Volume()
}

// detach takes k off the bus if it is still attached (k unplugged itself).
func (s *Sim) detach(k *Stick) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sticks[k.spec.Serial] == k {
		delete(s.sticks, k.spec.Serial)
	}
	s.bus.Detach(k.dev)
}

// Stick is one plug-in of a simulated stick.
type Stick struct {
	sim    *Sim
	spec   StickSpec
	plugs  uint64 // the plug-in it is (StickStatus.Plugs)
	dev    *usbsim.Device
	budget atomic.Int64 // bytes it takes before it unplugs itself; < 0: no limit

	mu     sync.Mutex // locked, med; never held while taking med's lock
	locked bool
	med    *medium // the volume's state while unlocked and in use
}

// Serial is the stick's serial number.
func (k *Stick) Serial() string { return k.spec.Serial }

// Spec is the stick's description as it was plugged in.
func (k *Stick) Spec() StickSpec { return k.spec }

// Info is what the stick shows on the bus.
func (k *Stick) Info() usb.DeviceInfo { return k.dev.Info() }

// Device is the stick's device on the simulated bus.
func (k *Stick) Device() *usbsim.Device { return k.dev }

// VolumeDir is the directory holding the stick's data volume.
func (k *Stick) VolumeDir() string { return filepath.Join(k.sim.dir, k.spec.Serial, volumeDir) }

// Unplug pulls the stick out (Unplug) and applies it at once.
func (k *Stick) Unplug() error {
	if _, err := Unplug(k.sim.dir, k.spec.Serial); err != nil {
		return err
	}
	k.sim.Sync()
	return nil
}

// Lock closes the stick's security lock (Lock) and applies it at once.
func (k *Stick) Lock() error {
	if _, err := Lock(k.sim.dir, k.spec.Serial); err != nil {
		return err
	}
	k.sim.Sync()
	return nil
}

// Unlock opens the stick's security lock (Unlock) and applies it at once.
func (k *Stick) Unlock() error {
	if _, err := Unlock(k.sim.dir, k.spec.Serial); err != nil {
		return err
	}
	k.sim.Sync()
	return nil
}

// UnplugAfter makes the stick take n more bytes of writes to its volume and unplug
// itself at the write that asks for more: that write writes up to the n-th byte and
// fails with an error wrapping media.ErrGone; the stick is recorded as unplugged in
// the state directory and is off the bus before the write returns. A write ending
// exactly at the n-th byte succeeds. A negative n cancels.
func (k *Stick) UnplugAfter(n int64) {
	if n < 0 {
		n = -1
	}
	k.budget.Store(n)
}

// Volume is the stick's data volume, as the Locator gives it.
func (k *Stick) Volume() (media.Volume, error) {
	info := k.dev.Info()
	if !info.HasInterfaceClass(usb.ClassMassStorage) {
		return nil, fmt.Errorf("%w (%v has no mass-storage interface, so no disk)", media.ErrNotMounted, info)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	// Checked under k.mu: a stick leaves the bus before release takes k.mu, so a
	// medium opened here is either refused or pulled by that release.
	if !k.dev.Attached() {
		return nil, fmt.Errorf("find the volume of %v: %w", info, media.ErrGone)
	}
	if k.locked {
		return nil, fmt.Errorf("%w (%v)", media.ErrLocked, info)
	}
	if k.spec.Unmounted {
		return nil, fmt.Errorf("%w (%v)", media.ErrNotMounted, info)
	}
	if k.med == nil || k.med.gone.Load() {
		m, err := openMedium(k)
		if err != nil {
			return nil, fmt.Errorf("the simulated volume of %v: %w", info, err)
		}
		k.med = m
	}
	return &volume{m: k.med}, nil
}

// setLocked applies a lock change: locking pulls the medium.
func (k *Stick) setLocked(locked bool) {
	k.mu.Lock()
	if k.locked == locked {
		k.mu.Unlock()
		return
	}
	k.locked = locked
	m := k.med
	k.med = nil
	k.mu.Unlock()
	if m != nil {
		m.pull(true)
	}
}

// release ends the medium in use when the stick is detached: lose drops what was
// not durable (a pull), otherwise everything stays (a host shutting down).
func (k *Stick) release(lose bool) {
	k.mu.Lock()
	m := k.med
	k.med = nil
	k.mu.Unlock()
	if m != nil {
		m.pull(lose)
	}
}

// unplugSelf records the stick as unplugged and takes it off the bus; called by a
// write that ran out of UnplugAfter's budget, with the medium's lock held.
func (k *Stick) unplugSelf() {
	k.budget.Store(-1)
	Unplug(k.sim.dir, k.spec.Serial) // best effort: the stick is off this bus anyway
	k.sim.detach(k)
	k.mu.Lock()
	k.med = nil
	k.mu.Unlock()
}
