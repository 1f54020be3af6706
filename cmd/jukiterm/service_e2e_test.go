package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"jukiterm/hwsim/load"
	"jukiterm/store/record"
)

// TestServiceEndToEnd drives the binaries on the simulators: a vendor and a supervisor
// sign in, the vendor gets nothing before the service session and nothing but
// maintenance in it, reads the status and the daemon's log, verifies and stages a
// signed package, has a tampered one refused, ends the session; the auditor's
// transcript holds every step. The daemon's log — the whole of it, and what `service
// logs` shows — holds none of the residents' codes, numbers, names or addresses that
// were ingested, searched and shown.
func TestServiceEndToEnd(t *testing.T) {
	bin := binaries(t)
	state, conf, socket := simState(t, bin)
	keys := t.TempDir()
	if r := cli(t, bin, "", "service", "update", "keygen", "--name", "prefecture-release", "--out", filepath.Join(keys, "rel")); r.code != 0 {
		t.Fatalf("keygen: %+v", r)
	}
	pub, _ := os.ReadFile(filepath.Join(keys, "rel.pub"))
	f, _ := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("update_keys = [\"" + strings.TrimSpace(string(pub)) + "\"]\n")
	f.Close()
	d := startDaemon(t, bin, conf, socket)

	// Residents to look for in the logs: ingested, searched and shown.
	var data bytes.Buffer
	if err := load.WriteResidents(&data, 11, 60, record.Akita()); err != nil {
		t.Fatal(err)
	}
	resFile := filepath.Join(t.TempDir(), "residents.jsonl")
	os.WriteFile(resFile, data.Bytes(), 0o600)
	if r := cli(t, bin, socket, "backup", "verify"); r.code == 0 || !strings.Contains(r.stderr, "not signed in") || !strings.Contains(r.stderr, "backup verify FILE") {
		t.Fatalf("backup verify, not signed in: %+v", r)
	}
	signInAdmin(t, bin, socket)
	if r := cli(t, bin, socket, "ingest", resFile); r.code != 0 {
		t.Fatalf("ingest: %+v", r)
	}
	if r := cli(t, bin, socket, "backup", "create"); r.code != 0 {
		t.Fatalf("backup create: %+v", r)
	}
	var values []string
	sc := bufio.NewScanner(bytes.NewReader(data.Bytes()))
	for i := 0; sc.Scan(); i++ {
		var n map[string]any
		json.Unmarshal(sc.Bytes(), &n)
		for _, k := range []string{"resident_code", "my_number", "name", "name_kana", "address"} {
			if s, _ := n[k].(string); s != "" {
				values = append(values, s)
			}
		}
		if i < 5 {
			code := n["resident_code"].(string)
			cli(t, bin, socket, "search", "--code", code, "--json")
			cli(t, bin, socket, "show", code, "--json")
		}
	}
	for _, c := range []string{
		"operator add vendor1 --role vendor,operator --reason 保守契約第7号 --sim-finger vendor1",
		"operator add super1 --role supervisor --reason 辞令12 --sim-finger super1",
	} {
		if r := cli(t, bin, socket, strings.Fields(c)...); r.code != 0 {
			t.Fatalf("%s: %+v", c, r)
		}
	}

	signIn(t, bin, socket, "vendor1")
	code := values[0]
	if r := cli(t, bin, socket, "search", "--code", code, "--json"); r.code == 0 || !strings.Contains(r.stderr, "outside a supervised service session") {
		t.Fatalf("a vendor's search without a service session: %+v", r)
	}
	if r := cli(t, bin, socket, "service", "status"); r.code == 0 {
		t.Fatalf("service status without a service session: %+v", r)
	}
	if r := cli(t, bin, socket, "service", "start", "--supervisor", "super1", "--sim-finger", "vendor1"); r.code == 0 {
		t.Fatalf("the vendor's own finger started a session: %+v", r)
	}
	r := cli(t, bin, socket, "service", "start", "--supervisor", "super1", "--sim-finger", "super1")
	if r.code != 0 || !strings.Contains(r.stdout, "vendor vendor1, supervisor super1") {
		t.Fatalf("service start: %+v", r)
	}
	if r := cli(t, bin, socket, "sim", "usb", "plug", "--serial", "SVC-STICK-1"); r.code != 0 {
		t.Fatalf("sim usb plug: %+v", r)
	}
	r = cli(t, bin, socket, "service", "status")
	for _, want := range []string{"quick_check", "ok", "PCR 7", "jukiterm-signing: EC P-256 key pair, id 7369676e2d31", "AES-256 secret key, id 777261702d31", "paired", "configuration sha256",
		"SVC-STICK-1", "not in the issued-media ledger"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Fatalf("service status lacks %q: %+v", want, r)
		}
	}
	firstLogs := cli(t, bin, socket, "service", "logs", "--since", "1h")
	if firstLogs.code != 0 || !strings.Contains(firstLogs.stdout, "service session started") || !strings.Contains(firstLogs.stdout, "signed in") {
		t.Fatalf("service logs: %+v", firstLogs)
	}
	if r := cli(t, bin, socket, "backup", "verify"); r.code != 0 || !strings.Contains(r.stdout, "signature and manifest good") {
		t.Fatalf("the vendor's backup verify: %+v", r)
	}
	if r := cli(t, bin, socket, "service", "backup-verify", "--json"); r.code != 0 || !strings.Contains(r.stdout, `"sound":true`) {
		t.Fatalf("service backup-verify --json: %+v", r)
	}
	if r := cli(t, bin, socket, "search", "--code", code, "--json"); r.code == 0 || !strings.Contains(r.stderr, "only maintenance is allowed") {
		t.Fatalf("a vendor who is also an operator searched in service mode: %+v", r)
	}

	// A signed package holding a real jukitermd of version 9.0.0, verified and staged;
	// the same with one byte changed, refused.
	rel := t.TempDir()
	os.MkdirAll(filepath.Join(rel, "systemd"), 0o755)
	if out, err := exec.Command("go", "build", "-ldflags", "-X jukiterm/daemon/update.Version=9.0.0",
		"-o", filepath.Join(rel, "bin", "jukitermd"), "jukiterm/cmd/jukitermd").CombinedOutput(); err != nil {
		t.Fatalf("build jukitermd 9.0.0: %v\n%s", err, out)
	}
	newBin, _ := os.ReadFile(filepath.Join(rel, "bin", "jukitermd"))
	os.WriteFile(filepath.Join(rel, "systemd", "jukitermd.service"), []byte("[Service]\nExecStart=/usr/sbin/jukitermd\n"), 0o644)
	pkg := filepath.Join(t.TempDir(), "jukiterm-9.0.0.tar")
	if r := cli(t, bin, "", "service", "update", "build", "--key", filepath.Join(keys, "rel.key"), "--version", "9.0.0", "--out", pkg, rel); r.code != 0 {
		t.Fatalf("build: %+v", r)
	}
	if r := cli(t, bin, socket, "service", "update", "verify", pkg); r.code != 0 || !strings.Contains(r.stdout, "prefecture-release") {
		t.Fatalf("verify: %+v", r)
	}
	b, _ := os.ReadFile(pkg)
	bad := bytes.Replace(b, []byte("ExecStart=/usr/sbin/"), []byte("ExecStart=/usr/bin/X"), 1) // one byte of a unit file
	if bytes.Equal(bad, b) {
		t.Fatal("the tampering did not hit the unit file")
	}
	tampered := filepath.Join(t.TempDir(), "tampered.tar")
	os.WriteFile(tampered, bad, 0o644)
	if r := cli(t, bin, socket, "service", "update", "stage", tampered); r.code == 0 || !strings.Contains(r.stderr, "altered") {
		t.Fatalf("a tampered package: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(state, "updates", "9.0.0")); err == nil {
		t.Fatal("the tampered package was staged")
	}
	if r := cli(t, bin, socket, "service", "update", "stage", pkg); r.code != 0 || !strings.Contains(r.stdout, "Staged") {
		t.Fatalf("stage: %+v", r)
	}
	if got, err := os.ReadFile(filepath.Join(state, "updates", "9.0.0", "bin", "jukitermd")); err != nil || !bytes.Equal(got, newBin) {
		t.Fatalf("staged binary: %q %v", got, err)
	}
	if r := cli(t, bin, socket, "service", "update", "activate", "9.0.0"); r.code == 0 {
		t.Fatalf("the vendor activated an update: %+v", r)
	}
	if r := cli(t, bin, socket, "service", "end"); r.code != 0 {
		t.Fatalf("service end: %+v", r)
	}
	if r := cli(t, bin, socket, "service", "logs"); r.code == 0 {
		t.Fatalf("service logs after the end: %+v", r)
	}
	signIn(t, bin, socket, "admin")
	if r := cli(t, bin, socket, "service", "update", "activate", "9.0.0"); r.code != 0 || !strings.Contains(r.stdout, "switch is written") {
		t.Fatalf("activate: %+v", r)
	}
	if l, _ := os.Readlink(filepath.Join(state, "updates", "current")); l != "9.0.0" {
		t.Fatalf("updates/current -> %q", l)
	}
	// The activation takes effect at the next start: the checked 9.0.0 runs.
	d.stop(t)
	firstRun := d.out.String()
	d = startDaemon(t, bin, conf, socket)
	if !strings.Contains(d.out.String(), "starting the activated update") {
		t.Fatalf("the activated version was not started:\n%s", d.out)
	}

	signIn(t, bin, socket, "auditor")
	r = cli(t, bin, socket, "audit", "service")
	for _, want := range []string{
		"vendor vendor1, supervisor super1", "ended by the vendor",
		"service.start", "action=" + "read the terminal's service status", "action=read jukitermd's own log", "action=verify the newest backup",
		"service.refused", "action=search", "result=done: verified version 9.0.0",
		"result=failed (422)", "altered", "service.stage", "result=done: staged version 9.0.0", "action=activate a staged update",
		"service.end",
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Fatalf("the transcript lacks %q: %+v", want, r)
		}
	}
	// Show 4: no personal value of the residents in the daemon's log.
	signIn(t, bin, socket, "vendor1")
	if r := cli(t, bin, socket, "service", "start", "--supervisor", "super1", "--sim-finger", "super1"); r.code != 0 {
		t.Fatalf("second service start: %+v", r)
	}
	if r := cli(t, bin, socket, "service", "status"); r.code != 0 || !strings.Contains(r.stdout, "9.0.0") {
		t.Fatalf("the status after the activation does not show version 9.0.0: %+v", r)
	}
	logs := cli(t, bin, socket, "service", "logs")
	if logs.code != 0 || !strings.Contains(logs.stdout, "service session started") {
		t.Fatalf("service logs: %+v", logs)
	}
	d.stop(t)
	for _, v := range values {
		if strings.Contains(firstLogs.stdout+logs.stdout, v) || strings.Contains(firstRun+d.out.String(), v) {
			t.Errorf("a resident's value is in jukitermd's log: %q", v)
		}
	}

	// A staged daemon altered after its activation is not started: the installed
	// version runs and says why (in its log and, as update.refused, the operation log).
	f, err := os.OpenFile(filepath.Join(state, "updates", "9.0.0", "bin", "jukitermd"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	one := make([]byte, 1)
	staged, _ := os.Open(f.Name())
	staged.ReadAt(one, 4096)
	staged.Close()
	f.WriteAt([]byte{one[0] ^ 1}, 4096)
	f.Close()
	d = startDaemon(t, bin, conf, socket)
	if out := d.out.String(); strings.Contains(out, "starting the activated update") || !strings.Contains(out, "altered after staging") {
		t.Fatalf("an altered staged daemon:\n%s", out)
	}
	signIn(t, bin, socket, "auditor")
	if r := cli(t, bin, socket, "audit", "verify"); r.code != 0 {
		t.Fatalf("audit verify: %+v", r)
	}
	d.stop(t)
}
