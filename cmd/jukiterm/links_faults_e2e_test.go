package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"jukiterm/daemon/config"
	"jukiterm/daemon/link"
	"jukiterm/hwsim/cssim"
	"jukiterm/hwsim/nationalsim"
	"jukiterm/hwsim/simpeer"
)

// TestLinksSurviveKills: while a CS sends 20000 notifications (a twentieth invalid),
// jukitermd is killed with SIGKILL and the national server simulator is killed and
// started again, 20 times in all at random moments. At the end every valid
// notification was applied exactly once and the national simulator holds exactly the
// applied updates, 更新順番号 1 to N without a gap, each once.
func TestLinksSurviveKills(t *testing.T) {
	bin := binaries(t)
	state, conf, socket := simState(t, bin)
	csAddr, natAddr := freePort(t), freePort(t)
	b, _ := os.ReadFile(conf)
	os.WriteFile(conf, bytes.Replace(b, []byte(`cs_listen = ""`), []byte(`cs_listen = "`+csAddr+`"`), 1), 0o600)
	d := startDaemon(t, bin, conf, socket)
	cfg, err := config.Load(conf)
	if err != nil {
		t.Fatal(err)
	}

	var natMu sync.Mutex
	var nat *exec.Cmd
	startNational := func() {
		natMu.Lock()
		defer natMu.Unlock()
		nat = exec.Command(filepath.Join(bin, "jukiterm"), "sim", "national", "--state", state, "--listen", natAddr, "--persons", "10")
		if err := nat.Start(); err != nil {
			t.Fatal(err)
		}
	}
	killNational := func() {
		natMu.Lock()
		defer natMu.Unlock()
		nat.Process.Kill()
		nat.Wait()
	}
	startNational()
	t.Cleanup(killNational)
	for i := 0; ; i++ { // its key is made at its start
		if _, err := os.Stat(filepath.Join(state, "sim", "national", "cert.pem")); err == nil {
			break
		}
		if i > 200 {
			t.Fatal("the national simulator made no certificate")
		}
		time.Sleep(50 * time.Millisecond)
	}
	csID, csCert, err := simpeer.Identity(filepath.Join(state, "sim", "cs-052019"), "cs-052019")
	if err != nil {
		t.Fatal(err)
	}
	signInAdmin(t, bin, socket)
	for _, args := range [][]string{
		{"peer", "add", "--national", "--address", natAddr, "--cert", filepath.Join(state, "sim", "national", "cert.pem"), "--reason", "test"},
		{"peer", "add", "--cs", "052019", "--cert", csCert, "--reason", "test"},
	} {
		if r := cli(t, bin, socket, args...); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	pins, err := simpeer.TerminalPin(cfg.LinkCert)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := link.ClientConfig(csID, link.Policy{Pins: pins, Role: link.RoleTerminal})
	if err != nil {
		t.Fatal(err)
	}
	lines := cssim.CSLines(77, "052019", "052027", 20000, 20)
	applied, _ := lines.Expected()
	cs := &cssim.Sim{Municipality: "052019", Address: csAddr, TLS: tlsCfg, Retries: 2000, Backoff: 50 * time.Millisecond, Window: 200}
	type outcome struct {
		res cssim.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := cs.Run(context.Background(), lines.Lines)
		done <- outcome{res, err}
	}()

	r := rand.New(rand.NewPCG(1, 2))
	var got outcome
	faults := 0
	for running := true; running; {
		select {
		case got = <-done:
			running = false
			continue
		case <-time.After(time.Duration(50+r.IntN(200)) * time.Millisecond):
		}
		if faults >= 20 {
			continue
		}
		faults++
		if faults%2 == 1 {
			d.cmd.Process.Kill()
			<-d.done
			d = startDaemon(t, bin, conf, socket)
		} else {
			killNational()
			startNational()
		}
	}
	if got.err != nil {
		t.Fatalf("the CS: %v", got.err)
	}
	if faults < 20 {
		t.Logf("only %d faults before the CS finished", faults)
	}
	res := got.res
	if res.Applied+res.Rejected+res.Duplicates+res.Unanswered != len(lines.Lines) || res.Applied > applied || res.Duplicates != 0 {
		t.Fatalf("the CS's outcomes: %+v (of %d lines, %d valid)", res, len(lines.Lines), applied)
	}
	signInAdmin(t, bin, socket)
	for i := 0; ; i++ {
		r := cli(t, bin, socket, "link", "status", "--json")
		if strings.Contains(r.stdout, `"backlog":0`) && strings.Contains(r.stdout, `"cs-052019":20000`) {
			break
		}
		if i > 600 {
			t.Fatalf("not delivered: %+v", r)
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.stop(t)
	killNational()
	sim, err := nationalsim.Open(filepath.Join(state, "sim", "national", "national.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	seqs, err := sim.Received(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != applied {
		t.Fatalf("the national server holds %d updates, %d were applied", len(seqs), applied)
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("the national server holds 更新順番号 %d at place %d", s, i)
		}
	}
	t.Logf("%d faults; the CS connected %d times; %+v", faults, res.Connections, res)
}
