package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProvisionAsksNational: a bulk provision's query this prefecture's file matches
// nobody for is asked of the pinned national server (機構への照会); its answer goes out
// with the file's results, counted in the manifest (national_rows) and the answer; a
// query nobody anywhere matches stays not found.
func TestProvisionAsksNational(t *testing.T) {
	bin := binaries(t)
	root := t.TempDir()
	state, conf, socket := simState(t, bin)
	natAddr := freePort(t)
	d := startDaemon(t, bin, conf, socket)
	defer d.stop(t)
	_, _, example := startNationalSim(t, bin, state, natAddr, "20")
	people, idFile := provisionReady(t, bin, socket, state, provisionSetup{residents: 20, seed: 8, application: "P-8",
		expected: 10, items: "resident_code,name,address", serial: "STICK-8", identity: filepath.Join(root, "police.key")})
	if r := cli(t, bin, socket, "peer", "add", "--national", "--address", natAddr, "--cert", filepath.Join(state, "sim", "national", "cert.pem"), "--reason", "test"); r.code != 0 {
		t.Fatalf("peer add: %+v", r)
	}
	signIn(t, bin, socket, "operator")
	req := "query_id,resident_code\n" + fmt.Sprintf("a,%s\n", people[0]["resident_code"]) + fmt.Sprintf("n,%s\n", example) + "d,99999999999\n"
	reqFile := filepath.Join(root, "request.csv")
	os.WriteFile(reqFile, []byte(req), 0o600)
	r := cli(t, bin, socket, "provision", "run", "--application", "P-8", "--request", reqFile, "--medium", "STICK-8", "--json")
	var res struct {
		Matched      int
		NotFound     int `json:"not_found"`
		NationalRows int `json:"national_rows"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 0 || res.Matched != 2 || res.NotFound != 1 || res.NationalRows != 1 {
		t.Fatalf("provision run: %+v %v", r, err)
	}
	out := filepath.Join(root, "opened")
	volume := filepath.Join(state, "sim", "usb", "STICK-8", "volume")
	if r := cli(t, bin, "", "media", "open", "--identity", idFile, "--signer", filepath.Join(state, "signing.pub"), "--out", out, volume); r.code != 0 {
		t.Fatalf("media open: %+v", r)
	}
	rows := readCSV(t, filepath.Join(out, "results.csv"))
	var national []string
	for _, row := range rows {
		if row[0] == "n" {
			national = row
		}
	}
	if len(national) != 4 || national[1] != example || !strings.HasPrefix(national[3], "青森県") {
		t.Fatalf("results.csv has no national row for n: %v", rows)
	}
	if nf := readCSV(t, filepath.Join(out, "not-found.csv")); len(nf) != 2 || nf[1][0] != "d" {
		t.Fatalf("not-found.csv: %v", nf)
	}
	m, _ := filepath.Glob(filepath.Join(volume, "jukiterm", "*", "manifest.json"))
	if len(m) != 1 {
		t.Fatalf("manifest: %v", m)
	}
	var man struct {
		Counts struct {
			NationalRows int `json:"national_rows"`
		}
	}
	if b, _ := os.ReadFile(m[0]); json.Unmarshal(b, &man) != nil || man.Counts.NationalRows != 1 {
		t.Fatalf("the manifest does not count the national row:\n%s", b)
	}
	signIn(t, bin, socket, "auditor")
	if r := cli(t, bin, socket, "audit", "lookup", example); r.code != 0 || !strings.Contains(r.stdout, "provision") {
		t.Fatalf("audit lookup of the national answer's code: %+v", r)
	}
}
