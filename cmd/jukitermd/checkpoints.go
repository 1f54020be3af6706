package main

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"jukiterm/daemon"
	"jukiterm/daemon/archive"
	"jukiterm/daemon/config"
	"jukiterm/store"
	"jukiterm/systemd"
)

// checkExported refuses a file whose operation log does not hold the newest exported
// checkpoint (rolled back, truncated or rewritten).
func checkExported(st *store.Store, cfg config.Config, signer *store.NoteSigner) error {
	if err := os.MkdirAll(cfg.CheckpointDir, 0o750); err != nil {
		return fmt.Errorf("create the checkpoint directory: %w", err)
	}
	msg, err := store.LatestExported(cfg.CheckpointDir)
	if err != nil || msg == nil {
		return err
	}
	return st.CheckExported(context.Background(), msg, signer.Verifiers())
}

// checkpointRetry is the wait after a failed signature or export (tests shorten it).
var checkpointRetry = time.Minute

// signCheckpoints signs and exports a checkpoint whenever checkpoint_every entries or
// checkpoint_seconds have passed since the last one, until ctx ends.
func signCheckpoints(ctx context.Context, st *store.Store, cfg config.Config, signer *store.NoteSigner, log *slog.Logger) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var retryAt time.Time // after a failure, the next attempt waits a minute
	var lastErr string
	var unexported []byte // a signed checkpoint whose export failed
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if time.Now().Before(retryAt) {
			continue
		}
		due, err := st.NeedsCheckpoint(ctx, cfg.CheckpointEvery, time.Duration(cfg.CheckpointSeconds)*time.Second)
		if err != nil || !due {
			if unexported != nil { // a quiet log: export the last one again
				unexported = exportCheckpoint(cfg, unexported, log)
				if unexported != nil {
					retryAt = time.Now().Add(checkpointRetry)
				}
			}
			continue
		}
		msg, err := st.Checkpoint(ctx, signer, cfg.LogOrigin())
		if err != nil {
			retryAt = time.Now().Add(checkpointRetry)
			if err.Error() != lastErr { // said once, not every minute
				lastErr = err.Error()
				if errors.Is(err, store.ErrInconsistent) {
					log.Error("SECURITY: the operation log is not consistent with its last checkpoint (or that checkpoint was signed by another key): no checkpoint is signed", "err", err,
						"what_to_do", "an auditor runs `jukiterm audit verify` and reports it")
					systemd.Status("serving; NO CHECKPOINT IS SIGNED: the operation log is not consistent with its last checkpoint")
				} else {
					log.Error("sign a checkpoint of the operation log (retried each minute)", "err", err)
				}
			}
			continue
		}
		lastErr = ""
		if unexported = exportCheckpoint(cfg, msg, log); unexported != nil {
			retryAt = time.Now().Add(checkpointRetry)
		}
	}
}

// finalCheckpoint signs and exports a checkpoint of the whole log at a clean stop,
// once nothing writes to it any more: no entry is left that no exported checkpoint
// covers, so entries removed from the end while jukitermd is stopped are found (at
// start, and by audit verify against the exported checkpoint).
func finalCheckpoint(st *store.Store, cfg config.Config, signer *store.NoteSigner, log *slog.Logger) {
	if st.LogSize() == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msg, err := st.Checkpoint(ctx, signer, cfg.LogOrigin())
	if err != nil {
		log.Error("no checkpoint of the operation log was signed at this stop: its newest entries are covered by no exported checkpoint", "err", err,
			"what_to_do", "an auditor runs `jukiterm audit verify` after the next start and reports a failure")
		return
	}
	if exportCheckpoint(cfg, msg, log) == nil {
		log.Info("the operation log's checkpoint at this stop is exported", "dir", cfg.CheckpointDir, "entries", st.LogSize())
	} else {
		log.Error("the checkpoint signed at this stop was not exported: the operation log's newest entries are covered only by the checkpoint recorded in the identity file",
			"what_to_do", "fix the checkpoint directory before the next start; jukitermd exports its checkpoints again as they are signed")
	}
}

// exportCheckpoint writes msg to the checkpoint directory; it returns msg if that
// failed (to be tried again), nil if it is there.
func exportCheckpoint(cfg config.Config, msg []byte, log *slog.Logger) []byte {
	path, err := store.ExportCheckpoint(cfg.CheckpointDir, msg)
	if err != nil {
		log.Error("export a checkpoint of the operation log (tried again each minute)", "err", err, "dir", cfg.CheckpointDir,
			"what_to_do", "check the checkpoint directory's medium, space and permissions")
		return msg
	}
	// Routine (every checkpoint_seconds on a busy terminal): the file is the record.
	log.Debug("operation log checkpoint signed and exported", "file", path)
	return nil
}

// eraseExpired archives, then erases, the operation-log entries past the retention
// period, once at start and then daily.
func eraseExpired(ctx context.Context, st *store.Store, cfg config.Config, signer crypto.Signer, log *slog.Logger) {
	for {
		cutoff := store.RetentionCutoff(time.Now(), cfg.LogRetentionYears)
		res, err := st.EraseBefore(ctx, cutoff, "jukitermd", func(batch []store.ArchivedEntry) error {
			// The time in the name: an archive written before an erasure that failed is
			// kept, and the next run writes its own.
			name := fmt.Sprintf("oplog-retention-%d-%d-%s.age", batch[0].Index, batch[len(batch)-1].Index, time.Now().UTC().Format("20060102T150405Z"))
			path, err := archive.Write(daemon.ArchiveDir(cfg.CheckpointDir), name, batch, cfg.BackupRecipients, signer)
			if err == nil {
				log.Info("operation-log entries archived before erasure", "file", path, "entries", len(batch))
			}
			return err
		})
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("operation-log retention: nothing was erased", "err", err, "what_to_do", "check backup_recipients and the checkpoint directory")
		case res.Erased > 0:
			log.Info("operation-log entries past retention erased (archived first)", "entries", res.Erased, "before", cutoff.Format(time.DateOnly))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(24 * time.Hour):
		}
	}
}
