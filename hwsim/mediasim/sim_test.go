package mediasim

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"jukiterm/devices/media"
	"jukiterm/devices/usb"
	"jukiterm/hwsim/usbsim"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 3 s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func start(t *testing.T, dir string) *Sim {
	t.Helper()
	s, err := Start(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// onBus is the device with that serial on bus b.
func onBus(b *usbsim.Bus, serial string) (usb.DeviceInfo, bool) {
	devs, _ := b.Devices()
	for _, d := range devs {
		if d.Serial == serial {
			return d, true
		}
	}
	return usb.DeviceInfo{}, false
}

func TestDescriptors(t *testing.T) {
	a := descriptor(Approved("A1"))
	if a.VendorID != ApprovedVendorID || a.ProductID != ApprovedProductID || a.Serial != "A1" || a.Product != ApprovedProduct || len(a.Interfaces) != 1 {
		t.Fatalf("approved: %+v", a)
	}
	in := a.Interfaces[0]
	if in.Class != usb.ClassMassStorage || in.SubClass != 0x06 || in.Protocol != 0x50 {
		t.Errorf("mass-storage interface: %+v", in)
	}
	if e, ok := in.Endpoint(0x81); !ok || e.Type != usb.Bulk {
		t.Errorf("bulk IN: %+v", in.Endpoints)
	}
	if e, ok := in.Endpoint(0x02); !ok || e.Type != usb.Bulk {
		t.Errorf("bulk OUT: %+v", in.Endpoints)
	}
	c := descriptor(Composite("C1"))
	if !c.HasInterfaceClass(usb.ClassHID) || !c.HasInterfaceClass(usb.ClassMassStorage) || c.VendorID != ApprovedVendorID {
		t.Errorf("composite: %+v", c)
	}
	if h, _ := c.Interface(1); len(h.Endpoints) != 1 || h.Endpoints[0].Type != usb.Interrupt || h.Endpoints[0].Address != 0x83 {
		t.Errorf("composite's keyboard: %+v", h)
	}
	d := descriptor(CDC("D1"))
	if !d.HasInterfaceClass(usb.ClassCDC) || !d.HasInterfaceClass(usb.ClassCDCData) {
		t.Errorf("cdc: %+v", d)
	}
	if u := descriptor(Unknown("U1")); u.VendorID != 0x0781 || !u.HasInterfaceClass(usb.ClassMassStorage) {
		t.Errorf("unknown: %+v", u)
	}
	if len(ModelNames()) != 4 {
		t.Errorf("models: %v", ModelNames())
	}
}

func TestSpecChecks(t *testing.T) {
	dir := t.TempDir()
	for _, sp := range []StickSpec{
		{Serial: "", Interfaces: []int{8}},
		{Serial: "../x", Interfaces: []int{8}},
		{Serial: ".hidden", Interfaces: []int{8}},
		{Serial: "S", Interfaces: nil},
		{Serial: "S", Interfaces: []int{256}},
		{Serial: "S", Interfaces: []int{8}, Capacity: -1},
		{Serial: "S", Interfaces: []int{8}, Product: "tab\there"},
	} {
		if _, err := Plug(dir, sp); err == nil {
			t.Errorf("plugged %+v", sp)
		}
	}
	if _, err := Unplug(dir, "nobody"); !errors.Is(err, ErrNoStick) {
		t.Errorf("unplug an unknown stick: %v", err)
	}
	if _, err := Plug(dir, Approved("S")); err != nil {
		t.Fatal(err)
	}
	if _, err := Plug(dir, Approved("S")); err == nil {
		t.Error("a stick plugged in twice")
	}
}

// TestAcrossProcesses drives two simulators on one state directory, as `jukiterm sim
// usb …` and jukitermd do from two processes: plug, lock, unlock, unplug.
func TestAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	a, b := start(t, dir), start(t, dir)
	if _, err := Plug(dir, Approved("S1")); err != nil {
		t.Fatal(err)
	}
	var info usb.DeviceInfo
	waitFor(t, "the stick on both buses", func() bool {
		var ok1, ok2 bool
		info, ok1 = onBus(a.Bus(), "S1")
		_, ok2 = onBus(b.Bus(), "S1")
		return ok1 && ok2
	})
	v, err := a.Volume(info)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, v, "hello", "first", true)
	if got := readFile(t, v, "hello"); got != "first" {
		t.Errorf("read back %q", got)
	}

	// Locked from the other process: the volume is gone, the stick stays on the bus.
	if _, err := Lock(dir, "S1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lock", func() bool { _, err := a.Volume(info); return errors.Is(err, media.ErrLocked) })
	if _, err := v.ReadDir("."); !errors.Is(err, media.ErrGone) {
		t.Errorf("volume of a locked stick: %v, want ErrGone", err)
	}
	if _, ok := onBus(a.Bus(), "S1"); !ok {
		t.Error("locking took the stick off the bus")
	}
	bi, _ := onBus(b.Bus(), "S1")
	waitFor(t, "the lock in the other simulator", func() bool { _, err := b.Volume(bi); return errors.Is(err, media.ErrLocked) })
	Unlock(dir, "S1")
	waitFor(t, "the unlock", func() bool { _, err := a.Volume(info); return err == nil })
	v, _ = a.Volume(info)
	if got := readFile(t, v, "hello"); got != "first" {
		t.Errorf("after unlocking: %q", got)
	}

	// Unplugged from the other process.
	if _, err := Unplug(dir, "S1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the unplug on both buses", func() bool {
		_, ok1 := onBus(a.Bus(), "S1")
		_, ok2 := onBus(b.Bus(), "S1")
		return !ok1 && !ok2
	})
	if _, err := v.Open("hello"); !errors.Is(err, media.ErrGone) {
		t.Errorf("volume of an unplugged stick: %v, want ErrGone", err)
	}
	if _, err := a.Volume(info); !errors.Is(err, media.ErrGone) {
		t.Errorf("locator for an unplugged stick: %v, want ErrGone", err)
	}
	if a.Stick("S1") != nil {
		t.Error("Stick of an unplugged stick")
	}
	list, _ := List(dir)
	if len(list) != 1 || list[0].Plugged || list[0].Volume != filepath.Join(dir, "S1", "volume") {
		t.Errorf("list: %+v", list)
	}
	if b, err := os.ReadFile(filepath.Join(list[0].Volume, "hello")); err != nil || string(b) != "first" {
		t.Errorf("the volume directory after unplugging: %q %v", b, err)
	}

	// Plugged in again, locked: a new device (new address), no volume until unlocked.
	sp := Approved("S1")
	sp.Locked = true
	if _, err := Plug(dir, sp); err != nil {
		t.Fatal(err)
	}
	var again usb.DeviceInfo
	waitFor(t, "the stick plugged in again", func() bool { var ok bool; again, ok = onBus(a.Bus(), "S1"); return ok })
	if again.Address == info.Address {
		t.Errorf("same address after replugging: %d", again.Address)
	}
	if _, err := a.Volume(again); !errors.Is(err, media.ErrLocked) {
		t.Errorf("plugged in locked: %v", err)
	}
}

// TestReplugBetweenPolls: an unplug and a plug within one poll still make a new
// plug-in, and the volume in use is pulled.
func TestReplugBetweenPolls(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	k, err := s.Plug(Approved("R1"))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := k.Volume()
	f, _ := v.Create("f")
	Unplug(dir, "R1")
	Plug(dir, Approved("R1"))
	s.Sync()
	if _, err := f.Write([]byte("x")); !errors.Is(err, media.ErrGone) {
		t.Errorf("write across a quick replug: %v", err)
	}
	if k2 := s.Stick("R1"); k2 == nil || k2 == k {
		t.Errorf("replugged stick: %v (was %v)", k2, k)
	}
}

func TestNotAVolume(t *testing.T) {
	s := start(t, t.TempDir())
	sp := Approved("M1")
	sp.Unmounted = true
	k, _ := s.Plug(sp)
	if _, err := s.Volume(k.Info()); !errors.Is(err, media.ErrNotMounted) {
		t.Errorf("unmounted: %v", err)
	}
	k, _ = s.Plug(StickSpec{Serial: "K1", VendorID: 0x1234, ProductID: 0x5678, Interfaces: []int{3}})
	if _, err := s.Volume(k.Info()); !errors.Is(err, media.ErrNotMounted) {
		t.Errorf("a keyboard: %v", err)
	}
	// A device not on this bus.
	if _, err := s.Volume(usb.DeviceInfo{Bus: 1, Address: 99, VendorID: 1, ProductID: 2}); !errors.Is(err, media.ErrGone) {
		t.Errorf("no such device: %v", err)
	}
}

// TestCloseKeepsData: a simulator that stops (jukitermd shutting down) loses nothing and
// leaves the sticks plugged in.
func TestCloseKeepsData(t *testing.T) {
	dir := t.TempDir()
	s, _ := Start(dir, nil)
	k, _ := s.Plug(Approved("C1"))
	v, _ := k.Volume()
	f, _ := v.Create("unsynced")
	f.Write([]byte("still here"))
	s.Close()
	if _, err := f.Write([]byte("x")); !errors.Is(err, media.ErrGone) {
		t.Errorf("write after Close: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "C1", "volume", "unsynced")); string(b) != "still here" {
		t.Errorf("after Close: %q", b)
	}
	s2 := start(t, dir)
	if s2.Stick("C1") == nil {
		t.Error("not plugged in at the next Start")
	}
}

func writeFile(t *testing.T, v media.Volume, name, content string, durable bool) {
	t.Helper()
	f, err := v.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, content); err != nil {
		t.Fatal(err)
	}
	if durable {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if durable {
		if err := v.SyncDir(filepath.Dir(name)); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(t *testing.T, v media.Volume, name string) string {
	t.Helper()
	r, err := v.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
