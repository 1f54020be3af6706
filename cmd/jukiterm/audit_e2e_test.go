package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jukiterm/hwsim/testlogs"
)

// TestAuditAndRollback: searches are in the operation log, checkpoints are signed and
// exported on schedule, `audit verify` and `audit lookup` answer an auditor, and a
// database rolled back to an older copy is refused at start against the exported
// checkpoint.
func TestAuditAndRollback(t *testing.T) {
	bin := binaries(t)
	state, conf, socket := simState(t, bin)
	b, _ := os.ReadFile(conf)
	os.WriteFile(conf, bytes.Replace(b, []byte("checkpoint_seconds = 30"), []byte("checkpoint_seconds = 1"), 1), 0o640)
	d := startDaemon(t, bin, conf, socket)
	signIn(t, bin, socket, "operator")
	cli(t, bin, socket, "search", "--code", "12000000001")
	waitCheckpoint := func(n int) {
		t.Helper()
		for i := 0; ; i++ {
			if files, _ := filepath.Glob(filepath.Join(state, "checkpoints", "checkpoint-*")); len(files) >= n {
				return
			}
			if i > 200 {
				t.Fatalf("no checkpoint %d was exported\n%s", n, d.out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitCheckpoint(1)
	d.stop(t)
	old, _ := os.ReadFile(filepath.Join(state, "jukiterm.db"))

	d = startDaemon(t, bin, conf, socket)
	signIn(t, bin, socket, "operator")
	cli(t, bin, socket, "search", "--code", "12000000002")
	waitCheckpoint(2)
	signIn(t, bin, socket, "auditor")
	if r := cli(t, bin, socket, "audit", "verify"); r.code != 0 || !strings.Contains(r.stdout, "verifies") {
		t.Fatalf("audit verify: %+v", r)
	}
	if r := cli(t, bin, socket, "audit", "lookup", "12000000002"); r.code != 0 || !strings.Contains(r.stdout, "search") {
		t.Fatalf("audit lookup: %+v", r)
	}
	today := time.Now().Format(time.DateOnly)
	r := cli(t, bin, socket, "audit", "export", "--from", today, "--to", today)
	if r.code != 0 || !strings.Contains(r.stdout, "entries archived in") {
		t.Fatalf("audit export: %+v", r)
	}
	archives, _ := filepath.Glob(filepath.Join(state, "checkpoints", "archives", "oplog-*.age"))
	if len(archives) != 1 {
		t.Fatalf("archives: %v", archives)
	}
	if b, _ := os.ReadFile(archives[0]); bytes.Contains(b, []byte("search")) {
		t.Fatal("the archive is not encrypted")
	}
	signIn(t, bin, socket, "operator")
	if r := cli(t, bin, socket, "audit", "verify"); r.code != 2 || !strings.Contains(r.stderr, "does not hold the right") {
		t.Fatalf("audit verify as an operator: %+v", r)
	}
	time.Sleep(1500 * time.Millisecond) // the journal mirror runs each second
	d.stop(t)
	journal := d.out.String()
	if !strings.Contains(journal, "msg=operation") || !strings.Contains(journal, "action=search") || !strings.Contains(journal, "action=audit.lookup") {
		t.Fatalf("the journal does not mirror the operation log:\n%s", journal)
	}
	if strings.Contains(journal, "12000000002") {
		t.Fatal("the journal holds a searched 住民票コード")
	}

	// The file is put back as it was before the second run: jukitermd refuses it.
	os.WriteFile(filepath.Join(state, "jukiterm.db"), old, 0o600)
	cmd := exec.Command(filepath.Join(bin, "jukitermd"), "--config", conf)
	out, err := testlogs.CombinedOutput(t, cmd)
	if err == nil || !strings.Contains(string(out), "rolled back or altered") {
		t.Fatalf("start on a rolled-back file: %v\n%s", err, out)
	}
}
