package main

import (
	"log/slog"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon"
	"jukiterm/daemon/backup"
	"jukiterm/daemon/config"
)

// backups is the daemon's backup configuration: the configured keys, and the signing
// key of the HSM the daemon holds open already. Without a usable signing key the
// daemon serves all the same, with backups off (logged).
func backups(cfg config.Config, keys *hw.Keys, log *slog.Logger) daemon.Backups {
	signer, err := keys.Token.Signer()
	if err != nil {
		log.Error("the HSM's signing key is not usable: no backup can be signed", "err", err, "what_to_do", "connect the HSM the terminal was set up with, or restore access with `jukiterm keys recover`")
		signer = nil
	}
	at, _ := cfg.BackupClock() // checked when the configuration was read
	return daemon.Backups{
		Options: backup.Options{Dir: cfg.BackupDir, Recipients: cfg.BackupRecipients, Signer: signer,
			TerminalID: cfg.TerminalID, Prefecture: cfg.Prefecture, KeyFile: cfg.KeyFile},
		At: at, Keep: cfg.BackupKeep,
	}
}
