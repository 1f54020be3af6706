package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"jukiterm/hwsim/cssim"
	"jukiterm/hwsim/simpeer"
)

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startNationalSim runs `jukiterm sim national` in the background on addr and returns
// its output and the person of another prefecture it offers to ask for.
func startNationalSim(t *testing.T, bin, state, addr, persons string) (*exec.Cmd, *bytes.Buffer, string) {
	t.Helper()
	nat := exec.Command(filepath.Join(bin, "jukiterm"), "sim", "national", "--state", state, "--listen", addr, "--persons", persons)
	natOut := &bytes.Buffer{}
	nat.Stdout, nat.Stderr = natOut, natOut
	if err := nat.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nat.Process.Kill(); nat.Wait() })
	for i := 0; ; i++ {
		if i > 200 {
			t.Fatalf("the national simulator does not start:\n%s", natOut.String())
		}
		time.Sleep(50 * time.Millisecond)
		sc := bufio.NewScanner(bytes.NewReader(natOut.Bytes()))
		for sc.Scan() {
			if _, code, ok := strings.Cut(sc.Text(), "jukiterm search --national --code "); ok {
				return nat, natOut, code
			}
		}
	}
}

// TestLinksEndToEnd drives the links through the binaries on the simulators: the
// terminal listens for CS, the national simulator runs beside it; an unpinned CS is
// refused and told to be pinned; pinned, it sends notifications (a share invalid) and
// gets their outcomes; the national simulator receives the applied updates; link
// status shows it all; a national search finds a person of another prefecture and is
// logged; the peer list shows fingerprints.
func TestLinksEndToEnd(t *testing.T) {
	bin := binaries(t)
	state, conf, socket := simState(t, bin)
	csAddr, natAddr := freePort(t), freePort(t)
	b, _ := os.ReadFile(conf)
	b = bytes.Replace(b, []byte(`cs_listen = ""`), []byte(fmt.Sprintf("cs_listen = %q", csAddr)), 1)
	if !bytes.Contains(b, []byte(csAddr)) {
		t.Fatalf("init wrote no cs_listen:\n%s", b)
	}
	os.WriteFile(conf, b, 0o600)
	d := startDaemon(t, bin, conf, socket)
	if _, err := os.Stat(filepath.Join(state, "link.crt")); err != nil {
		t.Fatalf("jukitermd made no link certificate: %v", err)
	}

	// The national simulator, in the background.
	nat, natOut, example := startNationalSim(t, bin, state, natAddr, "50")

	signInAdmin(t, bin, socket)
	if r := cli(t, bin, socket, "link", "cert"); r.code != 0 || !strings.Contains(r.stdout, "BEGIN CERTIFICATE") || !strings.Contains(r.stderr, "Key SHA-256:") {
		t.Fatalf("link cert: %+v", r)
	}
	if r := cli(t, bin, socket, "peer", "add", "--national", "--address", natAddr, "--cert", filepath.Join(state, "sim", "national", "cert.pem"), "--reason", "機構 通知 2026-1"); r.code != 0 || !strings.Contains(r.stdout, "Pinned national") {
		t.Fatalf("peer add --national: %+v", r)
	}
	// An unpinned CS is refused and told what to do.
	r := cli(t, bin, socket, "sim", "cs", "--state", state, "--municipality", "052019", "--generate", "10")
	if r.code == 0 || !strings.Contains(r.stderr, "jukiterm peer add --cs 052019") {
		t.Fatalf("an unpinned CS: %+v", r)
	}
	for i := 0; !strings.Contains(d.out.String(), `msg="a link connection refused" reason=unknown`); i++ {
		if i > 100 {
			t.Fatalf("jukitermd did not log the refused CS:\n%s", d.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := cli(t, bin, socket, "peer", "add", "--cs", "052019", "--cert", filepath.Join(state, "sim", "cs-052019", "cert.pem"), "--reason", "秋田市 通知"); r.code != 0 {
		t.Fatalf("peer add --cs: %+v", r)
	}
	r = cli(t, bin, socket, "sim", "cs", "--state", state, "--municipality", "052019", "--generate", "400", "--invalid", "5%", "--seed", "9", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"applied":380`) || !strings.Contains(r.stdout, `"rejected":20`) || !strings.Contains(r.stdout, `"wrong-peer":5`) {
		t.Fatalf("sim cs: %+v", r)
	}
	// Sent again: every line is past the link's sequence, nothing is applied twice.
	r = cli(t, bin, socket, "sim", "cs", "--state", state, "--municipality", "052019", "--generate", "400", "--invalid", "0.05", "--seed", "9", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"applied":0`) || !strings.Contains(r.stdout, `"unanswered":400`) {
		t.Fatalf("sim cs again: %+v", r)
	}
	var st string
	for i := 0; ; i++ {
		r = cli(t, bin, socket, "link", "status")
		st = r.stdout
		if strings.Contains(st, "0 updates waiting; acknowledged up to") && !strings.Contains(st, "acknowledged up to 更新順番号 0.") {
			break
		}
		if i > 200 {
			t.Fatalf("the outbox is not delivered: %+v", r)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"cs-052019", "national", "applied 380", "rejected 20"} {
		if !strings.Contains(st, want) {
			t.Fatalf("link status lacks %q:\n%s", want, st)
		}
	}
	if r := cli(t, bin, socket, "peer", "list"); r.code != 0 || !strings.Contains(r.stdout, "cs-052019") || strings.Count(r.stdout, " ") < 20 {
		t.Fatalf("peer list: %+v", r)
	}
	// A national search, as an operator under an application.
	today := time.Now().Format(time.DateOnly)
	if r := cli(t, bin, socket, "application", "add", "N-1", "--body", "秋田県警察本部", "--purpose", "本人確認",
		"--legal-basis", "住基法 別表第5", "--expected", "1", "--from", today, "--to", today); r.code != 0 {
		t.Fatalf("application add: %+v", r)
	}
	r = cli(t, bin, socket, "search", "--national", "--code", example, "--application", "N-1")
	if r.code != 0 || !strings.Contains(r.stdout, example) || !strings.Contains(r.stdout, "青森県") || !strings.Contains(r.stdout, "national server") {
		t.Fatalf("search --national: %+v", r)
	}
	if r := cli(t, bin, socket, "search", "--code", example, "--application", "N-1"); r.code != 0 || !strings.Contains(r.stdout, "no person matches") {
		t.Fatalf("the national answer was kept in the file: %+v", r)
	}
	signIn(t, bin, socket, "auditor")
	if r := cli(t, bin, socket, "audit", "lookup", example); r.code != 0 || !strings.Contains(r.stdout, "search.national") {
		t.Fatalf("audit lookup of the national search: %+v", r)
	}
	d.stop(t)
	nat.Process.Signal(os.Interrupt)
	nat.Wait()
	if !strings.Contains(natOut.String(), "380 updates kept") || !strings.Contains(natOut.String(), "0 gaps, 0 out of order") {
		t.Fatalf("national simulator:\n%s", natOut.String())
	}
}

// TestThreeCSAtScale (issue Show 1): 100,000 notifications, 5 % invalid, from three CS
// simulators at once through `jukiterm sim cs`: each CS gets exactly its expected
// rejections by rule, and the national simulator ends with exactly the applied updates,
// 更新順番号 1 to N, each once.
func TestThreeCSAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 notifications")
	}
	bin := binaries(t)
	state, conf, socket := simState(t, bin)
	csAddr, natAddr := freePort(t), freePort(t)
	b, _ := os.ReadFile(conf)
	os.WriteFile(conf, bytes.Replace(b, []byte(`cs_listen = ""`), []byte(fmt.Sprintf("cs_listen = %q", csAddr)), 1), 0o600)
	d := startDaemon(t, bin, conf, socket)
	nat := exec.Command(filepath.Join(bin, "jukiterm"), "sim", "national", "--state", state, "--listen", natAddr, "--persons", "10")
	var natOut bytes.Buffer
	nat.Stdout, nat.Stderr = &natOut, &natOut
	if err := nat.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nat.Process.Kill(); nat.Wait() })
	munis := []string{"052019", "052027", "052035"}
	for _, m := range munis {
		if _, _, err := simpeer.Identity(filepath.Join(state, "sim", "cs-"+m), "cs-"+m); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(state, "sim", "national", "cert.pem")); err == nil {
			break
		}
		if i > 200 {
			t.Fatalf("the national simulator made no certificate:\n%s", natOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	signInAdmin(t, bin, socket)
	if r := cli(t, bin, socket, "peer", "add", "--national", "--address", natAddr, "--cert", filepath.Join(state, "sim", "national", "cert.pem"), "--reason", "test"); r.code != 0 {
		t.Fatalf("peer add: %+v", r)
	}
	for _, m := range munis {
		if r := cli(t, bin, socket, "peer", "add", "--cs", m, "--cert", filepath.Join(state, "sim", "cs-"+m, "cert.pem"), "--reason", "test"); r.code != 0 {
			t.Fatalf("peer add: %+v", r)
		}
	}
	const per = 33334
	results := make([]run, len(munis))
	var wg sync.WaitGroup
	for i, m := range munis {
		wg.Go(func() {
			results[i] = cli(t, bin, socket, "sim", "cs", "--state", state, "--municipality", m, "--generate", fmt.Sprint(per), "--invalid", "5%", "--seed", fmt.Sprint(i+1), "--json")
		})
	}
	wg.Wait()
	applied := 0
	for i, m := range munis {
		// The counts by rule depend on the lines' places only, not on the other municipality.
		want, byRule := cssim.CSLines(uint64(i+1), m, "052043", per, 20).Expected()
		var got cssim.Result
		if results[i].code != 0 || json.Unmarshal([]byte(results[i].stdout), &got) != nil {
			t.Fatalf("CS %s: %+v", m, results[i])
		}
		if got.Applied != want || got.Duplicates != 0 || got.Unanswered != 0 || !maps.Equal(got.ByRule, byRule) {
			t.Fatalf("CS %s: %+v, want %d applied and %v", m, got, want, byRule)
		}
		applied += want
	}
	for i := 0; ; i++ {
		r := cli(t, bin, socket, "link", "status", "--json")
		if strings.Contains(r.stdout, `"backlog":0`) && strings.Contains(r.stdout, fmt.Sprintf(`"acked":%d`, applied)) {
			break
		}
		if i > 1200 {
			t.Fatalf("not delivered: %+v", r)
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.stop(t)
	nat.Process.Signal(os.Interrupt)
	nat.Wait()
	if want := fmt.Sprintf("%d updates kept (newest 更新順番号 %d), 0 received again, 0 gaps, 0 out of order", applied, applied); !strings.Contains(natOut.String(), want) {
		t.Fatalf("national simulator, want %q:\n%s", want, natOut.String())
	}
}
