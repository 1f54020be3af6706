package main

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/mod/sumdb/note"

	"jukiterm/daemon/config"
	"jukiterm/daemon/update"
	"jukiterm/store"
)

// exitRestart is jukitermd's exit status after an update's activation: the unit's
// RestartForceExitStatus=75 has systemd start it again, and the new start launches
// the activated version.
const exitRestart = 75

// restartWanted is set when an activation asks for a restart.
var restartWanted atomic.Bool

// requestRestart stops jukitermd cleanly (as SIGTERM does) with exitRestart.
func requestRestart() error {
	restartWanted.Store(true)
	return syscall.Kill(os.Getpid(), syscall.SIGTERM)
}

// launchActivated runs the activated update (updates_dir/current) instead of this
// binary when it is newer: its kept, signed MANIFEST is checked against update_keys
// and every file against it, and the checked bin/jukitermd replaces this process. It
// returns only when this binary goes on: with nothing to launch, or with the reason
// the activated version was refused (to be recorded once the log is open).
func launchActivated(cfg config.Config, log *slog.Logger) error {
	if v := os.Getenv(update.LaunchedEnv); v != "" {
		os.Unsetenv(update.LaunchedEnv)
		if v != update.Version {
			log.Warn("the activated package's jukitermd reports another version than its package", "package", v, "binary", update.Version)
		}
		return nil
	}
	var keys note.Verifiers // none pinned: an activated version is refused
	if len(cfg.UpdateKeys) > 0 {
		k, err := update.Keys(cfg.UpdateKeys)
		if err != nil {
			return err
		}
		keys = k
	}
	l, err := update.Pending(cfg.UpdatesDir, keys, update.Version)
	if err != nil || l == nil {
		return err
	}
	log.Info("starting the activated update", "version", l.Version, "installed", update.Version)
	return l.Exec(os.Args, os.Environ())
}

// recordLaunch puts the start of an activated version, or its refusal, in the
// operation log.
func recordLaunch(st *store.Store, launchErr error, log *slog.Logger) {
	e := store.Entry{Operator: "jukitermd", Action: "update.launched", Detail: map[string]any{"version": update.Version}}
	switch {
	case launchErr != nil:
		e.Action, e.Detail["reason"] = "update.refused", launchErr.Error()
		log.Error("the activated update was not started; the installed version runs", "err", launchErr,
			"what_to_do", "report it to the prefecture; stage and activate the package again, or remove the switch (updates_dir/current) to stay on the installed version")
	case !launched:
		return
	}
	if _, err := st.Log(context.Background(), e); err != nil {
		log.Error("the operation log could not record an update's start", "err", err)
	}
}

// launched tells that this process was started from an activated version.
var launched bool

func init() { launched = os.Getenv(update.LaunchedEnv) != "" }
