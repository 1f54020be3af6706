package main

import (
	"errors"
	"fmt"
	"syscall"

	"jukiterm/daemon/config"
	"jukiterm/daemon/statelock"
)

// lockState takes the state lock jukitermd takes, for an offline administration
// command (`init`, `keys recover|reseal|trust`, `backup restore`, `operator reenrol
// --config`): it refuses while jukitermd or another such command works on the state.
// The caller releases the lock when done. What the command creates from here on is
// private to its user (umask 0077), as under jukitermd's unit.
func lockState(cfg config.Config, command string) (*statelock.Lock, error) {
	l, err := statelock.Acquire(cfg.StateDir, "jukiterm "+command)
	var be *statelock.BusyError
	switch {
	case err == nil:
		syscall.Umask(0o077)
		return l, nil
	case errors.As(err, &be) && be.Daemon():
		pid := "pid unknown"
		if be.PID > 0 {
			pid = fmt.Sprintf("pid %d", be.PID)
		}
		return nil, fmt.Errorf("a running jukitermd (%s) is serving this state (%s), and `jukiterm %s` runs only with jukitermd stopped. Nothing was changed. What to do: stop it (`systemctl stop jukitermd.socket jukitermd.service`, or Ctrl-C where it was started), then run the command again", pid, be.Dir, command)
	case errors.As(err, &be):
		return nil, fmt.Errorf("%w. Nothing was changed. What to do: let that command finish, then run this one again", err)
	}
	return nil, fmt.Errorf("%w. Nothing was changed", err)
}
