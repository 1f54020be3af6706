package mediasim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/sys/unix"
)

// The state directory (in sim mode STATE_DIR/sim/usb). Separate processes share it:
// `jukiterm sim usb …` writes the sticks' files, the simulator inside jukitermd reads
// them. A stick's file is replaced by rename, never written in place, under a lock.
//
//	.lock                  held while a stick's file is changed
//	SERIAL/stick.json      the stick: its StickSpec and whether it is plugged in
//	SERIAL/volume/         its data volume (look at it only while the stick is unplugged)
//	SERIAL/.stash/         entries removed or replaced since the last SyncDir (the
//	                       simulator's own, emptied when the stick is unplugged)
const (
	lockFile  = ".lock"
	stickFile = "stick.json"
	volumeDir = "volume"
	stashDir  = ".stash"
)

// ErrNoStick says no simulated stick has the serial asked for.
var ErrNoStick = errors.New("no simulated stick has that serial: `jukiterm sim usb list` shows them, `jukiterm sim usb plug` makes one")

// StickSpec describes a simulated stick: what it shows on the bus and its state.
type StickSpec struct {
	Serial       string `json:"serial"`
	VendorID     uint16 `json:"vendor_id"`
	ProductID    uint16 `json:"product_id"`
	Release      uint16 `json:"release,omitempty"` // bcdDevice; 0 means 0x0100
	Manufacturer string `json:"manufacturer,omitempty"`
	Product      string `json:"product,omitempty"` // the product name string
	// Interfaces are the classes of its interfaces, one interface each, in order:
	// 8 mass storage, 3 HID, 2 CDC control, 10 CDC data, 255 vendor (usb.Class…).
	Interfaces []int `json:"interfaces"`
	// Locked: the security lock is closed, so the stick shows no medium.
	Locked bool `json:"locked"`
	// Unmounted: unlocked, but its volume is not mounted (media.ErrNotMounted).
	Unmounted bool `json:"unmounted,omitempty"`
	// Capacity is the volume's size in bytes (0: DefaultCapacity); writes beyond it
	// fail with ENOSPC.
	Capacity int64 `json:"capacity,omitempty"`
}

// StickStatus is a stick as List gives it.
type StickStatus struct {
	StickSpec
	Plugged bool   `json:"plugged"`
	Plugs   uint64 `json:"plugs"`  // how many times it was plugged in
	Volume  string `json:"volume"` // its data volume's directory
}

// record is a stick's file.
type record struct {
	StickSpec
	Plugged bool `json:"plugged"`
	// Plugs counts its plug-ins, so that a simulator that missed an unplug between
	// two polls still sees a new plug-in.
	Plugs uint64 `json:"plugs"`
}

var serialRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func checkSerial(s string) error {
	if !serialRE.MatchString(s) {
		return fmt.Errorf("a simulated stick's serial has 1 to 64 letters, digits, dots, dashes or underscores and starts with a letter or digit, not %q", s)
	}
	return nil
}

func (sp StickSpec) check() error {
	if err := checkSerial(sp.Serial); err != nil {
		return err
	}
	if len(sp.Interfaces) == 0 || len(sp.Interfaces) > 8 {
		return fmt.Errorf("a simulated stick has 1 to 8 interfaces, not %d", len(sp.Interfaces))
	}
	for _, c := range sp.Interfaces {
		if c < 0 || c > 255 {
			return fmt.Errorf("an interface class is a number from 0 to 255 (0xff), not %d", c)
		}
	}
	for _, s := range []string{sp.Manufacturer, sp.Product} {
		if len([]rune(s)) > 126 || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			return fmt.Errorf("a USB string has at most 126 printable characters, not %q", s)
		}
	}
	if sp.Capacity < 0 {
		return errors.New("a stick's capacity cannot be negative")
	}
	return nil
}

// locked runs f with dir's lock held (other processes change sticks under it too).
func locked(dir string, f func() error) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	l, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer l.Close()
	if err := unix.Flock(int(l.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", l.Name(), err)
	}
	defer unix.Flock(int(l.Fd()), unix.LOCK_UN)
	return f()
}

func load(dir, serial string) (record, bool, error) {
	var r record
	b, err := os.ReadFile(filepath.Join(dir, serial, stickFile))
	if errors.Is(err, os.ErrNotExist) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, false, fmt.Errorf("%s: %w", filepath.Join(dir, serial, stickFile), err)
	}
	r.Serial = serial // the directory names the stick
	return r, true, nil
}

func save(dir string, r record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, r.Serial, volumeDir), 0o700); err != nil {
		return err
	}
	// Replaced by rename (not fsynced: a simulator's state need not survive a crash).
	tmp, err := os.CreateTemp(filepath.Join(dir, r.Serial), "."+stickFile+"-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, r.Serial, stickFile))
}

func status(dir string, r record) StickStatus {
	return StickStatus{StickSpec: r.StickSpec, Plugged: r.Plugged, Plugs: r.Plugs, Volume: filepath.Join(dir, r.Serial, volumeDir)}
}

// Plug plugs the stick sp describes into the simulated bus of dir: a new stick, or a
// known one (unplugged) with this description, its volume kept. A stick already
// plugged in is refused.
func Plug(dir string, sp StickSpec) (StickStatus, error) {
	if err := sp.check(); err != nil {
		return StickStatus{}, err
	}
	var st StickStatus
	err := locked(dir, func() error {
		old, ok, err := load(dir, sp.Serial)
		if err != nil {
			return err
		}
		if ok && old.Plugged {
			return fmt.Errorf("a simulated stick with serial %s is already plugged in: unplug it first (`jukiterm sim usb unplug --serial %s`)", sp.Serial, sp.Serial)
		}
		r := record{StickSpec: sp, Plugged: true, Plugs: old.Plugs + 1}
		st = status(dir, r)
		return save(dir, r)
	})
	return st, err
}

// modify changes a known stick's record.
func modify(dir, serial string, f func(*record)) (StickStatus, error) {
	if err := checkSerial(serial); err != nil {
		return StickStatus{}, err
	}
	var st StickStatus
	err := locked(dir, func() error {
		r, ok, err := load(dir, serial)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("serial %s: %w", serial, ErrNoStick)
		}
		f(&r)
		st = status(dir, r)
		return save(dir, r)
	})
	return st, err
}

// Unplug pulls the stick out (its volume stays in dir; what the host had not synced
// to it is lost). Unplugging an unplugged stick changes nothing.
func Unplug(dir, serial string) (StickStatus, error) {
	return modify(dir, serial, func(r *record) { r.Plugged = false })
}

// Lock closes the stick's security lock: its medium disappears (as if pulled, for
// whatever uses its volume) while the stick stays on the bus.
func Lock(dir, serial string) (StickStatus, error) {
	return modify(dir, serial, func(r *record) { r.Locked = true })
}

// Unlock opens the stick's security lock (as its PIN would): its volume appears.
func Unlock(dir, serial string) (StickStatus, error) {
	return modify(dir, serial, func(r *record) { r.Locked = false })
}

// List lists the sticks known in dir (plugged in or not), by serial.
func List(dir string) ([]StickStatus, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []StickStatus
	for _, e := range ents {
		if !e.IsDir() || checkSerial(e.Name()) != nil {
			continue
		}
		r, ok, err := load(dir, e.Name())
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, status(dir, r))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Serial < out[j].Serial })
	return out, nil
}
