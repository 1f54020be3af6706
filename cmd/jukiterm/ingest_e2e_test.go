package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jukiterm/daemon/client"
	"jukiterm/hwsim/load"
	"jukiterm/hwsim/synth"
	"jukiterm/hwsim/testlogs"
	"jukiterm/store/record"
)

// TestIngestAsAdministrator drives the real binaries on the demo data set: changes
// generated with `sim gen notifications --demo` apply without a rejection; probes an
// administrator crafts against residents answer no stored value (birth date,
// municipality, current 異動年月日, removal reason or date) in the table or in --json;
// an auditor's `audit lookup` finds every probe under the administrator's name, by
// 住民票コード and by 個人番号; many rejections show the first 20 and the counts last.
func TestIngestAsAdministrator(t *testing.T) {
	bin := binaries(t)
	state := filepath.Join(t.TempDir(), "state")
	if r := cli(t, bin, "", "init", "--state", state, "--demo"); r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	socket := filepath.Join(state, "jukiterm.sock")
	const persons = 300
	d := exec.Command(filepath.Join(bin, "jukitermd"), "--config", filepath.Join(state, "jukiterm.conf"), "--demo", fmt.Sprint(persons))
	var dlog bytes.Buffer
	d.Stdout, d.Stderr = &dlog, &dlog
	testlogs.TeeStderr(t, d)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Process.Kill(); d.Wait() })
	for i := 0; client.New(socket).Health(context.Background()) != nil; i++ {
		if i > 1000 {
			t.Fatalf("jukitermd does not answer:\n%s", dlog.String())
		}
		time.Sleep(30 * time.Millisecond)
	}
	dir := t.TempDir()
	write := func(name string, lines ...any) string {
		var b bytes.Buffer
		for _, l := range lines {
			j, _ := json.Marshal(l)
			b.Write(append(j, '\n'))
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, b.Bytes(), 0o600)
		return p
	}

	// Changes for the demo persons apply cleanly.
	gen := cli(t, bin, socket, "sim", "gen", "notifications", "--demo", "--residents", fmt.Sprint(persons), "--count", "200")
	if gen.code != 0 || strings.Count(gen.stdout, "\n") != 200 {
		t.Fatalf("sim gen notifications --demo: %+v", gen)
	}
	changes := filepath.Join(dir, "changes.jsonl")
	os.WriteFile(changes, []byte(gen.stdout), 0o600)
	signIn(t, bin, socket, "admin")
	if r := cli(t, bin, socket, "ingest", changes); r.code != 0 || !strings.Contains(r.stdout, "rejected 0") {
		t.Fatalf("ingest of changes generated for the demo: %+v", r)
	}

	// Two current residents, as an operator (who may search) sees them.
	signIn(t, bin, socket, "operator")
	var people []map[string]any
	for _, n := range synth.Residents(load.DemoSeed, persons, record.Akita()) {
		r := cli(t, bin, socket, "show", n.ResidentCode, "--json")
		var p map[string]any
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &p) != nil {
			continue
		}
		if p["status"] == "current" && p["changed_on"].(string) > p["birth"].(string) && p["municipality"] != "052027" {
			people = append(people, p)
		}
		if len(people) == 2 {
			break
		}
	}
	if len(people) < 2 {
		t.Fatal("no two current demo residents found")
	}
	a, b := people[0], people[1]
	str := func(p map[string]any, k string) string { return p[k].(string) }

	signIn(t, bin, socket, "admin")
	death := map[string]any{"id": "x-death", "municipality": str(b, "municipality"), "reason": "死亡", "changed_on": "2026-10-01",
		"notified_on": "2026-10-02", "resident_code": str(b, "resident_code")}
	if r := cli(t, bin, socket, "ingest", write("death.jsonl", death)); r.code != 0 {
		t.Fatalf("ingest of a death: %+v", r)
	}
	keys := func(id, code, reason string, kv ...string) map[string]any {
		m := map[string]any{"id": id, "municipality": str(a, "municipality"), "reason": reason, "changed_on": "2026-10-05",
			"notified_on": "2026-10-06", "resident_code": code}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	entering := func(id, code, number string) map[string]any {
		m := keys(id, code, "転入", "my_number", number, "name", "秋田　太郎", "name_kana", "アキタ　タロウ", "birth", "1990-01-15",
			"address", "秋田県秋田市山王一丁目1番1号")
		m["sex"] = 1
		return m
	}
	probes := []map[string]any{
		keys("p-1", str(a, "resident_code"), "住民票コード変更", "new_resident_code", "19999999991", "changed_on", "1868-01-01", "notified_on", "1868-01-01"),
		keys("p-2", str(a, "resident_code"), "転居", "municipality", "052027", "address", "秋田県能代市1"),
		keys("p-3", str(a, "resident_code"), "転居", "address", "秋田市旭北1", "changed_on", str(a, "birth"), "notified_on", str(a, "birth")),
		keys("p-4", str(b, "resident_code"), "転居", "municipality", str(b, "municipality"), "address", "秋田市旭北1"),
		entering("p-5", str(b, "resident_code"), myNumber("45000000123")),
		entering("p-6", "19999999992", str(a, "my_number")),
	}
	file := write("probes.jsonl", anySlice(probes)...)
	sent, _ := os.ReadFile(file)
	table := cli(t, bin, socket, "ingest", file)
	js := cli(t, bin, socket, "ingest", file, "--json")
	var res struct {
		Rejections []struct {
			Line          int
			Rule, Message string
		}
	}
	if err := json.Unmarshal([]byte(js.stdout), &res); err != nil || js.code != 3 || table.code != 3 {
		t.Fatalf("probes: %+v %+v", table, js)
	}
	want := []string{"changed-before-birth", "wrong-municipality", "out-of-order", "removed-person", "entering-deceased", "duplicate-my-number"}
	if len(res.Rejections) != len(want) {
		t.Fatalf("probes: %+v", res)
	}
	stored := []string{str(a, "birth"), str(a, "changed_on"), str(a, "notified_on"), str(a, "municipality"), str(b, "birth"),
		"2026-10-01", "2026-10-02", "死亡", str(a, "address"), str(a, "name")}
	for i, r := range res.Rejections {
		if r.Rule != want[i] {
			t.Errorf("probe %d: rule %s, want %s (%s)", i+1, r.Rule, want[i], r.Message)
		}
		line, _ := json.Marshal(probes[i])
		for _, v := range stored {
			if !strings.Contains(string(line), v) && strings.Contains(r.Message, v) {
				t.Errorf("probe %d (%s) answers the stored %q: %s", i+1, r.Rule, v, r.Message)
			}
		}
	}
	for _, v := range stored {
		if !bytes.Contains(sent, []byte(v)) && strings.Contains(table.stdout, v) {
			t.Errorf("the rejection table shows the stored %q:\n%s", v, table.stdout)
		}
	}
	if !strings.HasPrefix(lastLine(table.stdout), "applied 0, duplicates 0, rejected 6") {
		t.Errorf("the counts are not last:\n%s", table.stdout)
	}

	// An auditor finds the probes under the administrator's name.
	signIn(t, bin, socket, "auditor")
	for _, v := range []string{str(a, "resident_code"), str(b, "resident_code"), str(a, "my_number"), "19999999991"} {
		r := cli(t, bin, socket, "audit", "lookup", v)
		if r.code != 0 || !strings.Contains(r.stdout, "ingest.batch") || !strings.Contains(r.stdout, "admin") {
			t.Errorf("audit lookup of a probed value: %+v", r)
		}
	}

	// Many rejections: the first 20 are shown, then how many more, then the counts.
	signIn(t, bin, socket, "admin")
	var bad []any
	for i := range 30 {
		bad = append(bad, keys(fmt.Sprintf("u-%d", i), fmt.Sprintf("199999990%02d", i), "転居", "address", "秋田市旭北1"))
	}
	all := filepath.Join(dir, "rejections.jsonl")
	r := cli(t, bin, socket, "ingest", write("unknown.jsonl", bad...), "--rejections", all)
	if r.code != 3 || strings.Count(r.stdout, "unknown-person") != 20 || !strings.Contains(r.stdout, "… and 10 more") ||
		!strings.HasPrefix(lastLine(r.stdout), "applied 0, duplicates 0, rejected 30") {
		t.Fatalf("30 rejections: %+v", r)
	}
	if b, err := os.ReadFile(all); err != nil || bytes.Count(b, []byte(`"rule":"unknown-person"`)) != 30 {
		t.Fatalf("--rejections FILE: %s %v", b, err)
	}
}

func anySlice(ms []map[string]any) []any {
	out := make([]any, len(ms))
	for i, m := range ms {
		out[i] = m
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
