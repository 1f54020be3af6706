package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"jukiterm/daemon/client"
	"jukiterm/hwsim/testlogs"
	"jukiterm/store/record"

	_ "github.com/mattn/go-sqlite3"
)

// binaries builds jukiterm and jukitermd once for the end-to-end tests.
func binaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+"/", "jukiterm/cmd/jukiterm", "jukiterm/cmd/jukitermd")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return dir
}

type run struct {
	stdout, stderr string
	code           int
}

// runtimeDirs gives each test its own XDG_RUNTIME_DIR, where jukiterm keeps sessions.
var runtimeDirs sync.Map

func runtimeDir(t *testing.T) string {
	if d, ok := runtimeDirs.Load(t.Name()); ok {
		return d.(string)
	}
	d := t.TempDir()
	runtimeDirs.Store(t.Name(), d)
	return d
}

func cli(t *testing.T, bin, socket string, args ...string) run {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "jukiterm"), args...)
	cmd.Env = append(os.Environ(), "JUKITERM_SOCKET="+socket, "XDG_RUNTIME_DIR="+runtimeDir(t))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return run{out.String(), errb.String(), code}
}

// signIn signs the test's user in as name with the simulated finger.
func signIn(t *testing.T, bin, socket, name string) {
	t.Helper()
	if r := cli(t, bin, socket, "login", "--sim-finger", name); r.code != 0 || !strings.Contains(r.stdout, "Signed in as "+name) {
		t.Fatalf("login as %s: %+v", name, r)
	}
}

// signInAdmin signs in as the demo administrator and makes sure it may also search
// (tests that ingest, search and administer in one session).
func signInAdmin(t *testing.T, bin, socket string) {
	t.Helper()
	signIn(t, bin, socket, "admin")
	if r := cli(t, bin, socket, "whoami"); !strings.Contains(r.stdout, "operator") {
		if r := cli(t, bin, socket, "rights", "grant", "admin", "operator", "--reason", "test"); r.code != 0 {
			t.Fatalf("grant: %+v", r)
		}
	}
}

func myNumber(first11 string) string { return first11 + fmt.Sprint(record.MyNumberCheckDigit(first11)) }

// TestEndToEnd drives the real binaries as a new user would: init, start the daemon,
// ingest, search, show, stats, errors and exit codes, clean shutdown on SIGTERM.
func TestEndToEnd(t *testing.T) {
	bin := binaries(t)
	state := filepath.Join(t.TempDir(), "state")
	if r := cli(t, bin, "", "init", "--state", state, "--demo"); r.code != 0 || !strings.Contains(r.stdout, "jukitermd --config") ||
		!strings.Contains(r.stdout, "Enrolled operator operator") {
		t.Fatalf("init: %+v", r)
	}
	if r := cli(t, bin, "", "init", "--state", state); r.code == 0 || !strings.Contains(r.stderr, "already initialised") {
		t.Fatalf("second init: %+v", r)
	}
	installed := filepath.Join(t.TempDir(), "etc.conf")
	os.WriteFile(installed, []byte("hardware = \"sim\"\nsocket = \"/run/x.sock\"\nstate_dir = \"var\"\n"), 0o640)
	os.Mkdir(filepath.Join(filepath.Dir(installed), "var"), 0o750)
	if r := cli(t, bin, "", "init", "--config", installed); r.code != 0 || !strings.Contains(r.stdout, "Recovery secret") {
		t.Fatalf("init --config: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(installed), "var", "jukiterm.db")); err != nil {
		t.Fatal("init --config made no identity file where the configuration says")
	}
	if r := cli(t, bin, "", "init", "--config", installed); r.code == 0 || !strings.Contains(r.stderr, "nothing was changed") {
		t.Fatalf("second init --config: %+v", r)
	}
	socket := filepath.Join(state, "jukiterm.sock")
	if r := cli(t, bin, socket, "stats"); r.code != 2 || !strings.Contains(r.stderr, "Is the daemon running?") {
		t.Fatalf("stats without a daemon: %+v", r)
	}
	daemon := exec.Command(filepath.Join(bin, "jukitermd"), "--config", filepath.Join(state, "jukiterm.conf"))
	var dlog bytes.Buffer
	daemon.Stderr = &dlog
	testlogs.TeeStderr(t, daemon)
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	defer daemon.Process.Kill()
	for i := 0; ; i++ {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		if i > 300 {
			t.Fatalf("no socket: %s", dlog.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	p := map[string]any{"id": "e-1", "municipality": "052019", "reason": "転入", "changed_on": "2026-04-01",
		"notified_on": "2026-04-02", "resident_code": "12000000001", "my_number": myNumber("45000000001"),
		"name": "山崎　純子", "name_kana": "ヤマザキ　ジュンコ", "birth": "1980-02-29", "sex": 2,
		"address": "秋田県秋田市山王一丁目1番1号"}
	move := map[string]any{"id": "e-2", "municipality": "052019", "reason": "転居", "changed_on": "2026-05-01",
		"notified_on": "2026-05-01", "resident_code": "12000000001", "address": "秋田県秋田市旭北錦町1番1号"}
	again := map[string]any{}
	for k, v := range p {
		again[k] = v
	}
	again["id"] = "e-3"
	var file bytes.Buffer
	for _, n := range []any{p, move, again} {
		b, _ := json.Marshal(n)
		file.Write(append(b, '\n'))
	}
	path := filepath.Join(t.TempDir(), "n.jsonl")
	os.WriteFile(path, file.Bytes(), 0o600)

	if r := cli(t, bin, socket, "ingest", path, "--json"); r.code != 2 || !strings.Contains(r.stderr, "not signed in") {
		t.Fatalf("ingest without signing in: %+v", r)
	}
	signIn(t, bin, socket, "operator")
	if r := cli(t, bin, socket, "ingest", path, "--json"); r.code != 2 || !strings.Contains(r.stderr, "does not hold the right") {
		t.Fatalf("ingest as an operator: %+v", r)
	}
	signIn(t, bin, socket, "admin")
	r := cli(t, bin, socket, "ingest", path, "--json")
	var res struct {
		Applied, Duplicates, Rejected int
		Rejections                    []struct {
			Line     int
			ID, Rule string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 3 {
		t.Fatalf("ingest: %+v (%v)", r, err)
	}
	if res.Applied != 2 || res.Rejected != 1 || res.Rejections[0].Line != 3 || res.Rejections[0].Rule != "entering-current-resident" {
		t.Fatalf("ingest result: %+v", res)
	}
	if r := cli(t, bin, socket, "ingest", path, "--json"); r.code != 3 || !strings.Contains(r.stdout, `"duplicates":2`) {
		t.Fatalf("the same file again: %+v", r)
	}
	if r := cli(t, bin, socket, "ingest", filepath.Join(state, "missing.jsonl")); r.code != 2 || !strings.Contains(r.stderr, "nothing was applied") {
		t.Fatalf("missing file: %+v", r)
	}

	if r := cli(t, bin, socket, "search", "--kana", "やまさき じゅんこ"); r.code != 2 || !strings.Contains(r.stderr, "does not hold the right to search") {
		t.Fatalf("search as the administrator: %+v", r)
	}
	signIn(t, bin, socket, "operator")
	r = cli(t, bin, socket, "search", "--kana", "やまさき じゅんこ", "--json")
	var recs []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil || r.code != 0 || len(recs) != 1 || recs[0]["name_kana_seion"] != "ヤマサキシユンコ" {
		t.Fatalf("search: %+v", r)
	}
	if r := cli(t, bin, socket, "search", "--kana", "ヤマザキ"); r.code != 0 || !strings.Contains(r.stdout, "山崎　純子") {
		t.Fatalf("surname search table: %+v", r)
	}
	if r := cli(t, bin, socket, "search", "--kana", "タナカ", "--json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("search with no match: %+v", r)
	}
	if r := cli(t, bin, socket, "search", "--birth", "1980-02-29"); r.code != 2 || !strings.Contains(r.stderr, "--birth together with another item") {
		t.Fatalf("search with too little: %+v", r)
	}
	if r := cli(t, bin, socket, "search", "--nmae", "x"); r.code != 2 {
		t.Fatalf("unknown flag: %+v", r)
	}

	r = cli(t, bin, socket, "show", "12000000001", "--history", "--json")
	var rec struct {
		record.Record
		History []record.Record `json:"history"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || r.code != 0 {
		t.Fatalf("show: %+v %v", r, err)
	}
	if rec.Status != "current" || rec.Reason != "転居" || len(rec.History) != 1 || rec.History[0].Reason != "転入" || rec.UpdateSeq != 2 {
		t.Fatalf("show record: %+v", rec)
	}
	if r := cli(t, bin, socket, "show", "12000000001"); r.code != 0 || !strings.Contains(r.stdout, "昭和55年2月29日") {
		t.Fatalf("show table: %+v", r)
	}
	if r := cli(t, bin, socket, "show", "12000000002"); r.code != 1 {
		t.Fatalf("show of a missing person: %+v", r)
	}
	if r := cli(t, bin, socket, "stats", "--json"); r.code != 0 || !strings.Contains(r.stdout, `"persons_current":1`) {
		t.Fatalf("stats: %+v", r)
	}

	daemon.Process.Signal(syscall.SIGTERM)
	if err := daemon.Wait(); err != nil {
		t.Fatalf("daemon after SIGTERM: %v\n%s", err, dlog.String())
	}
	if _, err := os.Stat(socket); err == nil {
		t.Fatal("the socket was left behind")
	}
}

// TestRecoveryDrill: the TPM is replaced (its state wiped), the daemon refuses and says
// what to do; the recovery secret restores access; reseal works while the key opens.
func TestRecoveryDrill(t *testing.T) {
	bin := binaries(t)
	state := filepath.Join(t.TempDir(), "state")
	r := cli(t, bin, "", "init", "--state", state)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	secret := strings.TrimSpace(lines[len(lines)-1])
	if r.code != 0 || len(secret) != 39 {
		t.Fatalf("init: %+v", r)
	}
	conf := filepath.Join(state, "jukiterm.conf")
	serve := func() (string, int) {
		cmd := exec.Command(filepath.Join(bin, "jukitermd"), "--config", conf)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		testlogs.TeeStderr(t, cmd)
		cmd.Start()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		socket := filepath.Join(state, "jukiterm.sock")
		var err error
	wait:
		for i := 0; ; i++ {
			select {
			case err = <-done:
				break wait
			case <-time.After(30 * time.Millisecond):
			}
			if client.New(socket).Health(context.Background()) == nil || i > 300 {
				cmd.Process.Signal(syscall.SIGTERM)
				err = <-done
				break
			}
		}
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return out.String(), code
	}
	os.RemoveAll(filepath.Join(state, "tpm")) // a new TPM
	if out, code := serve(); code != 1 || !strings.Contains(out, "keys recover") {
		t.Fatalf("start with a new TPM: exit %d\n%s", code, out)
	}
	rec := exec.Command(filepath.Join(bin, "jukiterm"), "keys", "recover", "--config", conf)
	rec.Stdin = strings.NewReader("WRONG-" + secret[5:] + "\n")
	if out, err := rec.CombinedOutput(); err == nil || !strings.Contains(string(out), "does not open") {
		t.Fatalf("recover with a wrong secret: %v %s", err, out)
	}
	rec = exec.Command(filepath.Join(bin, "jukiterm"), "keys", "recover", "--config", conf)
	rec.Stdin = strings.NewReader(strings.ToLower(secret) + "\n")
	if out, err := rec.CombinedOutput(); err != nil || !strings.Contains(string(out), "Access restored") {
		t.Fatalf("recover: %v %s", err, out)
	}
	if out, code := serve(); code != 0 {
		t.Fatalf("start after recovery: exit %d\n%s", code, out)
	}
	if r := cli(t, bin, "", "keys", "reseal", "--config", conf); r.code != 0 || !strings.Contains(r.stdout, "sealed to PCRs") {
		t.Fatalf("reseal: %+v", r)
	}
	if out, code := serve(); code != 0 {
		t.Fatalf("start after reseal: exit %d\n%s", code, out)
	}
	// Both offline key operations are in the operation log (its action column is
	// plain text; the sqlite3 driver is linked into the test).
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(state, "jukiterm.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM oplog WHERE action IN ('key.recovered', 'key.resealed')`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("key operations in the log: %d %v", n, err)
	}
}
