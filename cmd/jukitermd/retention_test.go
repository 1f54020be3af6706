package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"jukiterm/daemon"
	"jukiterm/daemon/archive"
	"jukiterm/daemon/config"
	"jukiterm/hwsim/testlogs"
	"jukiterm/store"
)

// TestRetentionArchivesThenErases: entries older than the retention period are
// written to a signed, encrypted archive, then their payloads erased; newer ones stay.
func TestRetentionArchivesThenErases(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "jukiterm.db")
	if err := store.Create(db); err != nil {
		t.Fatal(err)
	}
	now := time.Now().AddDate(-8, 0, 0)
	st, err := store.Open(db, store.Options{Keys: store.EphemeralKeys(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := st.Log(ctx, store.Entry{Operator: "sato", Action: "search", Detail: map[string]any{"results": i}}); err != nil {
			t.Fatal(err)
		}
	}
	now = time.Now()
	if _, err := st.Log(ctx, store.Entry{Operator: "sato", Action: "search"}); err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id, _ := age.GenerateX25519Identity()
	cfg := config.Config{CheckpointDir: filepath.Join(dir, "checkpoints"), LogRetentionYears: 7,
		BackupRecipients: []string{id.Recipient().String()}}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	log := slog.New(slog.NewTextHandler(testlogs.Writer(t, io.Discard), nil))
	go func() { eraseExpired(rctx, st, cfg, key, log); close(done) }()
	var entries []store.LogEntry
	for i := 0; ; i++ {
		entries, _ = st.ReadLog(ctx, 0, 10)
		if len(entries) > 3 && entries[0].Erased {
			break
		}
		if i > 200 {
			t.Fatalf("nothing was erased: %+v", entries)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	for i, e := range entries[:3] {
		if !e.Erased {
			t.Errorf("old entry %d kept its payload", i)
		}
	}
	if entries[3].Erased {
		t.Error("a recent entry was erased")
	}
	files, _ := filepath.Glob(filepath.Join(daemon.ArchiveDir(cfg.CheckpointDir), "oplog-retention-*.age"))
	if len(files) != 1 {
		t.Fatalf("archives: %v", files)
	}
	lines, err := archive.Read(files[0], &key.PublicKey, id)
	if err != nil || len(lines) != 3 {
		t.Fatalf("the archive: %d lines, %v", len(lines), err)
	}
}
