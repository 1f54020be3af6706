package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// TestProvisionEndToEnd goes through the real binaries as the staff would: the
// administrator registers a recipient, an application and a stick, and issues the
// stick; the provision operator plugs it in and runs a request; the recipient opens
// the medium and gets exactly the expected rows; a one-byte change on the medium is
// refused; a request with a bad row writes nothing.
func TestProvisionEndToEnd(t *testing.T) {
	bin := binaries(t)
	root := t.TempDir()
	state := filepath.Join(root, "state")
	if r := cli(t, bin, "", "init", "--state", state, "--demo"); r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	conf, socket := filepath.Join(state, "jukiterm.conf"), filepath.Join(state, "jukiterm.sock")
	d := startDaemon(t, bin, conf, socket)
	defer d.stop(t)
	people, idFile := provisionReady(t, bin, socket, state, provisionSetup{residents: 40, seed: 5, application: "P-7",
		expected: 10, items: "resident_code,name,birth", serial: "STICK-7", identity: filepath.Join(root, "police.key")})
	signIn(t, bin, socket, "operator")
	// The request: codes, a number, kana + birth, and one nobody has.
	req := "query_id,resident_code,my_number,name_kana,birth\n" +
		fmt.Sprintf("a,%s,,,\n", people[0]["resident_code"]) +
		fmt.Sprintf("b,,%s,,\n", people[1]["my_number"]) +
		fmt.Sprintf("c,,,%s,%s\n", people[2]["name_kana"], people[2]["birth"]) +
		"d,99999999999,,,\n"
	reqFile := filepath.Join(root, "request.csv")
	os.WriteFile(reqFile, []byte(req), 0o600)
	// A bad row: refused whole, with the line named, and nothing on the medium.
	bad := filepath.Join(root, "bad.csv")
	os.WriteFile(bad, []byte(req+"e,123,,,\n"), 0o600)
	volume := filepath.Join(state, "sim", "usb", "STICK-7", "volume")
	if r := cli(t, bin, socket, "provision", "run", "--application", "P-7", "--request", bad, "--medium", "STICK-7"); r.code != 2 || !strings.Contains(r.stderr, "line 6") {
		t.Fatalf("a request with a bad row: %+v", r)
	}
	if left, _ := filepath.Glob(filepath.Join(volume, "jukiterm", "*")); len(left) != 0 {
		t.Fatalf("a refused request left %v on the medium", left)
	}
	r := cli(t, bin, socket, "provision", "run", "--application", "P-7", "--request", reqFile, "--medium", "STICK-7", "--json")
	var res struct {
		ID                  string
		Matched             int
		NotFound            int `json:"not_found"`
		ApplicationProvided int `json:"application_provided"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 0 || res.Matched != 3 || res.NotFound != 1 || res.ApplicationProvided != 3 {
		t.Fatalf("provision run: %+v %v", r, err)
	}
	// The recipient's side.
	out := filepath.Join(root, "opened")
	signer := filepath.Join(state, "signing.pub")
	if r := cli(t, bin, "", "media", "open", "--identity", idFile, "--signer", signer, "--out", out, volume); r.code != 0 {
		t.Fatalf("media open: %+v", r)
	}
	rows := readCSV(t, filepath.Join(out, "results.csv"))
	var got []string
	for _, row := range rows {
		got = append(got, strings.Join(row, "|"))
	}
	var want []string
	for i, q := range []string{"a", "b", "c"} {
		p := people[i]
		want = append(want, strings.Join([]string{q, fmt.Sprint(p["resident_code"]), fmt.Sprint(p["name"]), fmt.Sprint(p["birth"])}, "|"))
	}
	if len(got) == 0 || got[0] != "query_id|resident_code|name|birth" {
		t.Fatalf("results.csv header: %v", got)
	}
	got = got[1:]
	slices.Sort(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("results.csv:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if nf := readCSV(t, filepath.Join(out, "not-found.csv")); len(nf) != 2 || nf[1][0] != "d" {
		t.Fatalf("not-found.csv: %v", nf)
	}
	// The staff's check at the terminal, with its own key, decrypts nothing.
	if r := cli(t, bin, "", "media", "verify", "--config", conf, volume); r.code != 0 || !strings.Contains(r.stdout, "verifies") {
		t.Fatalf("media verify: %+v", r)
	}
	// One byte changed on the medium: refused, nothing decrypted.
	enc := filepath.Join(volume, "jukiterm", res.ID, "results.csv.age")
	b, _ := os.ReadFile(enc)
	b[len(b)/2] ^= 1
	os.WriteFile(enc, b, 0o600)
	out2 := filepath.Join(root, "opened-again")
	if r := cli(t, bin, "", "media", "open", "--identity", idFile, "--signer", signer, "--out", out2, volume); r.code != 4 || !strings.Contains(r.stderr, "results.csv.age") {
		t.Fatalf("media open of a changed medium: %+v", r)
	}
	if r := cli(t, bin, "", "media", "verify", "--config", conf, volume); r.code != 4 {
		t.Fatalf("media verify of a changed medium: %+v", r)
	}
	if _, err := os.Stat(out2); err == nil {
		if ents, _ := os.ReadDir(out2); len(ents) > 0 {
			t.Fatalf("a refused open wrote %v", ents)
		}
	}
	// The terminal's log and list.
	if r := cli(t, bin, socket, "provision", "list"); r.code != 0 || !strings.Contains(r.stdout, res.ID) || !strings.Contains(r.stdout, "written") {
		t.Fatalf("provision list: %+v", r)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// provisionSetup says what provisionReady sets up.
type provisionSetup struct {
	residents, seed, expected int
	application, items        string
	serial, identity          string // the stick; where the recipient's identity is written
}

// provisionReady sets up, as the demo administrator on a running sim terminal, what a
// bulk provision needs: synthetic residents ingested, the recipient 秋田県警察本部 with
// a new age identity, an application valid today, and a stick plugged, registered and
// issued to the demo operator. It returns the residents and the identity's file.
func provisionReady(t *testing.T, bin, socket, state string, p provisionSetup) ([]map[string]any, string) {
	t.Helper()
	r := cli(t, bin, "", "sim", "gen", "residents", "--count", fmt.Sprint(p.residents), "--seed", fmt.Sprint(p.seed))
	resFile := filepath.Join(t.TempDir(), "residents.jsonl")
	os.WriteFile(resFile, []byte(r.stdout), 0o600)
	var people []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var person map[string]any
		json.Unmarshal([]byte(l), &person)
		people = append(people, person)
	}
	id, _ := age.GenerateX25519Identity()
	os.WriteFile(p.identity, []byte(id.String()+"\n"), 0o600)
	today := time.Now().Format(time.DateOnly)
	signIn(t, bin, socket, "admin")
	for _, args := range [][]string{
		{"ingest", resFile},
		{"recipient", "add", "police", "--name", "秋田県警察本部", "--kind", "body", "--legal-basis", "住基法 別表第5 第1号",
			"--age-recipient", id.Recipient().String(), "--items", p.items},
		{"application", "add", p.application, "--body", "秋田県警察本部", "--purpose", "本人確認", "--legal-basis", "住基法 別表第5 第1号",
			"--expected", fmt.Sprint(p.expected), "--from", today, "--to", today},
		{"sim", "usb", "plug", "--state", state, "--serial", p.serial},
	} {
		if r := cli(t, bin, socket, args...); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	// jukitermd sees the stick within its simulator's poll.
	waitFor(t, "the stick on jukitermd's bus", func() bool {
		return strings.Contains(cli(t, bin, socket, "media", "list", "--json").stdout, `"serial":"`+p.serial+`"`)
	})
	for _, args := range [][]string{
		{"media", "register", p.serial, "--label", "提供用 " + p.serial}, // the model from the plugged stick
		{"media", "issue", p.serial, "--to", "operator"},
	} {
		if r := cli(t, bin, socket, args...); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	return people, p.identity
}
