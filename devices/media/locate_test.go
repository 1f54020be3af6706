package media

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"jukiterm/devices/usb"
)

// fakeSys builds a sysfs tree for one USB stick at port 1-2 (bus 1, address 5) in a
// temporary directory, and a mountinfo file beside it.
type fakeSys struct {
	t         *testing.T
	root      string // SysRoot
	mountinfo string
	mounts    []string
}

var stickInfo = usb.DeviceInfo{Bus: 1, Address: 5, Port: "1-2", VendorID: 0x1209, ProductID: 0x0001}

func newFakeSys(t *testing.T) *fakeSys {
	f := &fakeSys{t: t, root: t.TempDir(), mountinfo: filepath.Join(t.TempDir(), "mountinfo")}
	dev := filepath.Join(f.root, "bus", "usb", "devices", "1-2")
	f.write(filepath.Join(dev, "busnum"), "1")
	f.write(filepath.Join(dev, "devnum"), "5")
	// The root file system, always mounted.
	f.mounts = append(f.mounts, "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw")
	f.flush()
	return f
}

func (f *fakeSys) write(path, s string) {
	f.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s+"\n"), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// disk adds a disk of the stick (LUN lun) with size in sectors.
func (f *fakeSys) disk(lun int, name, dev string, sectors int64) string {
	d := filepath.Join(f.root, "bus", "usb", "devices", "1-2", "1-2:1.0", "host6", "target6:0:0",
		fmt.Sprintf("6:0:0:%d", lun), "block", name)
	f.write(filepath.Join(d, "size"), fmt.Sprint(sectors))
	f.write(filepath.Join(d, "dev"), dev)
	f.write(filepath.Join(d, "ro"), "0")
	return d
}

func (f *fakeSys) partition(disk, name, dev string, sectors int64) {
	p := filepath.Join(disk, name)
	f.write(filepath.Join(p, "size"), fmt.Sprint(sectors))
	f.write(filepath.Join(p, "dev"), dev)
	f.write(filepath.Join(p, "partition"), name[len(name)-1:])
}

// mount records dev as mounted on a new directory, which it returns.
func (f *fakeSys) mount(dev, opts string) string {
	dir := filepath.Join(f.t.TempDir(), "stick volume") // a space, escaped in mountinfo
	os.MkdirAll(dir, 0o700)
	f.mounts = append(f.mounts, fmt.Sprintf("%d 22 %s / %s %s,nosuid,nodev - vfat /dev/x rw",
		40+len(f.mounts), dev, strings.ReplaceAll(dir, " ", `\040`), opts))
	f.flush()
	return dir
}

func (f *fakeSys) flush() {
	f.write(f.mountinfo, strings.Join(f.mounts, "\n"))
}

func (f *fakeSys) locator() SysfsLocator {
	return SysfsLocator{SysRoot: f.root, MountInfo: f.mountinfo, AnyDevice: true}
}

func TestSysfsLocatorLocked(t *testing.T) {
	f := newFakeSys(t)
	f.disk(0, "sdb", "8:16", 0)
	if _, err := f.locator().Volume(stickInfo); !errors.Is(err, ErrLocked) {
		t.Errorf("zero-size disk: %v, want ErrLocked", err)
	}
}

func TestSysfsLocatorNoDiskYet(t *testing.T) {
	f := newFakeSys(t)
	if _, err := f.locator().Volume(stickInfo); !errors.Is(err, ErrNotMounted) {
		t.Errorf("no block device: %v, want ErrNotMounted", err)
	}
}

func TestSysfsLocatorNotMounted(t *testing.T) {
	f := newFakeSys(t)
	f.disk(0, "sdb", "8:16", 31293440)
	f.mount("8:32", "rw") // another disk's
	if _, err := f.locator().Volume(stickInfo); !errors.Is(err, ErrNotMounted) {
		t.Errorf("unlocked, not mounted: %v, want ErrNotMounted", err)
	}
}

func TestSysfsLocatorMounted(t *testing.T) {
	f := newFakeSys(t)
	f.disk(0, "sdb", "8:16", 31293440)
	dir := f.mount("8:16", "rw")
	v, err := f.locator().Volume(stickInfo)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	checkVolumeAt(t, v, dir)
}

// TestSysfsLocatorChecksTheDevice: a mount point whose file system is not the stick's
// disk (something mounted over it) is refused; the stick's own device is accepted.
func TestSysfsLocatorChecksTheDevice(t *testing.T) {
	f := newFakeSys(t)
	f.disk(0, "sdb", "8:16", 31293440)
	dir := f.mount("8:16", "rw")
	loc := f.locator()
	loc.AnyDevice = false
	if _, err := loc.Volume(stickInfo); err == nil || !strings.Contains(err.Error(), "no longer its volume") {
		t.Fatalf("a directory on another file system: %v", err)
	}
	var st syscall.Stat_t
	syscall.Stat(dir, &st)
	real := fmt.Sprintf("%d:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)))
	g := newFakeSys(t)
	g.disk(0, "sdb", real, 31293440)
	dir = g.mount(real, "rw")
	loc = g.locator()
	loc.AnyDevice = false
	v, err := loc.Volume(stickInfo)
	if err != nil {
		t.Fatalf("the stick's own device: %v", err)
	}
	defer v.Close()
	checkVolumeAt(t, v, dir)
}

func TestSysfsLocatorTwoPartitions(t *testing.T) {
	f := newFakeSys(t)
	d := f.disk(0, "sdb", "8:16", 31293440)
	f.partition(d, "sdb1", "8:17", 204800)
	f.partition(d, "sdb2", "8:18", 31086592)
	// A bind mount of a directory of sdb1 is not its volume; sdb2 is mounted.
	f.mounts = append(f.mounts, "30 22 8:17 /tools /opt/tools rw - vfat /dev/sdb1 rw")
	dir := f.mount("8:18", "rw")
	v, err := f.locator().Volume(stickInfo)
	if err != nil {
		t.Fatal(err)
	}
	checkVolumeAt(t, v, dir)
	v.Close()
	// Both mounted: which is the data volume cannot be told.
	f.mount("8:17", "rw")
	if _, err := f.locator().Volume(stickInfo); err == nil || !strings.Contains(err.Error(), "several writable volumes") {
		t.Errorf("two mounted partitions: %v", err)
	}
}

func TestSysfsLocatorReadOnly(t *testing.T) {
	f := newFakeSys(t)
	f.disk(0, "sdb", "8:16", 31293440)
	// A secure stick's read-only LUN (its unlock software) beside the data disk.
	cd := f.disk(1, "sr0", "11:0", 1000)
	f.write(filepath.Join(cd, "ro"), "1")
	f.mount("11:0", "rw")
	if _, err := f.locator().Volume(stickInfo); !errors.Is(err, ErrNotMounted) {
		t.Errorf("only the read-only LUN mounted: %v, want ErrNotMounted", err)
	}
	dir := f.mount("8:16", "rw")
	v, err := f.locator().Volume(stickInfo)
	if err != nil {
		t.Fatalf("data disk and read-only LUN mounted: %v", err)
	}
	checkVolumeAt(t, v, dir)
	v.Close()

	g := newFakeSys(t)
	g.disk(0, "sdb", "8:16", 31293440)
	g.mount("8:16", "ro")
	if _, err := g.locator().Volume(stickInfo); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("volume mounted read-only: %v", err)
	}
	// Write-protected: the disk itself is read-only.
	h := newFakeSys(t)
	d := h.disk(0, "sdb", "8:16", 31293440)
	h.write(filepath.Join(d, "ro"), "1")
	h.mount("8:16", "rw")
	if _, err := h.locator().Volume(stickInfo); err == nil || !strings.Contains(err.Error(), "write protection") {
		t.Errorf("write-protected disk: %v", err)
	}
}

func TestSysfsLocatorGone(t *testing.T) {
	f := newFakeSys(t)
	f.disk(0, "sdb", "8:16", 31293440)
	f.mount("8:16", "rw")
	other := stickInfo
	other.Address = 6 // plugged in again, or another device on that port
	if _, err := f.locator().Volume(other); !errors.Is(err, ErrGone) {
		t.Errorf("another address at the port: %v, want ErrGone", err)
	}
	other = stickInfo
	other.Port = "1-3"
	if _, err := f.locator().Volume(other); !errors.Is(err, ErrGone) {
		t.Errorf("nothing at the port: %v, want ErrGone", err)
	}
	other.Port = "../../etc"
	if _, err := f.locator().Volume(other); err == nil || errors.Is(err, ErrGone) {
		t.Errorf("a port that is no sysfs name: %v", err)
	}
}

func checkVolumeAt(t *testing.T, v Volume, dir string) {
	t.Helper()
	w, err := v.Create("probe")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "on the stick")
	w.Close()
	if b, err := os.ReadFile(filepath.Join(dir, "probe")); err != nil || string(b) != "on the stick" {
		t.Errorf("the volume is not the mounted directory %s: %q %v", dir, b, err)
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{`/media/a\040b`: "/media/a b", `/x\134y`: `/x\y`, `/end\04`: `/end\04`, "/plain": "/plain"} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRootVolumeErrorsOfAPulledStick(t *testing.T) {
	if err := gone(&os.PathError{Op: "write", Path: "x", Err: syscall.EIO}); !errors.Is(err, ErrGone) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("EIO: %v", err)
	}
	if err := gone(&os.PathError{Op: "open", Path: "x", Err: syscall.EEXIST}); errors.Is(err, ErrGone) {
		t.Fatalf("EEXIST counted as a pulled stick: %v", err)
	}
	v, err := OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	f, err := v.Create("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("x")); err != nil || f.Sync() != nil || f.Close() != nil {
		t.Fatal(err)
	}
	if _, err := v.Create("a"); err == nil || errors.Is(err, ErrGone) {
		t.Fatalf("create over an existing file: %v", err)
	}
}
