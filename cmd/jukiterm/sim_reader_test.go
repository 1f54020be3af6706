//go:build !nohwsim

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fp "jukiterm/devices/fingerprint"
	fpsim "jukiterm/hwsim/fingerprint"
)

// TestSimReaderCommands drives the simulated reader from another process, as a person
// does beside a running jukitermd: `jukiterm sim finger present` and `sim reader
// unplug|plug` write to STATE/sim/reader, and the simulator in this process (standing
// in for jukitermd's) picks them up.
func TestSimReaderCommands(t *testing.T) {
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", bin+"/", "jukiterm/cmd/jukiterm").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	state := t.TempDir()
	// sim runs `jukiterm sim ARGS…`; it may be called from any goroutine.
	sim := func(args ...string) string {
		cmd := exec.Command(filepath.Join(bin, "jukiterm"), append([]string{"sim"}, args...)...)
		cmd.Env = append(os.Environ(), "JUKITERM_STATE="+state)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Errorf("jukiterm sim %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	s, err := fpsim.Start(filepath.Join(state, "sim", "reader"), fpsim.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := bytes.Repeat([]byte{9}, fp.KeySize)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	r, err := fp.Open(s.Bus(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Pair(ctx, key); err != nil {
		t.Fatal(err)
	}
	if out := sim("finger", "present", "alice", "--hold", "3s"); !strings.Contains(out, "Alice's finger is on the simulated reader for 3s") {
		t.Errorf("present: %q", out)
	}
	if err := r.Enroll(ctx, 4, 3, nil); err != nil {
		t.Fatal(err)
	}
	sim("finger", "lift")
	// Presented only after the reader asked for it, from the other process.
	m, err := r.Verify(ctx, func(e fp.Event, _, _ int) {
		if e == fp.EventPlaceFinger {
			go sim("finger", "present", "unknown")
		}
	})
	if err != nil || m.Matched {
		t.Errorf("unknown finger: %+v, %v", m, err)
	}
	sim("finger", "present", "alice")
	if m, err := r.Verify(ctx, nil); err != nil || m != (fp.Match{Slot: 4, Matched: true}) {
		t.Errorf("alice: %+v, %v", m, err)
	}
	out := sim("reader", "status")
	if !strings.Contains(out, "slot 4") || !strings.Contains(out, "alice") || !strings.Contains(out, "paired            yes") {
		t.Errorf("status:\n%s", out)
	}
	// Unplugged from the other process during a verification.
	dev := s.Device()
	_, err = r.Verify(ctx, func(e fp.Event, _, _ int) {
		if e == fp.EventPlaceFinger {
			go sim("reader", "unplug")
		}
	})
	if !errors.Is(err, fp.ErrNoReader) {
		t.Errorf("verify across `sim reader unplug`: %v", err)
	}
	r.Close()
	if dev.Claimed() || dev.Opens() != 0 {
		t.Error("the claim outlived Close")
	}
	if _, err := fp.Open(s.Bus(), key); !errors.Is(err, fp.ErrNoReader) {
		t.Errorf("open while unplugged: %v", err)
	}
	sim("reader", "plug")
	deadline := time.Now().Add(5 * time.Second)
	for s.Device() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	r, err = fp.Open(s.Bus(), key)
	if err != nil {
		t.Fatalf("open after `sim reader plug`: %v", err)
	}
	defer r.Close()
	if slots, err := r.List(ctx); err != nil || len(slots) != 1 || slots[0] != 4 {
		t.Errorf("templates after replugging: %v, %v", slots, err)
	}
}
