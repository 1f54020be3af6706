package media

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"jukiterm/devices/usb"
)

// insideUmockdev is set in the environment of the test binary re-run under umockdev-run.
const insideUmockdev = "JUKITERM_IN_UMOCKDEV"

// TestGousbSticks runs TestSticksUnderUmockdev in this test binary under umockdev-run
// with testdata/sticks.umockdev (made by testdata/gen.py), so that enumerating sticks
// goes once through the real gousb adapter and libusb, and the SysfsLocator through
// the sysfs tree umockdev makes. Without umockdev-run it fails in CI and skips
// elsewhere.
func TestGousbSticks(t *testing.T) {
	if os.Getenv(insideUmockdev) != "" {
		t.Skip("already inside umockdev")
	}
	run, err := exec.LookPath("umockdev-run")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("umockdev-run is missing, so the real USB path for sticks cannot be tested: run `make deps` (Debian package umockdev)")
		}
		t.Skip("SKIPPED the real libusb path for sticks: umockdev-run is missing (run `make deps`, Debian package umockdev)")
	}
	td, _ := filepath.Abs("testdata")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, run, "-d", filepath.Join(td, "sticks.umockdev"),
		"--", os.Args[0], "-test.run", "^TestSticksUnderUmockdev$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), insideUmockdev+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("umockdev-run output:\n%s", out)
	if err != nil {
		t.Fatalf("TestSticksUnderUmockdev under umockdev-run: %v", err)
	}
}

// TestSticksUnderUmockdev enumerates the described sticks through gousb and checks
// what an allowlist decides on (IDs, serial, interface classes), then locates the
// volume of each: mounted, locked, not mounted.
func TestSticksUnderUmockdev(t *testing.T) {
	if os.Getenv(insideUmockdev) == "" {
		t.Skip("run by TestGousbSticks under umockdev-run")
	}
	sys := filepath.Join(os.Getenv("UMOCKDEV_DIR"), "sys")
	bus, err := usb.OpenGousb(usb.GousbOptions{SysfsRoot: sys})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	devs, err := bus.Devices()
	if err != nil {
		t.Fatal(err)
	}
	byPort := map[string]usb.DeviceInfo{}
	for _, d := range devs {
		t.Logf("found %v port %q serial %q interfaces %+v", d, d.Port, d.Serial, d.Interfaces)
		byPort[d.Port] = d
	}
	classes := func(d usb.DeviceInfo) []uint8 {
		var out []uint8
		for _, i := range d.Interfaces {
			out = append(out, i.Class)
		}
		return out
	}
	same := func(a, b []uint8) bool { return string(a) == string(b) }

	approved, ok := byPort["1-1"]
	if !ok || approved.VendorID != 0x1209 || approved.ProductID != 0x0001 || approved.Serial != "JKT0001" ||
		approved.Manufacturer != "jukiterm" || approved.Product != "jukiterm sim secure stick" ||
		!same(classes(approved), []uint8{usb.ClassMassStorage}) || approved.Bus != 1 || approved.Address != 2 {
		t.Errorf("approved stick: %+v", approved)
	}
	in, _ := approved.Interface(0)
	if in.SubClass != 0x06 || in.Protocol != 0x50 {
		t.Errorf("approved stick's interface: %+v", in)
	}
	for _, a := range []uint8{0x81, 0x02} {
		if e, ok := in.Endpoint(a); !ok || e.Type != usb.Bulk || e.MaxPacket != 512 {
			t.Errorf("approved stick's endpoint 0x%02x: %+v %v", a, e, ok)
		}
	}

	composite, ok := byPort["1-2"]
	if !ok || composite.VendorID != 0x1209 || composite.ProductID != 0x0001 || composite.Serial != "JKT0002" ||
		!same(classes(composite), []uint8{usb.ClassMassStorage, usb.ClassHID}) || !composite.HasInterfaceClass(usb.ClassHID) {
		t.Errorf("composite stick: %+v", composite)
	}
	if kb, _ := composite.Interface(1); len(kb.Endpoints) != 1 || kb.Endpoints[0].Address != 0x83 || kb.Endpoints[0].Type != usb.Interrupt {
		t.Errorf("composite stick's keyboard: %+v", kb)
	}

	unknown, ok := byPort["1-3"]
	if !ok || unknown.VendorID != 0x0781 || unknown.ProductID != 0x5567 || unknown.Serial != "" ||
		!same(classes(unknown), []uint8{usb.ClassMassStorage}) {
		t.Errorf("unknown stick: %+v", unknown)
	}

	// The approved stick's disk (8:16) is mounted; the composite's has size 0.
	mnt := t.TempDir()
	mi := filepath.Join(t.TempDir(), "mountinfo")
	os.WriteFile(mi, []byte("22 1 259:2 / / rw - ext4 /dev/nvme0n1p2 rw\n41 22 8:16 / "+mnt+" rw,nosuid - vfat /dev/sdb rw\n"), 0o600)
	loc := SysfsLocator{SysRoot: sys, MountInfo: mi, AnyDevice: true}
	v, err := loc.Volume(approved)
	if err != nil {
		t.Fatalf("approved stick's volume: %v", err)
	}
	w, err := v.Create("provision")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("ok"))
	w.Close()
	v.Close()
	if b, _ := os.ReadFile(filepath.Join(mnt, "provision")); string(b) != "ok" {
		t.Errorf("written through the located volume: %q", b)
	}
	if _, err := loc.Volume(composite); !errors.Is(err, ErrLocked) {
		t.Errorf("composite stick (size 0): %v, want ErrLocked", err)
	}
	if _, err := loc.Volume(unknown); !errors.Is(err, ErrNotMounted) {
		t.Errorf("unknown stick (partition not mounted): %v, want ErrNotMounted", err)
	}
}
