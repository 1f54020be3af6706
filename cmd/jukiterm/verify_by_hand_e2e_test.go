package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestVerifyByHand makes a backup, a provision on a simulated stick, exported
// checkpoints and proofs with the real binaries, and checks them all with
// docs/verify-by-hand.sh (age, openssl, sqlite3 and a verifier built from
// golang.org/x/mod alone); then the script must fail on a changed byte of each.
func TestVerifyByHand(t *testing.T) {
	for _, tool := range []string{"age", "age-keygen", "openssl", "sqlite3", "go", "script", "tpm2_print", "tpm2_createpolicy"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (make deps installs it): %v", tool, err)
		}
	}
	bin := binaries(t)
	root := t.TempDir()
	state := filepath.Join(root, "state")
	r := cli(t, bin, "", "init", "--state", state, "--demo")
	if r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	lines := strings.Fields(strings.TrimSpace(r.stdout))
	secret := lines[len(lines)-1] // shown last, as ABCD-EFGH-…
	if len(secret) != 39 || strings.Count(secret, "-") != 7 {
		t.Fatalf("init did not end with the recovery secret: %q", r.stdout)
	}
	conf, socket := filepath.Join(state, "jukiterm.conf"), filepath.Join(state, "jukiterm.sock")
	b, _ := os.ReadFile(conf)
	os.WriteFile(conf, bytes.Replace(b, []byte("checkpoint_seconds = 30"), []byte("checkpoint_seconds = 1"), 1), 0o640)
	d := startDaemon(t, bin, conf, socket)
	defer d.stop(t)
	checkpoints := func() []string {
		m, _ := filepath.Glob(filepath.Join(state, "checkpoints", "checkpoint-*"))
		return m
	}

	// A provision on a simulated stick (as TestProvisionEndToEnd), and a backup.
	people, idFile := provisionReady(t, bin, socket, state, provisionSetup{residents: 20, seed: 9, application: "P-9",
		expected: 5, items: "resident_code,name", serial: "STICK-9", identity: filepath.Join(root, "recipient.key")})
	first := people[0]
	waitFor(t, "a first exported checkpoint", func() bool { return len(checkpoints()) >= 1 })
	r = cli(t, bin, socket, "backup", "create", "--json")
	var made struct {
		Path string `json:"path"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &made); err != nil || r.code != 0 {
		t.Fatalf("backup create: %+v %v", r, err)
	}
	signIn(t, bin, socket, "operator")
	reqFile := filepath.Join(root, "request.csv")
	os.WriteFile(reqFile, []byte(fmt.Sprintf("query_id,resident_code\na,%s\nb,99999999999\n", first["resident_code"])), 0o600)
	r = cli(t, bin, socket, "provision", "run", "--application", "P-9", "--request", reqFile, "--medium", "STICK-9", "--json")
	var prov struct{ ID string }
	if err := json.Unmarshal([]byte(r.stdout), &prov); err != nil || r.code != 0 {
		t.Fatalf("provision run: %+v %v", r, err)
	}
	provDir := filepath.Join(state, "sim", "usb", "STICK-9", "volume", "jukiterm", prov.ID)
	waitFor(t, "a second exported checkpoint", func() bool { return len(checkpoints()) >= 2 })

	// The auditor's proofs between the checkpoints exported so far, and of entry 0.
	signIn(t, bin, socket, "auditor")
	cps := checkpoints() // sorted by size (20-digit names)
	art := filepath.Join(root, "artifacts")
	os.Mkdir(art, 0o700)
	args := []string{"-k", filepath.Join(state, "signing.pub"), "-b", made.Path, "-B", filepath.Join(state, "backup-identity.txt"),
		"-p", provDir, "-P", idFile, "-K", filepath.Join(state, "storage.key"), "-r", secret, "-t", filepath.Join(state, "tpm", "tpm.sock")}
	for _, cp := range cps {
		args = append(args, "-c", cp)
	}
	var consistency []string
	for i := 1; i < len(cps); i++ {
		r := cli(t, bin, socket, "audit", "consistency", cps[i-1], cps[i], "--json")
		if r.code != 0 {
			t.Fatalf("audit consistency: %+v", r)
		}
		f := filepath.Join(art, fmt.Sprintf("consistency-%d.json", i))
		os.WriteFile(f, []byte(r.stdout), 0o600)
		consistency = append(consistency, f)
		args = append(args, "-s", f)
	}
	newest := strings.TrimLeft(strings.TrimPrefix(filepath.Base(cps[len(cps)-1]), "checkpoint-"), "0")
	r = cli(t, bin, socket, "audit", "prove", "0", "--size", newest, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"matches":true`) {
		t.Fatalf("audit prove: %+v", r)
	}
	inclusion := filepath.Join(art, "inclusion.json")
	os.WriteFile(inclusion, []byte(r.stdout), 0o600)
	args = append(args, "-i", inclusion)
	if r := cli(t, bin, socket, "audit", "prove", "0", "--size", newest); r.code != 0 || !strings.Contains(r.stdout, "its root is this root") {
		t.Fatalf("audit prove (text): %+v", r)
	}

	script := func(args ...string) (string, error) {
		cmd := exec.Command("sh", append([]string{"../../docs/verify-by-hand.sh"}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	start := time.Now()
	out, err := script(args...)
	if err != nil || !strings.Contains(out, "All checks passed.") || okLines(out) != 8+2*len(cps) {
		t.Fatalf("verify-by-hand.sh: %v\n%s", err, out)
	}
	t.Logf("verify-by-hand.sh ran in %v:\n%s", time.Since(start), out)

	// A changed byte of each artifact fails the script.
	key := []string{"-k", filepath.Join(state, "signing.pub")}
	changed := func(path string, at func([]byte) int) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[at(b)] ^= 0x01
		f := filepath.Join(t.TempDir(), filepath.Base(path))
		os.WriteFile(f, b, 0o600)
		return f
	}
	middle := func(b []byte) int { return len(b) / 2 }
	nearAt := func(sub string, k int) func([]byte) int { // a byte inside a JSON value
		return func(b []byte) int { return bytes.Index(b, []byte(sub)) + len(sub) + k }
	}
	near := func(sub string) func([]byte) int { return nearAt(sub, 3) }
	copyProv := func(name string, at func([]byte) int) string {
		dir := filepath.Join(t.TempDir(), prov.ID)
		os.Mkdir(dir, 0o700)
		ents, _ := os.ReadDir(provDir)
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join(provDir, e.Name()))
			os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600)
		}
		f := changed(filepath.Join(provDir, name), at)
		b, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(dir, name), b, 0o600)
		return dir
	}
	newestCP := cps[len(cps)-1]
	keyFile := filepath.Join(state, "storage.key")
	tpmSocket := filepath.Join(state, "tpm", "tpm.sock")
	otherSecret := []byte(secret)
	otherSecret[0] = map[bool]byte{true: 'B', false: 'A'}[otherSecret[0] == 'A']
	// The sealed object's authPolicy starts at byte 12 of its TPM2B_PUBLIC (size, type,
	// nameAlg, attributes, the policy's size).
	policyChanged := func() string {
		var kf map[string]any
		b, _ := os.ReadFile(keyFile)
		if err := json.Unmarshal(b, &kf); err != nil {
			t.Fatal(err)
		}
		sealed := kf["sealed"].(map[string]any)
		pub, _ := base64.StdEncoding.DecodeString(sealed["public"].(string))
		pub[14] ^= 0x01
		sealed["public"] = base64.StdEncoding.EncodeToString(pub)
		b, _ = json.Marshal(kf)
		f := filepath.Join(t.TempDir(), "storage.key")
		os.WriteFile(f, b, 0o600)
		return f
	}
	var others []string
	for _, cp := range cps[:len(cps)-1] {
		others = append(others, "-c", cp)
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"backup manifest", []string{"-b", changed(made.Path, func([]byte) int { return 40 }), "-B", filepath.Join(state, "backup-identity.txt")}},
		{"backup payload", []string{"-b", changed(made.Path, middle), "-B", filepath.Join(state, "backup-identity.txt")}},
		{"backup signature", []string{"-b", changed(made.Path, func(b []byte) int { return len(b) - 10 }), "-B", filepath.Join(state, "backup-identity.txt")}},
		{"provision manifest", []string{"-p", copyProv("manifest.json", near(`"matched_rows"`)), "-P", idFile}},
		{"provision signature", []string{"-p", copyProv("manifest.json.sig", middle), "-P", idFile}},
		{"provision results", []string{"-p", copyProv("results.csv.age", middle), "-P", idFile}},
		{"provision not-found", []string{"-p", copyProv("not-found.csv.age", middle), "-P", idFile}},
		{"provision log", []string{"-p", copyProv("provision.log", middle), "-P", idFile}},
		{"checkpoint root", []string{"-c", changed(newestCP, func(b []byte) int { return bytes.Index(b, []byte("\n\n")) - 5 })}},
		{"checkpoint signature", []string{"-c", changed(newestCP, func(b []byte) int { return len(b) - 8 })}},
		{"consistency proof", nil}, // below
		{"recovery secret (key file)", []string{"-K", keyFile, "-r", string(otherSecret)}},
		{"recovery secret (backup)", []string{"-b", made.Path, "-B", filepath.Join(state, "backup-identity.txt"), "-r", string(otherSecret)}},
		{"sealed policy", []string{"-K", policyChanged(), "-t", tpmSocket}},
		{"inclusion leaf index", []string{"-c", newestCP, "-i", changed(inclusion, near(`"leaf_bytes"`))}},
		{"inclusion leaf", []string{"-c", newestCP, "-i", changed(inclusion, nearAt(`"leaf_bytes"`, 40))}},
		{"inclusion proof", []string{"-c", newestCP, "-i", changed(inclusion, near(`"proof"`))}},
	} {
		if c.name == "consistency proof" { // every checkpoint, the last pair's proof changed
			c.args = append(append([]string{}, others...), "-c", newestCP)
			for _, f := range consistency[:len(consistency)-1] {
				c.args = append(c.args, "-s", f)
			}
			c.args = append(c.args, "-s", changed(consistency[len(consistency)-1], near(`"proof"`)))
		}
		out, err := script(append(key, c.args...)...)
		if err == nil || !strings.Contains(out, "FAIL") {
			t.Errorf("%s changed: the script passes\n%s", c.name, out)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "FAIL") {
				t.Logf("%s changed: %s", c.name, l)
			}
		}
	}
}

// okLines counts the script's OK lines (an OK inside a base64 root is not one).
func okLines(out string) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "OK") {
			n++
		}
	}
	return n
}
