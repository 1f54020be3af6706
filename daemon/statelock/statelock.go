// Package statelock keeps one process at a time on a state directory: jukitermd, or
// one of the offline administration commands (`jukiterm init`, `keys recover|reseal|
// trust`, `backup restore`, `operator reenrol --config`). Each takes an exclusive
// flock on STATE/jukitermd.lock before it touches the TPM, the HSM, the sockets or the
// identity file, and holds it until it ends; the kernel releases it when the process
// dies, so a crash never leaves a stale lock.
package statelock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// FileName is the lock file's name in the state directory. It holds the pid and the
// name of the holder (not secret, but private like the rest of the directory).
const FileName = "jukitermd.lock"

// Daemon is the holder name jukitermd gives.
const Daemon = "jukitermd"

// Lock is a held state lock.
type Lock struct{ f *os.File }

// BusyError says another process holds the state lock.
type BusyError struct {
	Dir    string // the state directory
	PID    int    // 0 when the holder's pid could not be read
	Holder string // "jukitermd" or the command, e.g. "jukiterm keys recover"
}

func (e *BusyError) Error() string {
	pid := "pid unknown"
	if e.PID > 0 {
		pid = "pid " + strconv.Itoa(e.PID)
	}
	if e.Holder == Daemon || e.Holder == "" {
		return fmt.Sprintf("another jukitermd (%s) is serving this state (%s)", pid, e.Dir)
	}
	return fmt.Sprintf("`%s` (%s) is working on this state (%s)", e.Holder, pid, e.Dir)
}

// Daemon reports whether the holder is jukitermd (not an offline command).
func (e *BusyError) Daemon() bool { return e.Holder == Daemon || e.Holder == "" }

// Acquire takes the exclusive lock of the state directory dir for holder, at once or
// not at all: a *BusyError when another process holds it. The caller keeps the Lock
// until it ends (Release, or exit).
func Acquire(dir, holder string) (*Lock, error) {
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("the state directory %s does not exist (create a new one with `jukiterm init`, or check state_dir in the configuration): %w", dir, err)
		}
		return nil, fmt.Errorf("cannot open the state lock %s (run this as the user jukitermd runs as): %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, busy(dir, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(fmt.Sprintf("%d\n%s\n", os.Getpid(), holder)), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("write the state lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// busy reads who holds the lock; the holder writes its pid just after taking it, so a
// moment is allowed for that.
func busy(dir, path string) *BusyError {
	e := &BusyError{Dir: dir}
	for i := 0; i < 20; i++ {
		b, err := os.ReadFile(path)
		if err == nil {
			pid, holder, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
			if n, err := strconv.Atoi(pid); err == nil && n > 0 {
				e.PID, e.Holder = n, strings.TrimSpace(holder)
				return e
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return e
}

// Release lets the next process take the state; releasing twice is harmless. The
// lock file stays (removing it would let two processes lock two different files).
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the only descriptor releases the flock
	l.f = nil
	return err
}
