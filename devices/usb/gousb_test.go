package usb

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// insideUmockdev is set in the environment of the test binary re-run under umockdev-run.
const insideUmockdev = "JUKITERM_IN_UMOCKDEV"

// TestGousbAdapter runs TestGousbUnderUmockdev in this test binary under umockdev-run
// with testdata/reader.umockdev, so the real libusb path (gousb, libusb, usbfs ioctls)
// runs in `make test`. Without umockdev-run it fails in CI and skips elsewhere.
func TestGousbAdapter(t *testing.T) {
	if os.Getenv(insideUmockdev) != "" {
		t.Skip("already inside umockdev")
	}
	run, err := exec.LookPath("umockdev-run")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("umockdev-run is missing, so the gousb adapter cannot be tested: run `make deps` (Debian package umockdev)")
		}
		t.Skip("SKIPPED the real libusb path: umockdev-run is missing (run `make deps`, Debian package umockdev)")
	}
	td, _ := filepath.Abs("testdata")
	const sys = "/sys/devices/pci0000:00/0000:00:14.0/usb1/"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, run, "-d", filepath.Join(td, "reader.umockdev"),
		"-p", sys+"1-1="+filepath.Join(td, "stick.pcap"),
		"-p", sys+"1-2="+filepath.Join(td, "reader.pcap"),
		"--", os.Args[0], "-test.run", "^TestGousbUnderUmockdev$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), insideUmockdev+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("umockdev-run output:\n%s", out)
	if err != nil {
		t.Fatalf("TestGousbUnderUmockdev under umockdev-run: %v", err)
	}
}

// TestGousbUnderUmockdev enumerates through the gousb adapter, finds the described
// stick and reader, opens the reader, claims its interface, moves one bulk transfer
// each way, times out a read, releases and closes.
func TestGousbUnderUmockdev(t *testing.T) {
	if os.Getenv(insideUmockdev) == "" {
		t.Skip("run by TestGousbAdapter under umockdev-run")
	}
	bus, err := OpenGousb(GousbOptions{SysfsRoot: filepath.Join(os.Getenv("UMOCKDEV_DIR"), "sys")})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	devs, err := bus.Devices()
	if err != nil {
		t.Fatal(err)
	}
	var reader, stick *DeviceInfo
	for i, d := range devs {
		t.Logf("found %v port %q serial %q class %02x interfaces %+v", d, d.Port, d.Serial, d.Class, d.Interfaces)
		switch {
		case d.VendorID == 0x06cb && d.ProductID == 0x00bd:
			reader = &devs[i]
		case d.HasInterfaceClass(ClassMassStorage):
			stick = &devs[i]
		}
	}
	if reader == nil || stick == nil {
		t.Fatalf("want the reader and the stick, found %+v", devs)
	}
	if stick.VendorID != 0x0781 || stick.ProductID != 0x5567 || stick.Serial != "4C530001234567890123" || stick.Port != "1-1" {
		t.Errorf("stick: %+v", *stick)
	}
	if reader.Serial != "a1b2c3d4e5f6" || !reader.HasInterfaceClass(ClassVendor) || reader.Bus != 1 || reader.Address != 3 {
		t.Errorf("reader: %+v", *reader)
	}
	ri, _ := reader.Interface(0)
	if e, ok := ri.Endpoint(0x81); !ok || e.Type != Bulk || e.MaxPacket != 64 {
		t.Errorf("reader endpoint 0x81: %+v %v", e, ok)
	}

	// The stick's manufacturer and product are not in sysfs: Open reads its string
	// descriptors (answered by stick.pcap).
	sd, err := bus.Open(*stick)
	if err != nil {
		t.Fatal(err)
	}
	if si := sd.Info(); si.Manufacturer != "SanDisk" || si.Product != "Cruzer Blade" {
		t.Errorf("stick strings from its descriptors: %q %q", si.Manufacturer, si.Product)
	}
	if err := sd.Close(); err != nil {
		t.Errorf("close stick: %v", err)
	}

	d, err := bus.Open(*reader)
	if err != nil {
		t.Fatal(err)
	}
	in, err := d.Claim(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Claim(0, 0); !errors.Is(err, ErrBusy) {
		t.Errorf("second claim: %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, err := in.Write(ctx, 0x01, []byte("ping")); err != nil || n != 4 {
		t.Errorf("bulk OUT: %d, %v", n, err)
	}
	buf := make([]byte, 64)
	n, err := in.Read(ctx, 0x81, buf)
	if err != nil || string(buf[:n]) != "pong" {
		t.Errorf("bulk IN: %q, %v", buf[:n], err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := in.Read(short, 0x81, buf); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("read with nothing to read: %v, want the context's deadline", err)
	}
	if err := in.Release(); err != nil {
		t.Errorf("release: %v", err)
	}
	if err := in.Release(); err != nil {
		t.Errorf("second release: %v", err)
	}
	// Released: the interface can be claimed again.
	again, err := d.Claim(0, 0)
	if err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	if err := d.Close(); err != nil { // releases the claim too
		t.Errorf("close: %v", err)
	}
	if _, err := again.Write(ctx, 0x01, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v, want ErrClosed", err)
	}
}
