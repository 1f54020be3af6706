package daemon

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"jukiterm/daemon/api"
	"jukiterm/daemon/backup"
	"jukiterm/hsm"
	"jukiterm/store"
)

// syncBuffer is a log sink the schedule's goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// backupConfig returns a backup configuration with a software signing key standing in
// for the HSM's and a key file with a recovery part.
func backupConfig(t *testing.T) (Backups, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id, _ := age.GenerateX25519Identity()
	dir := t.TempDir()
	kf := &hsm.KeyFile{Sealed: &hsm.Sealed{Public: []byte{1}, Private: []byte{2}, PCRs: []uint{7}},
		Recovery: []byte("copy"), RecoveryRecipient: "age1recovery", RecoveryIdentity: []byte("identity")}
	b, _ := kf.Marshal()
	os.WriteFile(filepath.Join(dir, "storage.key"), b, 0o600)
	return Backups{Options: backup.Options{Dir: filepath.Join(dir, "backups"), Recipients: []string{id.Recipient().String()},
		Signer: key, TerminalID: "terminal-01", Prefecture: "秋田県", KeyFile: filepath.Join(dir, "storage.key")},
		At: 2 * time.Hour, Keep: 2, After: func(time.Duration) <-chan time.Time { return nil }}, key
}

func TestBackupAPI(t *testing.T) {
	f := start(t)
	if _, err := f.cl.Ingest(context.Background(), residents(t, 50), nil); err != nil {
		t.Fatal(err)
	}
	var ae *api.Error
	if _, err := f.cl.Backup(context.Background()); !errors.As(err, &ae) || ae.Kind != api.KindBadRequest || !strings.Contains(err.Error(), "backup_recipients") {
		t.Fatalf("backup without configuration: %v", err)
	}
	b, key := backupConfig(t)
	f.srv.SetBackups(b)
	res, err := f.cl.Backup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Persons != 50 || res.UpdateSeq != 50 || filepath.Dir(res.Path) != b.Dir {
		t.Fatalf("result %+v", res)
	}
	if _, err := backup.Verify(res.Path, &key.PublicKey); err != nil {
		t.Fatal(err)
	}

	f.srv.backupMu.Lock() // a backup running
	_, err = f.cl.Backup(context.Background())
	f.srv.backupMu.Unlock()
	if !errors.As(err, &ae) || ae.Kind != api.KindBusy || ae.Status != 409 {
		t.Fatalf("a second backup at once: %v", err)
	}
	saved := backupBlockedByRotation
	backupBlockedByRotation = func(*store.Store) bool { return true }
	_, err = f.cl.Backup(context.Background())
	backupBlockedByRotation = saved
	if !errors.As(err, &ae) || ae.Kind != api.KindBusy || !strings.Contains(err.Error(), "rotation") {
		t.Fatalf("a backup during a rotation: %v", err)
	}
}

// TestBackupSchedule drives the daily schedule with a clock of its own: the wait is
// until the configured time of day, each run makes a backup and logs it, and only
// the newest backup_keep stay.
func TestBackupSchedule(t *testing.T) {
	f := start(t)
	if _, err := f.cl.Ingest(context.Background(), residents(t, 20), nil); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	f.srv.log = testLogger(t, &logs, nil)
	b, key := backupConfig(t)
	var mu sync.Mutex
	now := time.Date(2026, 11, 26, 1, 59, 30, 0, time.Local)
	b.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	waits := make(chan time.Duration)
	fire := make(chan time.Time)
	b.After = func(d time.Duration) <-chan time.Time { waits <- d; return fire }
	f.srv.SetBackups(b)

	wait := func(what string) {
		t.Helper()
		select {
		case d := <-waits:
			if d != 30*time.Second {
				t.Fatalf("%s: the schedule waits %v, want 30s until 02:00", what, d)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the schedule does not wait for its next run\n%s", what, logs.String())
		}
	}
	for day := 1; day <= 4; day++ {
		wait("before a run")
		mu.Lock()
		now = now.AddDate(0, 0, 1) // the night of this run
		mu.Unlock()
		fire <- now
	}
	wait("after the last run") // the schedule waits again only once the run is over
	files, err := backup.List(b.Dir, "terminal-01")
	if err != nil || len(files) != 2 {
		t.Fatalf("backups kept: %v %v\n%s", files, err, logs.String())
	}
	if want := backup.FileName("terminal-01", now); filepath.Base(files[1].Path) != want {
		t.Fatalf("newest backup %s, want %s", files[1].Path, want)
	}
	if _, err := backup.Verify(files[1].Path, &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if strings.Count(out, "backup made") != 4 || strings.Count(out, "trigger=schedule") != 4 || strings.Count(out, "old backup removed") != 2 {
		t.Fatalf("log:\n%s", out)
	}
	entries, err := f.st.ReadLog(context.Background(), 0, 1000)
	actions := map[string]int{}
	for _, e := range entries {
		actions[e.Action]++
	}
	if err != nil || actions["backup.create"] != 4 || actions["backup.pruned"] != 2 {
		t.Fatalf("the operation log's backup entries: %v %v", actions, err)
	}
}

func TestBackupScheduleOff(t *testing.T) {
	f := start(t)
	var logs syncBuffer
	f.srv.log = testLogger(t, &logs, nil)
	b, _ := backupConfig(t)
	b.Recipients = nil
	b.After = func(time.Duration) <-chan time.Time { t.Error("a schedule without recipients runs"); return nil }
	f.srv.SetBackups(b)
	if !strings.Contains(logs.String(), "daily backups are off: backup_recipients is empty") {
		t.Fatalf("log: %s", logs.String())
	}
}

func TestNextRun(t *testing.T) {
	at := 2 * time.Hour
	cases := []struct{ now, want time.Time }{
		{time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC), time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)},
		{time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC), time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)},
		{time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 2, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		if got := nextRun(c.now, at); !got.Equal(c.want) {
			t.Errorf("nextRun(%v) = %v, want %v", c.now, got, c.want)
		}
	}
}
