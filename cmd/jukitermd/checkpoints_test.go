package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"jukiterm/daemon/config"
	"jukiterm/hwsim/testlogs"
	"jukiterm/store"
)

// TestCheckpointExportRetried: a checkpoint signed while the export directory cannot
// be written is exported once it can, although no entry follows (a quiet terminal).
func TestCheckpointExportRetried(t *testing.T) {
	defer func(d time.Duration) { checkpointRetry = d }(checkpointRetry)
	checkpointRetry = 50 * time.Millisecond
	dir := t.TempDir()
	db := filepath.Join(dir, "jukiterm.db")
	if err := store.Create(db); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(db, store.Options{Keys: store.EphemeralKeys()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := st.Log(ctx, store.Entry{Operator: "sato", Action: "search"}); err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := store.NewNoteSigner("jukiterm-test", key)
	out := filepath.Join(dir, "checkpoints")
	os.WriteFile(out, nil, 0o600) // not a directory: every export fails for now
	cfg := config.Config{TerminalID: "test", CheckpointDir: out, CheckpointEvery: 1, CheckpointSeconds: 1}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go signCheckpoints(rctx, st, cfg, signer, slog.New(slog.NewTextHandler(testlogs.Writer(t, io.Discard), nil)))
	exported := func() []string { m, _ := filepath.Glob(filepath.Join(out, "checkpoint-*")); return m }
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, _ := st.LatestCheckpoint(ctx, signer.Verifiers()); c != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint was signed")
		}
	}
	if len(exported()) != 0 {
		t.Fatal("exported into a file")
	}
	os.Remove(out)
	os.Mkdir(out, 0o750)
	for deadline := time.Now().Add(10 * time.Second); len(exported()) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the checkpoint was not exported again once the directory was writable")
		}
	}
	msg, _ := os.ReadFile(exported()[0])
	if c, err := store.OpenCheckpoint(msg, signer.Verifier()); err != nil || c.Size != 1 {
		t.Fatalf("the exported checkpoint: %+v %v", c, err)
	}
}
