//go:build !nohwsim

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jukiterm/devices/media"
	"jukiterm/devices/usb"
	"jukiterm/hwsim/mediasim"
)

// TestSimUSBCommands drives simulated sticks from another process, as a person does
// beside a running jukitermd: `jukiterm sim usb plug|lock|unlock|unplug|list` write to
// STATE/sim/usb, and the simulator in this process (standing in for jukitermd's) picks
// them up.
func TestSimUSBCommands(t *testing.T) {
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", bin+"/", "jukiterm/cmd/jukiterm").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	state := t.TempDir()
	sim := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, "jukiterm"), append([]string{"sim", "usb"}, args...)...)
		cmd.Env = append(os.Environ(), "JUKITERM_STATE="+state)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Errorf("jukiterm sim usb %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	s, err := mediasim.Start(filepath.Join(state, "sim", "usb"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	find := func(serial string, present bool) usb.DeviceInfo {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			devs, _ := s.Bus().Devices()
			found := false
			for _, d := range devs {
				if d.Serial == serial {
					if present {
						return d
					}
					found = true
				}
			}
			if !present && !found {
				return usb.DeviceInfo{}
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("stick %s: want present %v", serial, present)
		return usb.DeviceInfo{}
	}

	out := sim("plug", "--serial", "JKT0001")
	if !strings.Contains(out, "1209:0001") || !strings.Contains(out, filepath.Join(state, "sim", "usb", "JKT0001", "volume")) {
		t.Errorf("plug:\n%s", out)
	}
	info := find("JKT0001", true)
	if info.VendorID != mediasim.ApprovedVendorID || !info.HasInterfaceClass(usb.ClassMassStorage) || info.HasInterfaceClass(usb.ClassHID) {
		t.Errorf("approved stick on the bus: %+v", info)
	}
	v, err := s.Volume(info)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := v.Create("kept")
	io.WriteString(f, "synced")
	f.Sync()
	f.Close()
	v.SyncDir(".")
	f, _ = v.Create("lost")
	io.WriteString(f, "never synced")

	sim("lock", "--serial", "JKT0001")
	waitErr(t, "the lock", func() error { _, err := s.Volume(info); return err }, media.ErrLocked)
	if _, err := f.Write([]byte("x")); !errors.Is(err, media.ErrGone) {
		t.Errorf("write to a stick locked meanwhile: %v", err)
	}
	sim("unlock", "--serial", "JKT0001")
	waitErr(t, "the unlock", func() error { _, err := s.Volume(info); return err }, nil)
	sim("unplug", "--serial", "JKT0001")
	find("JKT0001", false)
	vol := filepath.Join(state, "sim", "usb", "JKT0001", "volume")
	if b, err := os.ReadFile(filepath.Join(vol, "kept")); err != nil || string(b) != "synced" {
		t.Errorf("kept: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(vol, "lost")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file never made durable survived the lock: %v", err)
	}

	sim("plug", "--serial", "KB1", "--model", "composite", "--locked")
	if kb := find("KB1", true); !kb.HasInterfaceClass(usb.ClassHID) {
		t.Errorf("composite: %+v", kb)
	}
	sim("plug", "--serial", "ANY", "--vendor", "0951", "--product", "1666", "--interfaces", "08,02,0a")
	if d := find("ANY", true); d.VendorID != 0x0951 || d.ProductID != 0x1666 || !d.HasInterfaceClass(usb.ClassCDC) {
		t.Errorf("described stick: %+v", d)
	}
	var list []mediasim.StickStatus
	if err := json.Unmarshal([]byte(sim("list", "--json")), &list); err != nil || len(list) != 3 {
		t.Fatalf("list --json: %v %+v", err, list)
	}
	if list[0].Serial != "ANY" || list[0].Product != "" || list[1].Plugged || !list[2].Locked {
		t.Errorf("list --json: %+v", list)
	}
	if out := sim("list"); !strings.Contains(out, "KB1") || !strings.Contains(out, "08,03") {
		t.Errorf("list:\n%s", out)
	}
}

func waitErr(t *testing.T, what string, f func() error, want error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := f()
		if (want == nil && err == nil) || (want != nil && errors.Is(err, want)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v, want %v", what, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
