package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"jukiterm/daemon/client"
	"jukiterm/hwsim/testlogs"
)

// terminal is a state directory made by `jukiterm init --state`.
type terminal struct {
	dir, conf, socket, secret string
}

func initTerminal(t *testing.T, bin, dir string) terminal {
	t.Helper()
	r := cli(t, bin, "", "init", "--state", dir, "--demo")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	tm := terminal{dir: dir, conf: filepath.Join(dir, "jukiterm.conf"), socket: filepath.Join(dir, "jukiterm.sock"),
		secret: strings.TrimSpace(lines[len(lines)-1])}
	if r.code != 0 || len(tm.secret) != 39 {
		t.Fatalf("init %s: %+v", dir, r)
	}
	return tm
}

// serve starts jukitermd for the terminal and returns a function that stops it
// (SIGTERM) and fails the test if it does not stop cleanly.
func (tm terminal) serve(t *testing.T, bin string) func() {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "jukitermd"), "--config", tm.conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	testlogs.TeeStderr(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for i := 0; ; i++ {
		if client.New(tm.socket).Health(context.Background()) == nil {
			signInAdmin(t, bin, tm.socket)
			break
		}
		select {
		case err := <-done:
			t.Fatalf("jukitermd for %s exited: %v\n%s", tm.dir, err, out.String())
		case <-time.After(30 * time.Millisecond):
		}
		if i > 500 {
			cmd.Process.Kill()
			t.Fatalf("jukitermd for %s does not serve:\n%s", tm.dir, out.String())
		}
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("jukitermd for %s: %v\n%s", tm.dir, err, out.String())
			}
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			t.Errorf("jukitermd for %s did not stop\n%s", tm.dir, out.String())
		}
	}
	t.Cleanup(stop)
	return stop
}

// cliIn runs jukiterm with stdin.
func cliIn(t *testing.T, bin, stdin string, args ...string) run {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "jukiterm"), args...)
	cmd.Stdin = strings.NewReader(stdin)
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

// snapshot hashes what a restore may change in a state directory: the identity file
// with its WAL, the key file, and the names in the directory.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var names []string
	h := sha256.New()
	for _, e := range entries {
		names = append(names, e.Name())
		if strings.HasPrefix(e.Name(), "jukiterm.db") || e.Name() == "storage.key" {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(h, "%s %x\n", e.Name(), sha256.Sum256(b))
		}
	}
	sort.Strings(names)
	return fmt.Sprintf("%v %x", names, h.Sum(nil))
}

// regions returns offsets inside each part of a backup file (format.go's layout).
func regions(t *testing.T, b []byte) map[string]int {
	t.Helper()
	mlen := int(binary.BigEndian.Uint32(b[16:]))
	pOff := 16 + 4 + mlen + 8
	plen := int(binary.BigEndian.Uint64(b[pOff-8:]))
	sOff := pOff + plen + 2
	if sOff+int(binary.BigEndian.Uint16(b[sOff-2:])) != len(b) {
		t.Fatalf("the backup's layout is not what the test expects")
	}
	return map[string]int{"header": 5, "manifest": 16 + 4 + mlen/2, "payload start": pOff, "payload middle": pOff + plen/2,
		"payload end": pOff + plen - 1, "signature": sOff + 10}
}

// TestBackupRestoreEndToEnd: terminal A takes residents and changes, and makes a
// backup through jukitermd; a fresh terminal B restores it (A's signing.pub as the
// trusted key, the backup identity, A's recovery secret) and answers every search and
// show exactly as A does. Tampered, truncated and wrongly signed backups, a wrong
// identity and a wrong secret are refused with B left as it was; a backup of A restores
// into A itself with its own key and --replace.
func TestBackupRestoreEndToEnd(t *testing.T) {
	bin := binaries(t)
	root := t.TempDir()
	a := initTerminal(t, bin, filepath.Join(root, "A"))
	// A signs a checkpoint of its operation log every second, so that some are made
	// after the backup: restoring the backup is a rollback behind them.
	if b, err := os.ReadFile(a.conf); err == nil {
		os.WriteFile(a.conf, bytes.Replace(b, []byte("checkpoint_seconds = 30"), []byte("checkpoint_seconds = 1"), 1), 0o640)
	}
	for _, f := range []string{"signing.pub", "backup-identity.txt"} {
		if _, err := os.Stat(filepath.Join(a.dir, f)); err != nil {
			t.Fatalf("init made no %s: %v", f, err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(a.dir, "backup-identity.txt")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup identity mode %v", fi.Mode())
	}
	if conf, _ := os.ReadFile(a.conf); !strings.Contains(string(conf), "backup_recipients = [\"age1") {
		t.Fatalf("init wrote no backup recipient:\n%s", conf)
	}
	pub := cli(t, bin, "", "keys", "public", "--config", a.conf)
	if want, _ := os.ReadFile(filepath.Join(a.dir, "signing.pub")); pub.code != 0 || pub.stdout != string(want) {
		t.Fatalf("keys public: %+v, signing.pub %s", pub, want)
	}

	// Residents, then changes (moves, deaths, …) so that there is history.
	resFile, notesFile := filepath.Join(root, "residents.jsonl"), filepath.Join(root, "changes.jsonl")
	for _, g := range []struct {
		file string
		args []string
	}{{resFile, []string{"sim", "gen", "residents", "--count", "300", "--seed", "11"}},
		{notesFile, []string{"sim", "gen", "notifications", "--residents", "300", "--count", "200", "--seed", "11"}}} {
		r := cli(t, bin, "", g.args...)
		if r.code != 0 {
			t.Fatalf("%v: %+v", g.args, r)
		}
		os.WriteFile(g.file, []byte(r.stdout), 0o600)
	}
	stopA := a.serve(t, bin)
	for _, f := range []string{resFile, notesFile} {
		if r := cli(t, bin, a.socket, "ingest", f); r.code != 0 && r.code != 3 {
			t.Fatalf("ingest %s: %+v", f, r)
		}
	}
	// A has signed a checkpoint before the backup: B must go on from it after the restore.
	waitFor(t, "a checkpoint exported by A", func() bool {
		m, _ := filepath.Glob(filepath.Join(a.dir, "checkpoints", "checkpoint-*"))
		return len(m) > 0
	})
	r := cli(t, bin, a.socket, "backup", "create", "--json")
	var made struct {
		Path      string `json:"path"`
		Bytes     int64  `json:"bytes"`
		Persons   int64  `json:"persons"`
		UpdateSeq int64  `json:"update_seq"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &made); err != nil || r.code != 0 || made.Persons == 0 || made.UpdateSeq < 300 {
		t.Fatalf("backup create: %+v %v", r, err)
	}
	if fi, err := os.Stat(made.Path); err != nil || fi.Size() != made.Bytes || filepath.Dir(made.Path) != filepath.Join(a.dir, "backups") {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	if r := cli(t, bin, a.socket, "backup", "create"); r.code != 0 || !strings.Contains(r.stdout, "更新順番号") || !strings.Contains(r.stdout, ".backup") {
		t.Fatalf("backup create (table): %+v", r)
	}

	// No resident's name, number, code, address or birth date is in the clear in the
	// database, its WAL (the daemon runs) or the backup file.
	dbFiles, _ := filepath.Glob(filepath.Join(a.dir, "jukiterm.db*"))
	if len(dbFiles) < 2 {
		t.Fatalf("expected the database and its WAL: %v", dbFiles)
	}
	noneInTheClear(t, resFile, append(dbFiles, made.Path)...)

	// What A answers: searches by code, number and 4情報, and records with history.
	queries := queriesFor(t, resFile, notesFile)
	answers := map[string]string{}
	for _, q := range queries {
		r := cli(t, bin, a.socket, q...)
		if r.code != 0 || len(r.stdout) < 50 || strings.TrimSpace(r.stdout) == "[]" {
			t.Fatalf("on A: %v: %+v", q, r)
		}
		answers[strings.Join(q, " ")] = r.stdout
	}

	// verify on A: its own key by default, and the contents with the identity.
	idA := filepath.Join(a.dir, "backup-identity.txt")
	signerA := filepath.Join(a.dir, "signing.pub")
	if r := cli(t, bin, "", "backup", "verify", "--config", a.conf, made.Path); r.code != 0 || !strings.Contains(r.stdout, "this terminal's HSM") {
		t.Fatalf("verify on A: %+v", r)
	}
	if r := cli(t, bin, "", "backup", "verify", "--signer", signerA, "--identity", idA, "--json", made.Path); r.code != 0 || !strings.Contains(r.stdout, `"contents_checked":true`) {
		t.Fatalf("verify with the identity: %+v", r)
	}

	b := initTerminal(t, bin, filepath.Join(root, "B"))
	if b2, err := os.ReadFile(b.conf); err == nil {
		os.WriteFile(b.conf, bytes.Replace(b2, []byte("checkpoint_seconds = 30"), []byte("checkpoint_seconds = 1"), 1), 0o640)
	}
	before := snapshot(t, b.dir)
	restoreB := func(stdin string, file string, extra ...string) run {
		args := append([]string{"backup", "restore", "--config", b.conf, "--identity", idA}, extra...)
		if len(extra) == 0 || extra[0] != "--signer" {
			args = append(args, "--signer", signerA)
		}
		return cliIn(t, bin, stdin, append(args, file)...)
	}
	unchanged := func(what string) {
		t.Helper()
		if snapshot(t, b.dir) != before {
			t.Fatalf("%s changed B's state directory", what)
		}
	}

	// Tampered and truncated copies are refused by verify and restore; B is unchanged.
	orig, _ := os.ReadFile(made.Path)
	bad := filepath.Join(root, "bad.backup")
	try := func(what string, content []byte) {
		t.Helper()
		os.WriteFile(bad, content, 0o600)
		if r := cli(t, bin, "", "backup", "verify", "--signer", signerA, "--identity", idA, bad); r.code != 4 || !strings.Contains(r.stderr, "backup refused") {
			t.Fatalf("verify of %s: %+v", what, r)
		}
		if r := restoreB(a.secret+"\n", bad); r.code != 4 || !strings.Contains(r.stderr, "Nothing was changed") {
			t.Fatalf("restore of %s: %+v", what, r)
		}
		unchanged("a restore of " + what)
	}
	for name, at := range regions(t, orig) {
		c := bytes.Clone(orig)
		c[at] ^= 0x20
		try("a backup with one byte changed in its "+name, c)
	}
	try("a truncated backup", orig[:len(orig)-100])
	try("a backup cut in its payload", orig[:len(orig)/2])

	// Another terminal's key (B's own, the default) does not verify A's backup.
	signerB := filepath.Join(b.dir, "signing.pub")
	if r := cli(t, bin, "", "backup", "verify", "--signer", signerB, made.Path); r.code != 4 || !strings.Contains(r.stderr, "--signer") {
		t.Fatalf("verify with another key: %+v", r)
	}
	if r := restoreB(a.secret+"\n", made.Path, "--signer", signerB); r.code != 4 {
		t.Fatalf("restore with another key: %+v", r)
	}
	if r := cliIn(t, bin, a.secret+"\n", "backup", "restore", "--config", b.conf, "--identity", idA, made.Path); r.code != 4 || !strings.Contains(r.stderr, "does not verify") {
		t.Fatalf("restore checked against B's own key: %+v", r)
	}
	unchanged("a restore with the wrong signer")
	// A wrong identity, no identity, a wrong secret: refused, nothing changed.
	if r := cliIn(t, bin, a.secret+"\n", "backup", "restore", "--config", b.conf, "--signer", signerA, "--identity", filepath.Join(b.dir, "backup-identity.txt"), made.Path); r.code != 4 || !strings.Contains(r.stderr, "recipients") {
		t.Fatalf("restore with B's identity: %+v", r)
	}
	if r := cliIn(t, bin, "", "backup", "restore", "--config", b.conf, "--signer", signerA, made.Path); r.code != 2 || !strings.Contains(r.stderr, "--identity") {
		t.Fatalf("restore without an identity: %+v", r)
	}
	if r := restoreB(b.secret+"\n", made.Path); r.code != 2 || !strings.Contains(r.stderr, "recovery secret") {
		t.Fatalf("restore with B's secret: %+v", r)
	}
	unchanged("a refused restore")

	// The restore, then B answers as A does, byte for byte.
	r = restoreB(strings.ToLower(a.secret)+"\n", made.Path)
	if r.code != 0 || !strings.Contains(r.stdout, "Restored") || !strings.Contains(r.stdout, "recovery secret of this terminal is now") {
		t.Fatalf("restore: %+v", r)
	}
	if left, _ := filepath.Glob(filepath.Join(b.dir, ".*")); len(left) != 0 {
		t.Fatalf("the restore left %v", left)
	}
	if r := restoreB(a.secret+"\n", made.Path); r.code != 2 || !strings.Contains(r.stderr, "--replace") {
		t.Fatalf("a second restore without --replace: %+v", r)
	}
	noneInTheClear(t, resFile, filepath.Join(b.dir, "jukiterm.db"))
	// A's operators were enrolled on A's reader: on B their slots are forgotten, an
	// administrator's finger is enrolled again with jukitermd stopped, and nobody
	// else signs in until re-enrolled.
	if r := cli(t, bin, "", "operator", "reenrol", "operator", "--config", b.conf); r.code == 0 || !strings.Contains(r.stderr, "administrator right") {
		t.Fatalf("offline re-enrolment of a non-administrator: %+v", r)
	}
	if r := cli(t, bin, "", "operator", "reenrol", "admin", "--config", b.conf); r.code != 0 {
		t.Fatalf("offline re-enrolment of the administrator: %+v", r)
	}
	stopB := b.serve(t, bin) // signs in as admin
	if r := cli(t, bin, b.socket, "login", "--sim-finger", "operator"); r.code == 0 || !strings.Contains(r.stderr, "no finger enrolled") {
		t.Fatalf("A's operator signs in on B's reader: %+v", r)
	}
	if r := cli(t, bin, b.socket, "operator", "reenrol", "operator", "--reason", "restored from A", "--sim-finger", "operator"); r.code != 0 {
		t.Fatalf("re-enrolment of the operator: %+v", r)
	}
	if r := cli(t, bin, b.socket, "rights", "ledger"); r.code != 0 || !strings.Contains(r.stdout, "reader-changed") || !strings.Contains(r.stdout, "restored from A") {
		t.Fatalf("the ledger after the restore: %+v", r)
	}
	signIn(t, bin, b.socket, "operator")
	signInAdmin(t, bin, b.socket)
	for _, q := range queries {
		r := cli(t, bin, b.socket, q...)
		if want := answers[strings.Join(q, " ")]; r.code != 0 || r.stdout != want {
			t.Fatalf("%v: B answers\n%s\nA answered\n%s", q, r.stdout, want)
		}
	}
	// The restored log holds checkpoints signed by A's key: restore made it a trusted
	// key, so B signs new checkpoints extending them, and B's auditor verifies the log.
	waitFor(t, "a checkpoint exported by B after the restore", func() bool {
		m, _ := filepath.Glob(filepath.Join(b.dir, "checkpoints", "checkpoint-*"))
		return len(m) > 0
	})
	if r := cli(t, bin, b.socket, "operator", "reenrol", "auditor", "--reason", "restored from A", "--sim-finger", "auditor"); r.code != 0 {
		t.Fatalf("re-enrolment of the auditor: %+v", r)
	}
	signIn(t, bin, b.socket, "auditor")
	if r := cli(t, bin, b.socket, "audit", "verify"); r.code != 0 {
		t.Fatalf("audit verify on B after the restore: %+v", r)
	}
	noteA := cli(t, bin, "", "keys", "public", "--note", "--config", a.conf)
	if tk, _ := os.ReadFile(filepath.Join(b.dir, "log-verifiers")); noteA.code != 0 || !strings.HasPrefix(noteA.stdout, "jukiterm-terminal-01+") ||
		!strings.Contains(string(tk), "\n"+noteA.stdout) {
		t.Fatalf("the restore did not trust A's checkpoint key %+v:\n%s", noteA, tk)
	}
	if r := restoreB(a.secret+"\n", made.Path, "--replace"); r.code != 2 || !strings.Contains(r.stderr, "running jukitermd") {
		t.Fatalf("restore while jukitermd runs: %+v", r)
	}
	stopB()

	// A backup of A restores into A with A's own key: no secret asked, key file kept;
	// the checkpoints exported after the backup are set aside, not a reason to refuse.
	time.Sleep(2 * time.Second) // a checkpoint covering the backup's own log entry
	stopA()
	keyBefore, _ := os.ReadFile(filepath.Join(a.dir, "storage.key"))
	if r := cliIn(t, bin, "", "backup", "restore", "--config", a.conf, "--identity", idA, made.Path); r.code != 2 || !strings.Contains(r.stderr, "--replace") {
		t.Fatalf("restore over A's records without --replace: %+v", r)
	}
	r = cliIn(t, bin, "", "backup", "restore", "--config", a.conf, "--identity", idA, "--replace", made.Path)
	if r.code != 0 || !strings.Contains(r.stdout, "key file is unchanged") || !strings.Contains(r.stderr, "superseded") {
		t.Fatalf("restore into A: %+v", r)
	}
	if keyAfter, _ := os.ReadFile(filepath.Join(a.dir, "storage.key")); !bytes.Equal(keyBefore, keyAfter) {
		t.Fatal("the restore with the terminal's own key changed its key file")
	}
	a.serve(t, bin)
	q := queries[0]
	if r := cli(t, bin, a.socket, q...); r.code != 0 || r.stdout != answers[strings.Join(q, " ")] {
		t.Fatalf("A after its own restore: %+v", r)
	}
}

// queriesFor picks searches and shows over the generated residents: by code, number,
// kana name with birth date, kanji name, and records with their history, in tables
// and in JSON.
func queriesFor(t *testing.T, resFile, notesFile string) [][]string {
	t.Helper()
	type n struct {
		ResidentCode string `json:"resident_code"`
		MyNumber     string `json:"my_number"`
		Name         string `json:"name"`
		NameKana     string `json:"name_kana"`
		Birth        string `json:"birth"`
		Reason       string `json:"reason"`
	}
	read := func(p string) []n {
		b, _ := os.ReadFile(p)
		var out []n
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var x n
			if err := json.Unmarshal([]byte(l), &x); err != nil {
				t.Fatal(err)
			}
			out = append(out, x)
		}
		return out
	}
	res, notes := read(resFile), read(notesFile)
	var qs [][]string
	for _, r := range []n{res[0], res[7], res[150]} {
		qs = append(qs,
			[]string{"search", "--code", r.ResidentCode, "--include-removed", "--json"},
			[]string{"search", "--number", r.MyNumber, "--include-removed"},
			[]string{"search", "--kana", r.NameKana, "--birth", r.Birth, "--include-removed", "--json"},
			[]string{"search", "--name", r.Name, "--include-removed"},
		)
	}
	changed := 0
	for _, x := range notes {
		if x.Reason == "転居" || x.Reason == "死亡" || x.Reason == "氏名変更" {
			qs = append(qs, []string{"show", x.ResidentCode, "--history", "--json"}, []string{"show", x.ResidentCode, "--history"})
			if changed++; changed == 4 {
				break
			}
		}
	}
	if changed < 2 {
		t.Fatalf("the generated changes hold too few records with history")
	}
	return append(qs, []string{"search", "--kana", strings.Split(res[3].NameKana, "　")[0], "--include-removed", "--json"})
}

// noneInTheClear fails if any resident of the notification file resFile has a
// personal value in the clear in files.
func noneInTheClear(t *testing.T, resFile string, files ...string) {
	t.Helper()
	b, _ := os.ReadFile(resFile)
	var values []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var n map[string]any
		if err := json.Unmarshal([]byte(l), &n); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"resident_code", "my_number", "name", "name_kana", "address", "birth"} {
			values = append(values, n[k].(string))
		}
	}
	if len(values) < 600 {
		t.Fatalf("too few values to look for: %d", len(values))
	}
	for _, f := range files {
		content, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			if bytes.Contains(content, []byte(v)) {
				t.Fatalf("%q is in the clear in %s", v, f)
			}
		}
	}
}

// waitFor polls cond every 100 ms for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("gave up waiting for %s", what)
}
