//go:build !nohwsim

package hw

import (
	"path/filepath"
	"testing"
	"time"

	"jukiterm/daemon/config"
	"jukiterm/devices/usb"
	"jukiterm/hwsim/mediasim"
)

// TestSimMediaShareTheReadersBus: in sim mode the sticks and the fingerprint reader
// are on one simulated bus, and the locator finds a plugged stick's volume.
func TestSimMediaShareTheReadersBus(t *testing.T) {
	cfg := config.Config{Hardware: "sim", StateDir: t.TempDir()}
	rbus, _, stopReader, err := startSimReader(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer stopReader()
	bus, loc, stop, err := OpenMedia(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if bus != rbus {
		t.Fatal("the sticks are not on the reader's bus")
	}
	if _, err := mediasim.Plug(filepath.Join(cfg.StateDir, "sim", "usb"), mediasim.Approved("HW1")); err != nil {
		t.Fatal(err)
	}
	var stick, reader *usb.DeviceInfo
	deadline := time.Now().Add(3 * time.Second)
	for stick == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		devs, _ := bus.Devices()
		for i, d := range devs {
			switch {
			case d.Serial == "HW1":
				stick = &devs[i]
			case d.HasInterfaceClass(usb.ClassVendor):
				reader = &devs[i]
			}
		}
	}
	if stick == nil || reader == nil {
		t.Fatalf("stick %v, reader %v on the bus", stick, reader)
	}
	v, err := loc.Volume(*stick)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if free, err := v.Free(); err != nil || free != mediasim.DefaultCapacity {
		t.Errorf("free: %d, %v", free, err)
	}
}
