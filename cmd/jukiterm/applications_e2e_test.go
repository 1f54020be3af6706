package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestApplicationsAndReconcile: an administrator registers an application, an
// operator searches under it, without one, and under an unknown one (refused); the
// auditor's reconciliation of today counts them.
func TestApplicationsAndReconcile(t *testing.T) {
	bin := binaries(t)
	_, conf, socket := simState(t, bin)
	d := startDaemon(t, bin, conf, socket)
	today := time.Now().Format(time.DateOnly)
	signIn(t, bin, socket, "admin")
	if r := cli(t, bin, socket, "application", "add", "P-1", "--body", "秋田県警察本部", "--purpose", "本人確認",
		"--legal-basis", "住基法 別表第5", "--expected", "1", "--from", today, "--to", today); r.code != 0 {
		t.Fatalf("application add: %+v", r)
	}
	signIn(t, bin, socket, "operator")
	if r := cli(t, bin, socket, "application", "list"); r.code != 0 || !strings.Contains(r.stdout, "P-1") || !strings.Contains(r.stdout, "valid") {
		t.Fatalf("application list: %+v", r)
	}
	cli(t, bin, socket, "search", "--code", "12000000001", "--application", "P-1")
	cli(t, bin, socket, "search", "--code", "12000000002")
	// At a terminal (script(1) gives it one), a search without --application lists the
	// open applications and asks: the answer counts as --application P-1.
	sh := exec.Command("script", "-qec", filepath.Join(bin, "jukiterm")+" search --code 12000000004", "/dev/null")
	sh.Env = append(os.Environ(), "JUKITERM_SOCKET="+socket, "XDG_RUNTIME_DIR="+runtimeDir(t))
	sh.Stdin = strings.NewReader("P-1\n")
	if out, err := sh.CombinedOutput(); err != nil || !strings.Contains(string(out), "P-1  秋田県警察本部") || !strings.Contains(string(out), "申請番号 (application ID)") {
		t.Fatalf("the asked search: %v\n%s", err, out)
	}
	if r := cli(t, bin, socket, "search", "--code", "12000000003", "--application", "P-9"); r.code != 2 || !strings.Contains(r.stderr, "no such application") {
		t.Fatalf("a search under an unknown application: %+v", r)
	}
	signIn(t, bin, socket, "auditor")
	r := cli(t, bin, socket, "audit", "reconcile", "--from", today, "--to", today, "--json")
	var rep struct {
		Lines []struct {
			Operator, Application string
			Searches              int
		}
		NoApplication []any `json:"no_application"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); r.code != 0 || err != nil || len(rep.NoApplication) != 1 {
		t.Fatalf("reconcile: %+v %v", r, err)
	}
	found := false
	for _, l := range rep.Lines {
		found = found || (l.Operator == "operator" && l.Application == "P-1" && l.Searches == 2)
	}
	if !found {
		t.Fatalf("reconcile lines: %+v", rep.Lines)
	}
	if r := cli(t, bin, socket, "audit", "reconcile", "--from", today, "--to", today); r.code != 0 || !strings.Contains(r.stdout, "Without an application: 1") {
		t.Fatalf("reconcile table: %+v", r)
	}
	d.stop(t)
}
