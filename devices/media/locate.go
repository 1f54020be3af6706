package media

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"jukiterm/devices/usb"
)

// Locator finds the mounted data volume of a USB stick found on the bus.
type Locator interface {
	// Volume opens the data volume of the stick info describes, as enumerated now (its
	// Port, Bus and Address must be current). It fails with ErrLocked, ErrNotMounted,
	// ErrGone (the stick is no longer there) or, wrapped, what could not be read.
	// Close the volume when done.
	Volume(info usb.DeviceInfo) (Volume, error)
}

// Errors of a Locator (wrapped). Their text says what happened and what to do.
var (
	// ErrLocked: the stick's security lock is closed, so it shows no medium (its disks
	// have size zero).
	ErrLocked = errors.New("the USB stick is locked: unlock it (with its PIN, as its maker describes) and try again")
	// ErrNotMounted: the stick shows a medium, but no volume of it is mounted.
	ErrNotMounted = errors.New("the USB stick is unlocked but its data volume is not mounted: wait a few seconds and try again; if it stays so, unplug the stick, plug it in again and unlock it")
)

// SysfsLocator is the real Locator. It finds the block devices the kernel made for the
// stick under its node in sysfs (SysRoot/bus/usb/devices/PORT/PORT:C.I/host*/target*/
// H:C:T:L/block/sdX, and partitions sdX/sdXN), reads their size (zero: locked), and
// looks their device numbers up in MountInfo (/proc/self/mountinfo format); the one
// writable volume mounted is opened with OpenRoot.
type SysfsLocator struct {
	SysRoot   string // "" means /sys
	MountInfo string // "" means /proc/self/mountinfo
	// AnyDevice skips the check that the opened volume is on the stick's disk (for
	// tests whose sysfs and mountinfo are made up and whose "volumes" are directories).
	AnyDevice bool
}

// blockDev is a disk or a partition of the stick.
type blockDev struct {
	name, dev string // "sdb1", "8:17"
	sectors   int64  // 512-byte sectors
	ro        bool
}

// portName is a sysfs USB device name ("1-2", "3-1.4.2"): nothing else is put in a path.
var portName = regexp.MustCompile(`^[0-9]+-[0-9]+(\.[0-9]+)*$`)

// Volume implements Locator.
func (l SysfsLocator) Volume(info usb.DeviceInfo) (Volume, error) {
	sys, mi := l.SysRoot, l.MountInfo
	if sys == "" {
		sys = "/sys"
	}
	if mi == "" {
		mi = "/proc/self/mountinfo"
	}
	if !portName.MatchString(info.Port) {
		return nil, fmt.Errorf("find the volume of %v: its USB port is not known (%q)", info, info.Port)
	}
	dir := filepath.Join(sys, "bus", "usb", "devices", info.Port)
	// The port is not the device: check that the device there is still the one
	// enumerated (a stick plugged in again gets a new address).
	bus, err1 := readInt(filepath.Join(dir, "busnum"))
	addr, err2 := readInt(filepath.Join(dir, "devnum"))
	if err1 != nil || err2 != nil || int(bus) != info.Bus || int(addr) != info.Address {
		return nil, fmt.Errorf("find the volume of %v: %w", info, ErrGone)
	}
	disks, err := blockDevs(dir, info.Port)
	if err != nil {
		return nil, fmt.Errorf("find the volume of %v: %w", info, err)
	}
	if len(disks) == 0 {
		return nil, fmt.Errorf("%w (%v has no disk yet)", ErrNotMounted, info)
	}
	var present []blockDev // with a medium
	for _, d := range disks {
		if d.sectors > 0 {
			present = append(present, d)
		}
	}
	if len(present) == 0 {
		return nil, fmt.Errorf("%w (%v: its disks have size zero)", ErrLocked, info)
	}
	mounts, err := readMountInfo(mi)
	if err != nil {
		return nil, fmt.Errorf("find the volume of %v: %w", info, err)
	}
	// A read-only disk beside a writable one is not the data volume (a secure
	// stick's LUN with its unlock software); a stick with only read-only disks is
	// write-protected.
	writable := false
	for _, d := range present {
		writable = writable || !d.ro
	}
	var rw, ro []string // "sdb1 at /media/x"
	var path, dev string
	for _, d := range present {
		if d.ro && writable {
			continue
		}
		for _, m := range mounts[d.dev] {
			if m.root != "/" {
				continue // a bind mount of a directory of it, not the volume
			}
			where := d.name + " at " + m.point
			if d.ro || m.readOnly {
				ro = append(ro, where)
			} else {
				rw, path, dev = append(rw, where), m.point, d.dev
			}
			break
		}
	}
	switch {
	case len(rw) > 1:
		return nil, fmt.Errorf("%v has several writable volumes mounted (%s): an issued stick has one data volume; unmount the others or use another stick", info, strings.Join(rw, ", "))
	case len(rw) == 0 && len(ro) > 0:
		return nil, fmt.Errorf("the volume of %v is mounted read-only (%s): release the stick's write protection (a switch or its settings), plug it in again and unlock it", info, strings.Join(ro, ", "))
	case len(rw) == 0:
		return nil, fmt.Errorf("%w (%v)", ErrNotMounted, info)
	}
	v, err := OpenRoot(path)
	if err != nil {
		return nil, err
	}
	// What was opened must be the stick's file system, not one mounted over the
	// mount point since mountinfo was read.
	if got, err := v.device(); !l.AnyDevice && (err != nil || got != dev) {
		v.Close()
		return nil, fmt.Errorf("find the volume of %v: %s is no longer its volume (%s, not %s): take the stick out, put it in again and unlock it", info, path, got, dev)
	}
	return v, nil
}

// blockDevs lists the disks under the USB device at dir and their partitions.
func blockDevs(dir, port string) ([]blockDev, error) {
	found, err := filepath.Glob(filepath.Join(dir, port+":*", "host*", "target*", "*", "block", "*"))
	if err != nil {
		return nil, err
	}
	var out []blockDev
	for _, disk := range found {
		d, err := readBlockDev(disk)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
		ents, err := os.ReadDir(disk)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			p := filepath.Join(disk, e.Name())
			if _, err := os.Stat(filepath.Join(p, "partition")); err != nil {
				continue
			}
			part, err := readBlockDev(p)
			if err != nil {
				return nil, err
			}
			part.ro = part.ro || d.ro
			out = append(out, part)
		}
	}
	return out, nil
}

func readBlockDev(dir string) (blockDev, error) {
	d := blockDev{name: filepath.Base(dir)}
	n, err := readInt(filepath.Join(dir, "size"))
	if err != nil {
		return d, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "dev"))
	if err != nil {
		return d, err
	}
	d.sectors, d.dev = n, strings.TrimSpace(string(b))
	if ro, err := readInt(filepath.Join(dir, "ro")); err == nil && ro != 0 {
		d.ro = true
	}
	return d, nil
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// mount is one line of mountinfo.
type mount struct {
	root, point string
	readOnly    bool
}

// readMountInfo reads a mountinfo file (proc(5)) into mounts by "major:minor".
func readMountInfo(path string) (map[string][]mount, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string][]mount{}
	for _, line := range strings.Split(string(b), "\n") {
		// ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPER
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		ro := false
		for _, o := range strings.Split(f[5], ",") {
			ro = ro || o == "ro"
		}
		out[f[2]] = append(out[f[2]], mount{root: unescape(f[3]), point: unescape(f[4]), readOnly: ro})
	}
	return out, nil
}

// unescape undoes mountinfo's octal escapes (\040 for a space, \011, \012, \134).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
