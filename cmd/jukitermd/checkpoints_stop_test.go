package main

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon/api"
	"jukiterm/daemon/client"
	"jukiterm/daemon/config"
	"jukiterm/hwsim/testlogs"
	"jukiterm/store"
)

// TestCheckpointAtCleanStop: entries logged while jukitermd runs, with checkpoints
// due only after many entries or a day, are all covered by the checkpoint exported at
// a clean stop; removing the last entries (and the recorded checkpoints) while it is
// stopped is then refused at start and found by audit verify against the exported
// checkpoint.
func TestCheckpointAtCleanStop(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	cfg := config.Default(dir)
	cfg.CheckpointEvery, cfg.CheckpointSeconds = 1_000_000, 86400
	if _, err := hw.Provision(cfg); err != nil {
		t.Fatal(err)
	}
	if err := store.Create(cfg.Database); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, config.FileName)
	if err := config.Write(conf, cfg); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", conf)
	testlogs.TeeStderr(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	c := client.New(cfg.Socket)
	for i := 0; c.Health(context.Background()) != nil; i++ {
		if i > 500 {
			t.Fatal("jukitermd did not serve")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for range 5 { // each refused sign-in is an entry
		if _, err := c.Login(context.Background(), api.LoginRequest{Operator: "nobody"}, func(string) {}); err == nil {
			t.Fatal("an unknown operator signed in")
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}

	exported, err := store.LatestExported(cfg.CheckpointDir)
	if err != nil || exported == nil {
		t.Fatalf("no checkpoint exported at the stop: %v", err)
	}
	var signer *store.NoteSigner
	// openStore opens the identity file as jukitermd does (the simulated TPM serves
	// one process at a time: close is called before jukitermd starts again).
	openStore := func() (st *store.Store, close func()) {
		keys, err := hw.Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if signer, err = hw.LogSigner(cfg, keys.Token); err != nil {
			t.Fatal(err)
		}
		_, dek, _, err := hw.LoadKey(cfg, keys)
		if err != nil {
			t.Fatal(err)
		}
		sk, err := store.NewKeys(dek.Derive)
		dek.Destroy()
		if err != nil {
			t.Fatal(err)
		}
		st, err = store.Open(cfg.Database, store.Options{Keys: sk, TerminalID: cfg.TerminalID})
		if err != nil {
			t.Fatal(err)
		}
		return st, func() { st.Close(); keys.Close() }
	}
	st, closeStore := openStore()
	n := st.LogSize()
	closeStore()
	cp, err := store.OpenCheckpoint(exported, signer.Verifiers())
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 || cp.Size != n {
		t.Fatalf("the exported checkpoint covers %d entries, the log has %d", cp.Size, n)
	}

	// While it is stopped, someone removes the last two entries and every recorded
	// checkpoint.
	db, err := sql.Open("sqlite3", cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DELETE FROM oplog WHERE idx >= ?`, `DELETE FROM oplog_lookup WHERE idx >= ?`, `DELETE FROM oplog_checkpoints WHERE size > ?`} {
		if _, err := db.Exec(q, n-2); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	out, err := testlogs.CombinedOutput(t, exec.Command(bin, "--config", conf))
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "rolled back") {
		t.Fatalf("start after the tail was removed: %v\n%s", err, out)
	}
	st, closeStore = openStore()
	defer closeStore()
	_, err = st.VerifyLog(context.Background(), signer.Verifiers(), exported)
	var p *store.LogProblem
	if !errors.As(err, &p) || p.Index != n-2 || p.Through != n-1 {
		t.Fatalf("audit verify against the exported checkpoint: %v", err)
	}
	if _, err := os.Stat(cfg.Socket); err == nil {
		t.Fatal("a socket was left")
	}
}
