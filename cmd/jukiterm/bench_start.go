//go:build !nohwsim

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"time"

	"jukiterm/daemon/client"
)

// StartFigures time jukitermd from exec to its first answer, over runs starts.
type StartFigures struct {
	Persons  int     `json:"persons"`
	Runs     int     `json:"runs"`
	MinMS    float64 `json:"min_ms"`
	MedianMS float64 `json:"median_ms"`
	MaxMS    float64 `json:"max_ms"`
}

// benchStart sets up a terminal on the simulators in dir with n demo residents, then
// starts jukitermd runs times: each time from exec until the local API answers, which
// includes starting swtpm, the HSM login, unsealing the storage key and opening the
// identity file.
func benchStart(ctx context.Context, dir string, n, runs int) (StartFigures, error) {
	f := StartFigures{Persons: n, Runs: runs}
	self, err := os.Executable()
	if err != nil {
		return f, err
	}
	daemon, err := findDaemon(self)
	if err != nil {
		return f, err
	}
	state := filepath.Join(dir, "state")
	if out, err := exec.CommandContext(ctx, self, "init", "--state", state).CombinedOutput(); err != nil {
		return f, fmt.Errorf("init: %v\n%s", err, out)
	}
	conf, socket := filepath.Join(state, "jukiterm.conf"), filepath.Join(state, "jukiterm.sock")
	start := func(args ...string) (time.Duration, error) {
		cmd := exec.CommandContext(ctx, daemon, append([]string{"--config", conf}, args...)...)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		c := client.New(socket)
		for {
			select {
			case err := <-done:
				return 0, fmt.Errorf("jukitermd exited at start: %v", err)
			default:
			}
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			err := c.Health(cctx)
			cancel()
			if err == nil {
				break
			}
			if time.Since(t0) > time.Hour {
				cmd.Process.Kill()
				return 0, errors.New("jukitermd did not answer within an hour")
			}
			time.Sleep(2 * time.Millisecond)
		}
		took := time.Since(t0)
		cmd.Process.Signal(syscall.SIGTERM)
		return took, <-done
	}
	if n > 0 {
		if _, err := start("--demo", fmt.Sprint(n)); err != nil {
			return f, fmt.Errorf("load the demo residents: %w", err)
		}
	}
	var ms []float64
	for range runs {
		d, err := start()
		if err != nil {
			return f, err
		}
		ms = append(ms, float64(d.Microseconds())/1000)
	}
	slices.Sort(ms)
	f.MinMS, f.MedianMS, f.MaxMS = ms[0], ms[len(ms)/2], ms[len(ms)-1]
	return f, nil
}

// findDaemon looks for jukitermd beside this executable, then on PATH.
func findDaemon(self string) (string, error) {
	if p := filepath.Join(filepath.Dir(self), "jukitermd"); fileExists(p) {
		return p, nil
	}
	p, err := exec.LookPath("jukitermd")
	if err != nil {
		return "", errors.New("jukitermd is neither beside jukiterm nor on PATH: run `make build` and use bin/jukiterm")
	}
	return p, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func printStart(f StartFigures) {
	fmt.Printf("jukitermd start to serving, %d runs, %d persons (%s, %d CPUs)\n", f.Runs, f.Persons, runtime.GOARCH, runtime.NumCPU())
	fmt.Printf("  min %.0f ms, median %.0f ms, max %.0f ms\n", f.MinMS, f.MedianMS, f.MaxMS)
}
