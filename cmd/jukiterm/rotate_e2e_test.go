package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/daemon/client"
	"jukiterm/hwsim/synth"
	"jukiterm/hwsim/testlogs"
	"jukiterm/store"
	"jukiterm/store/record"
)

// daemonProc is a jukitermd started by a test.
type daemonProc struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan error
}

// startDaemon starts jukitermd on conf and waits until it answers on socket.
func startDaemon(t *testing.T, bin, conf, socket string) *daemonProc {
	t.Helper()
	d := &daemonProc{cmd: exec.Command(filepath.Join(bin, "jukitermd"), "--config", conf), out: &bytes.Buffer{}, done: make(chan error, 1)}
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	testlogs.TeeStderr(t, d.cmd)
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() { d.cmd.Process.Kill() })
	c := client.New(socket)
	for i := 0; ; i++ {
		select {
		case err := <-d.done:
			t.Fatalf("jukitermd exited at start: %v\n%s", err, d.out)
		case <-time.After(30 * time.Millisecond):
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Health(ctx)
		cancel()
		if err == nil {
			return d
		}
		if i > 1000 {
			t.Fatalf("jukitermd does not answer: %v\n%s", err, d.out)
		}
	}
}

func (d *daemonProc) stop(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-d.done; err != nil {
		t.Fatalf("jukitermd stopped with %v\n%s", err, d.out)
	}
}

// TestKeyRotation: `keys rotate` re-encrypts a served file under a new key while
// searches go on; a kill -9 in the middle of one loses nothing and the rotation
// continues at the next start; every search answers as before; the key file ends
// with the new key alone, and the recovery secret from init still restores access.
func TestKeyRotation(t *testing.T) {
	bin := binaries(t)
	state := filepath.Join(t.TempDir(), "state")
	r := cli(t, bin, "", "init", "--state", state, "--demo")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	secret := strings.TrimSpace(lines[len(lines)-1])
	if r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	conf, socket := filepath.Join(state, "jukiterm.conf"), filepath.Join(state, "jukiterm.sock")
	d := startDaemon(t, bin, conf, socket)
	signInAdmin(t, bin, socket)

	residents := synth.Residents(21, 20000, record.Akita())
	var file bytes.Buffer
	for _, n := range residents {
		b, _ := json.Marshal(n)
		file.Write(append(b, '\n'))
	}
	path := filepath.Join(t.TempDir(), "residents.jsonl")
	os.WriteFile(path, file.Bytes(), 0o600)
	if r := cli(t, bin, socket, "ingest", path); r.code != 0 {
		t.Fatalf("ingest: %+v", r)
	}
	sample := residents[:len(residents):len(residents)]
	sample = sample[:0]
	for i := 0; i < len(residents); i += 997 {
		sample = append(sample, residents[i])
	}
	answers := func() string {
		var b strings.Builder
		for _, n := range sample {
			for _, args := range [][]string{{"search", "--code", n.ResidentCode}, {"search", "--kana", *n.NameKana, "--birth", *n.Birth},
				{"show", n.ResidentCode, "--history"}} {
				r := cli(t, bin, socket, append(args, "--json")...)
				if r.code != 0 || !strings.Contains(r.stdout, n.ResidentCode) {
					t.Fatalf("%v: %+v", args, r)
				}
				b.WriteString(r.stdout)
			}
		}
		return b.String()
	}
	before := answers()

	// Searches run without pause while the rotation starts; the daemon is killed
	// once it has re-encrypted part of the file.
	c := client.New(socket)
	t.Setenv("XDG_RUNTIME_DIR", runtimeDir(t)) // where the CLI keeps the session
	c.Token = readToken(socket)
	var stop atomic.Bool
	var searches atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			n := sample[i%len(sample)]
			got, err := c.Search(context.Background(), store.Query{Code: n.ResidentCode, Limit: 5})
			if err != nil {
				return // the daemon was killed
			}
			if len(got) != 1 || got[0].ResidentCode != n.ResidentCode {
				t.Errorf("a search during the rotation found %d records for %s", len(got), n.ResidentCode)
				return
			}
			searches.Add(1)
		}
	}()
	killed := make(chan struct{})
	go func() {
		c.RotateKeys(context.Background(), func(st api.Rotation) {
			if st.Done > 0 && st.Done < st.Total && !stop.Load() {
				stop.Store(true)
				d.cmd.Process.Kill()
				close(killed)
			}
		})
	}()
	select {
	case <-killed:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the rotation reported no progress before finishing\n%s", d.out)
	}
	<-d.done
	stop.Store(true)
	wg.Wait()
	if searches.Load() == 0 {
		t.Error("no search ran during the rotation")
	}
	kf, _ := os.ReadFile(filepath.Join(state, "storage.key"))
	if !bytes.Contains(kf, []byte(`"next"`)) {
		t.Fatal("the key file does not hold the new key during the rotation")
	}

	// The next start continues the rotation; `keys rotate` follows it to the end.
	d = startDaemon(t, bin, conf, socket)
	signInAdmin(t, bin, socket)
	r = cli(t, bin, socket, "keys", "rotate", "--json")
	var st api.Rotation
	if err := json.Unmarshal([]byte(r.stdout), &st); r.code != 0 || err != nil || !st.Finished || st.Done != st.Total || st.Total < 20000 {
		t.Fatalf("keys rotate after the restart: %+v %v\n%s", r, err, d.out)
	}
	if after := answers(); after != before {
		t.Fatal("answers after the rotation differ from before")
	}
	if r := cli(t, bin, socket, "ingest", path, "--json"); r.code != 0 || !strings.Contains(r.stdout, `"duplicates":20000`) {
		t.Fatalf("the same file after the rotation is not all duplicates: %+v", r)
	}
	d.stop(t)
	kf, _ = os.ReadFile(filepath.Join(state, "storage.key"))
	if bytes.Contains(kf, []byte(`"next"`)) {
		t.Fatal("the key file still holds two keys after the rotation")
	}

	// A new TPM: the recovery secret from init opens the rotated key.
	os.RemoveAll(filepath.Join(state, "tpm"))
	rec := exec.Command(filepath.Join(bin, "jukiterm"), "keys", "recover", "--config", conf)
	rec.Stdin = strings.NewReader(secret + "\n")
	if out, err := rec.CombinedOutput(); err != nil {
		t.Fatalf("recover after the rotation: %v %s", err, out)
	}
	d = startDaemon(t, bin, conf, socket)
	signInAdmin(t, bin, socket)
	if after := answers(); after != before {
		t.Fatal("answers after recovery differ from before the rotation")
	}
	d.stop(t)
}
