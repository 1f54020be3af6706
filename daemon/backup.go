package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/daemon/backup"
	"jukiterm/store"
)

// Backups configure the daemon's backups: where they go, to whom they are encrypted,
// the signing key, and the daily schedule.
type Backups struct {
	backup.Options
	// At is the local time of day of the daily backup, as a duration after midnight.
	At time.Duration
	// Keep is how many of the newest backups stay; older ones are removed after each
	// backup that succeeds.
	Keep int
	// After is the schedule's timer (time.After when nil); Options.Now is its clock.
	After func(time.Duration) <-chan time.Time
}

// backupBlockedByRotation says whether a storage key rotation is under way: no backup
// is made then, as it could hold rows under two keys. backup.Create also refuses while
// the key file holds a rotation's new key. Tests replace it to simulate a rotation.
var backupBlockedByRotation = func(st *store.Store) bool { return st.Rotating() }

// SetBackups (called once, before Serve) gives the server its backup configuration
// and starts the daily schedule, which ends when the server shuts down. Without
// recipients or a signing key the schedule is off, and says so in the log.
func (s *Server) SetBackups(b Backups) {
	if b.Now == nil {
		b.Now = time.Now
	}
	if b.After == nil {
		b.After = time.After
	}
	s.backups = &b
	switch {
	case len(b.Recipients) == 0:
		s.log.Warn("daily backups are off: backup_recipients is empty in the configuration; add the age recipients (age1…) of those who may restore a backup and restart jukitermd (see jukiterm.conf(5))")
		return
	case b.Signer == nil:
		s.log.Error("daily backups are off: the HSM's signing key is not usable (see the error logged before)")
		return
	}
	s.log.Info("daily backups", "at", fmt.Sprintf("%02d:%02d", int(b.At.Hours()), int(b.At.Minutes())%60), "dir", b.Dir, "keep", b.Keep, "recipients", len(b.Recipients))
	go s.backupSchedule(&b)
}

// backupSchedule makes a backup every day at b.At local time until shutdown. A run
// missed while the daemon was stopped is not made up.
func (s *Server) backupSchedule(b *Backups) {
	for {
		now := b.Now()
		next := nextRun(now, b.At)
		select {
		case <-s.ctx.Done():
			return
		case <-b.After(next.Sub(now)):
		}
		s.makeBackup(s.ctx, "schedule")
	}
}

// nextRun returns the first time after now at the local time of day at.
func nextRun(now time.Time, at time.Duration) time.Time {
	h, m := int(at.Hours()), int(at.Minutes())%60
	t := time.Date(now.Year(), now.Month(), now.Day(), h, m, 0, 0, now.Location())
	if !t.After(now) {
		t = time.Date(now.Year(), now.Month(), now.Day()+1, h, m, 0, 0, now.Location())
	}
	return t
}

// makeBackup makes one backup and prunes the old ones; never two at once. It logs
// the outcome either way.
func (s *Server) makeBackup(ctx context.Context, trigger string) (backup.Result, error) {
	b := s.backups
	switch {
	case b == nil || len(b.Recipients) == 0:
		return backup.Result{}, &api.Error{Status: http.StatusBadRequest, Kind: api.KindBadRequest, Message: backup.ErrNotConfigured.Error()}
	case b.Signer == nil:
		return backup.Result{}, &api.Error{Status: http.StatusServiceUnavailable, Kind: api.KindInternal,
			Message: "no backup can be signed: jukitermd could not use the HSM's signing key at start (see its log); check the HSM and restart jukitermd"}
	case backupBlockedByRotation(s.store):
		s.log.Warn("backup not made", "trigger", trigger, "reason", backup.ErrRotating.Error())
		return backup.Result{}, busy(backup.ErrRotating.Error())
	}
	if !s.backupMu.TryLock() {
		s.log.Warn("backup not made: another backup is running", "trigger", trigger)
		return backup.Result{}, busy("a backup is already running: wait for it to finish (jukitermd logs it), then try again if you still need one")
	}
	defer s.backupMu.Unlock()
	start := time.Now()
	res, err := backup.Create(ctx, s.store, b.Options)
	if err != nil {
		s.log.Error("backup failed", "trigger", trigger, "err", err, "dir", b.Dir)
		if errors.Is(err, backup.ErrRotating) {
			return res, busy(err.Error())
		}
		return res, fmt.Errorf("backup failed (nothing was written to %s): %w", b.Dir, err)
	}
	s.log.Info("backup made", "trigger", trigger, "path", res.Path, "bytes", res.Bytes, "persons", res.Persons,
		"update_seq", res.UpdateSeq, "seconds", time.Since(start).Seconds())
	if trigger == "schedule" {
		if _, err := s.store.Log(ctx, store.Entry{Operator: "jukitermd", Action: "backup.create",
			Detail: map[string]any{"file": res.Path, "persons": res.Persons, "update_seq": res.UpdateSeq, "trigger": trigger}}); err != nil {
			s.log.Error("the scheduled backup could not be recorded in the operation log", "err", err)
		}
	}
	removed, err := backup.Prune(b.Dir, b.TerminalID, b.Keep)
	for _, p := range removed {
		s.log.Info("old backup removed", "path", p, "keep", b.Keep)
	}
	if len(removed) > 0 {
		names := make([]string, len(removed))
		for i, p := range removed {
			names[i] = filepath.Base(p)
		}
		if _, err := s.store.Log(ctx, store.Entry{Operator: "jukitermd", Action: "backup.pruned",
			Detail: map[string]any{"removed": names, "keep": b.Keep}}); err != nil {
			s.log.Error("the removal of old backups could not be recorded in the operation log", "err", err)
		}
	}
	if err != nil {
		s.log.Error("old backups could not all be removed", "err", err, "dir", b.Dir)
	}
	return res, nil
}

func busy(msg string) error {
	return &api.Error{Status: http.StatusConflict, Kind: api.KindBusy, Message: msg}
}

// backupNow answers POST /v1/backup: one backup now, its result as JSON.
func (s *Server) backupNow(w http.ResponseWriter, r *http.Request) {
	// Logged before anything is copied (fail closed), and the result after.
	if err := s.record(r, "backup.request", nil); err != nil {
		writeError(w, err)
		return
	}
	res, err := s.makeBackup(r.Context(), fmt.Sprintf("request (uid %d)", peerOf(r).UID))
	if err != nil {
		s.record(r, "backup.failed", map[string]any{"reason": err.Error()})
		writeError(w, err)
		return
	}
	if err := s.record(r, "backup.create", map[string]any{"file": res.Path, "persons": res.Persons, "update_seq": res.UpdateSeq}); err != nil {
		os.Remove(res.Path) // a backup the log does not name is not kept
		writeError(w, err)
		return
	}
	writeJSON(w, res)
}
