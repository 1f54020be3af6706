//go:build !nohwsim

package main

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"jukiterm/hwsim/testlogs"
)

// TestDemoHintsLast: a demo run (`make run`) prints its hints once it serves, and they
// stay the last thing on the screen: the operation log's mirror is at debug level.
func TestDemoHintsLast(t *testing.T) {
	bin := build(t)
	conf, _ := state(t, true)
	var out syncBuffer
	cmd := exec.Command(bin, "--config", conf, "--demo", "300")
	cmd.Stdout, cmd.Stderr = &out, &out // one screen, in order
	testlogs.TeeStderr(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	const last = "Stop the daemon with Ctrl-C.\n"
	for i := 0; !strings.Contains(out.String(), last); i++ {
		if i > 600 {
			t.Fatalf("no demo hints:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "msg=serving") {
		t.Fatalf("hints before the daemon serves:\n%s", out.String())
	}
	time.Sleep(3 * time.Second) // the mirror runs every second
	// stdout and stderr reach the buffer through two pipes: the "serving" line, logged
	// just before the hints, may land after them.
	s := out.String()
	if i := strings.LastIndex(s, last); i >= 0 && strings.Contains(s[i:], "msg=serving") && strings.Count(s[i+len(last):], "\n") == 1 {
		s = s[:i+len(last)]
	}
	if !strings.HasSuffix(s, last) {
		t.Fatalf("the hints are not the last lines on the screen:\n%s", s[strings.Index(s, last):])
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}
