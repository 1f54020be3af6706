package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"time"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon"
	"jukiterm/daemon/config"
	"jukiterm/daemon/update"
)

// setService configures the vendor's service (保守) sessions: the presence timing,
// the status probes, the log ring, and the update packages; and records the end of a
// service session a stop of jukitermd interrupted.
func setService(srv *daemon.Server, cfg config.Config, confPath string, keys *hw.Keys, reader *hw.Reader, ring *daemon.LogRing, log *slog.Logger) error {
	srv.SetServiceTiming(daemon.ServiceTiming{Presence: time.Duration(cfg.ServicePresenceMinutes) * time.Minute,
		Grace: time.Duration(cfg.ServiceGraceMinutes) * time.Minute})
	srv.SetLogRing(ring)
	digest := "unreadable"
	if b, err := os.ReadFile(confPath); err == nil {
		sum := sha256.Sum256(b)
		digest = hex.EncodeToString(sum[:])
	}
	srv.SetServiceProbe(daemon.ServiceProbe{
		Version: update.Version, ConfigSHA256: digest, Started: time.Now(),
		TPM:    func(context.Context) (string, string) { return keys.TPMState(cfg) },
		HSM:    func(context.Context) (string, []string) { return keys.HSMState(cfg) },
		Reader: reader.SelfTest,
	})
	u := daemon.UpdateConfig{Dir: cfg.UpdatesDir, Installed: update.Version}
	if len(cfg.UpdateKeys) > 0 {
		v, err := update.Keys(cfg.UpdateKeys)
		if err != nil {
			return err
		}
		u.Keys = v
	}
	if cfg.Hardware == "real" { // systemd starts jukitermd again (RestartForceExitStatus=75)
		u.Restart = requestRestart
	}
	srv.SetUpdates(u)
	if err := srv.EndInterruptedServices(context.Background()); err != nil {
		log.Error("the end of service sessions interrupted by a stop could not be recorded", "err", err)
	}
	return nil
}
