// Command jukitermd is the daemon of the prefecture's representative terminal: it owns
// the identity file and serves the local API on a Unix socket.
//
// Exit status: 0 after a clean shutdown, 1 when it cannot start or serve, 2 on a usage
// or configuration error, 75 after a clean shutdown for an activated update (systemd
// starts it again).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon"
	"jukiterm/daemon/config"
	"jukiterm/daemon/statelock"
	"jukiterm/store"
	"jukiterm/systemd"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("jukitermd", flag.ContinueOnError)
	confPath := fs.String("config", "/etc/jukiterm/jukiterm.conf", "configuration file")
	demo := fs.Int("demo", 0, "sim mode only: load this many synthetic demo residents when the file is empty")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// Signals are caught from the start: one that arrives while the store opens or
	// just after READY must not kill the daemon half-way.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	level := new(slog.LevelVar)
	log := systemd.NewLogger(os.Stderr, level)
	ring := daemon.NewLogRing(4000) // `jukiterm service logs` reads it
	log = slog.New(ring.Handler(log.Handler(), level))
	fail := func(code int, format string, a ...any) int {
		msg := fmt.Sprintf(format, a...)
		fmt.Fprintln(os.Stderr, "jukitermd:", msg)
		systemd.Status("not serving: " + msg)
		return code
	}
	cfg, err := config.Load(*confPath)
	if err != nil {
		return fail(2, "%v", err)
	}
	level.Set(*cfg.Level())
	// An activated update runs instead of this binary (checked against its signed
	// manifest first); a refused one is recorded once the log is open.
	launchErr := launchActivated(cfg, log)
	// One jukitermd per state directory, and none while an offline command works on
	// it: the lock comes before swtpm, the HSM or a socket is touched.
	lock, err := statelock.Acquire(cfg.StateDir, statelock.Daemon)
	if err != nil {
		return fail(1, "%v%s", err, lockAdvice(err))
	}
	defer lock.Release()
	if err := hw.CheckModes(cfg); err != nil {
		return fail(1, "%v", err)
	}
	systemd.Status("opening the HSM and the TPM")
	keys, err := hw.Open(cfg)
	if err != nil {
		return fail(1, "cannot open the keys: %v%s", err, hw.WhatToDo(err))
	}
	defer keys.Close()
	systemd.Status("unsealing the storage key")
	kf, dek, nextDEK, err := hw.LoadKey(cfg, keys)
	if err != nil {
		return fail(1, "cannot open the storage key, so no personal data is served: %v%s", err, hw.WhatToDo(err))
	}
	storeKeys, err := store.NewKeys(dek.Derive)
	dek.Destroy()
	if err != nil {
		return fail(1, "derive the record keys: %v", err)
	}
	var nextKeys *store.Keys
	if nextDEK != nil {
		nextKeys, err = store.NewKeys(nextDEK.Derive)
		nextDEK.Destroy()
		if err != nil {
			return fail(1, "derive the record keys: %v", err)
		}
	}
	systemd.Status("opening the identity file " + cfg.Database)
	st, err := store.Open(cfg.Database, store.Options{TerminalID: cfg.TerminalID, CacheMiB: cfg.CacheMiB,
		Keys: storeKeys, NextKeys: nextKeys})
	if err != nil {
		if errors.Is(err, store.ErrWrongKey) {
			return fail(1, "cannot open the identity file: %v. What to do: put back the key file made with this identity file (from the backup), or restore access with `jukiterm keys recover` and that key file's recovery secret", err)
		}
		if errors.Is(err, store.ErrRotationKey) {
			return fail(1, "cannot open the identity file: %v. What to do: put back the key file as it was when the rotation began (it holds both keys), from the backup of the state directory", err)
		}
		return fail(1, "cannot open the identity file: %v", err)
	}
	defer st.Close()
	// Before anything writes to the file: is it the file the exported checkpoints
	// describe (not rolled back, not altered)?
	signer, err := hw.LogSigner(cfg, keys.Token)
	if err != nil {
		return fail(1, "the HSM's signing key cannot sign the operation log's checkpoints: %v%s", err, hw.WhatToDo(err))
	}
	if err := checkExported(st, cfg, signer); err != nil {
		return fail(1, "the operation log does not match its newest exported checkpoint in %s: %v. Either the identity file was rolled back or altered — do not use the terminal and report it — or the HSM's signing key changed (a replaced HSM), whose checkpoints the new key cannot check: then add the old key (`jukiterm keys public --note` of it) to %s. After a backup restore this does not happen (`jukiterm backup restore` sets newer checkpoints aside and trusts the source terminal's key)", cfg.CheckpointDir, err, cfg.LogVerifiers)
	}
	recordLaunch(st, launchErr, log)
	rot := newRotation(cfg, keys, kf, st, log)
	defer rot.Close()
	if err := rot.settle(nextKeys); err != nil {
		log.Error("key rotation", "err", err)
	}
	if *demo > 0 {
		if cfg.Hardware != "sim" {
			return fail(2, "--demo loads synthetic residents and is for hardware = \"sim\" only")
		}
		systemd.Status("loading the demo data set")
		if err := loadDemo(st, *demo, log); err != nil {
			return fail(1, "loading the demo data set: %v", err)
		}
	}
	l, err := systemd.ActivatedListener()
	if err != nil {
		return fail(1, "%v", err)
	}
	where := "the socket systemd passed"
	if l == nil { // not socket-activated: make our own socket, and remove it at the end
		if l, err = daemon.Listen(cfg.Socket); err != nil {
			return fail(1, "%v", err)
		}
		defer os.Remove(cfg.Socket)
		where = cfg.Socket
	}
	cpCtx, stopCheckpoints := context.WithCancel(context.Background())
	var background sync.WaitGroup // stopped before the store closes
	defer func() { stopCheckpoints(); background.Wait() }()
	background.Go(func() { signCheckpoints(cpCtx, st, cfg, signer, log) })
	mirrorLevel := slog.LevelInfo
	if *demo > 0 {
		mirrorLevel = slog.LevelDebug
	}
	background.Go(func() { mirrorLog(cpCtx, st, log, mirrorLevel) })
	background.Go(func() { watchDisk(cpCtx, filepath.Dir(cfg.Database), log) })
	systemd.Status("opening the fingerprint reader")
	reader, err := hw.OpenReader(cfg, keys.Token)
	if err != nil {
		return fail(1, "cannot open the fingerprint reader, so nobody could sign in: %v", err)
	}
	defer reader.Close()
	if !reader.Paired() {
		log.Warn("the fingerprint reader is not paired with this terminal: nobody can sign in until `jukiterm init` pairs it")
	} else if forgot, err := st.BindReader(context.Background(), reader.ID(), "jukitermd", time.Now()); err != nil {
		return fail(1, "record the fingerprint reader in the identity file: %v", err)
	} else if forgot > 0 {
		log.Warn("the identity file's operators were enrolled on another fingerprint reader (a backup restored here?): their fingers are forgotten and must be enrolled again",
			"operators", forgot, "what_to_do", "stop jukitermd, run `jukiterm operator reenrol ADMIN --config FILE` for an administrator, start jukitermd, and re-enrol the others with `jukiterm operator reenrol NAME --reason …`")
	}
	srv := daemon.New(st, log)
	srv.SetReader(reader)
	srv.SetAudit(signer.Verifiers(), cfg.CheckpointDir)
	if hsmKey, err := keys.Token.Signer(); err == nil {
		srv.SetArchive(cfg.BackupRecipients, hsmKey)
		background.Go(func() { eraseExpired(cpCtx, st, cfg, hsmKey, log) })
	}
	srv.SetRotator(rot)
	srv.SetSessionLimits(daemon.SessionLimits{Idle: cfg.SessionIdle(), Max: cfg.SessionMax()})
	srv.SetConnectionLimit(cfg.MaxConnectionsPerUID)
	srv.SetBackups(backups(cfg, keys, log))
	if err := setService(srv, cfg, *confPath, keys, reader, ring, log); err != nil {
		return fail(2, "%v", err)
	}
	if err := setLinks(cpCtx, &background, srv, st, cfg, keys, *demo > 0, log); err != nil {
		return fail(1, "cannot open the links: %v", err)
	}
	bus, locator, releaseMedia, err := hw.OpenMedia(cfg)
	if err != nil {
		log.Error("USB media cannot be reached: every bulk provision is refused", "err", err, "what_to_do", "check the USB bus (libusb) and restart jukitermd")
	} else {
		defer releaseMedia()
		hsmKey, _ := keys.Token.Signer()
		if err := srv.SetMedia(daemon.Media{Bus: bus, Locator: locator, Approved: cfg.ApprovedMedia, Signer: hsmKey}); err != nil {
			return fail(2, "%v", err)
		}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	wdCtx, stopWatchdog := context.WithCancel(context.Background())
	defer stopWatchdog()
	go systemd.Watchdog(wdCtx, st.Ping)
	systemd.Ready()
	systemd.Status("serving on " + where)
	log.Info("serving", "socket", where, "database", cfg.Database, "hardware", cfg.Hardware)
	if *demo > 0 {
		printDemoHints(st, cfg.Socket)
	}

	for stop := false; !stop; {
		select {
		case s := <-sig:
			if s == syscall.SIGHUP {
				cfg = reload(*confPath, cfg, level, log)
				continue
			}
			log.Info("shutting down", "signal", s.String())
			stop = true
		case err := <-served:
			return fail(1, "the local API stopped: %v", err)
		}
	}
	systemd.Stopping()
	stopWatchdog()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Error("shutdown", "err", err)
	}
	rot.Close()
	stopCheckpoints()
	background.Wait()
	finalCheckpoint(st, cfg, signer, log)
	if err := st.Close(); err != nil {
		return fail(1, "closing the identity file: %v", err)
	}
	if restartWanted.Load() {
		log.Info("stopped cleanly to start the activated update", "exit_status", exitRestart)
		return exitRestart
	}
	log.Info("stopped cleanly")
	return 0
}

// lockAdvice says what to do when the state lock is held by another process.
func lockAdvice(err error) string {
	var be *statelock.BusyError
	switch {
	case !errors.As(err, &be):
		return ""
	case be.Daemon():
		return ". Nothing of it was touched. What to do: use the jukitermd that runs (its socket is in the configuration), or stop it first (`systemctl stop jukitermd.socket jukitermd.service`, or Ctrl-C where it was started)"
	}
	return ". Nothing of it was touched. What to do: let that command finish, then start jukitermd again"
}

// reload reads the configuration again on SIGHUP and applies what can change live; a
// file that does not validate is refused and the running configuration kept.
func reload(path string, cur config.Config, level *slog.LevelVar, log *slog.Logger) config.Config {
	systemd.Reloading()
	defer systemd.Ready()
	next, err := config.Load(path)
	if err != nil {
		log.Error("configuration not reloaded; the running one stays", "err", err)
		return cur
	}
	level.Set(*next.Level())
	if keys := cur.NeedRestart(next); len(keys) > 0 {
		log.Warn("configuration changes that need a restart of jukitermd", "keys", keys)
	}
	log.Info("configuration reloaded", "log_level", next.LogLevel)
	cur.LogLevel = next.LogLevel
	return cur
}
