package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/daemon/client"
)

// TestLockoutSurvivesRestartAndKill: failed sign-ins count across a kill -9 and a
// restart of jukitermd; after five in a row the next attempt must wait, without using
// the reader; the failures are in the ledger-visible operator list; a correct finger
// after the wait clears them.
func TestLockoutSurvivesRestartAndKill(t *testing.T) {
	bin := binaries(t)
	_, conf, socket := simState(t, bin)
	fail := func(n int) {
		t.Helper()
		r := cli(t, bin, socket, "login", "operator", "--sim-finger", "unknown")
		if r.code == 0 || !strings.Contains(r.stderr, "not recognised") || !strings.Contains(r.stderr, "("+string(rune('0'+n))+" failed attempts in a row)") {
			t.Fatalf("failed attempt %d: %+v", n, r)
		}
	}
	d := startDaemon(t, bin, conf, socket)
	fail(1)
	fail(2)
	// Another operator's finger is a failure for the operator named.
	if r := cli(t, bin, socket, "login", "operator", "--sim-finger", "auditor"); r.code == 0 || !strings.Contains(r.stderr, "(3 failed attempts in a row)") {
		t.Fatalf("another operator's finger: %+v", r)
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	d = startDaemon(t, bin, conf, socket)
	fail(4)
	d.stop(t)
	d = startDaemon(t, bin, conf, socket)
	fail(5)
	r := cli(t, bin, socket, "login", "--sim-finger", "operator")
	if r.code == 0 || !strings.Contains(r.stderr, "wait") || strings.Contains(r.stderr, "Place your finger") {
		t.Fatalf("a sixth attempt at once: %+v", r)
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	d = startDaemon(t, bin, conf, socket)
	if r := cli(t, bin, socket, "login", "--sim-finger", "operator"); r.code == 0 || !strings.Contains(r.stderr, "wait") {
		t.Fatalf("after a kill -9, the wait is forgotten: %+v", r)
	}
	signIn(t, bin, socket, "admin")
	if r := cli(t, bin, socket, "operator", "list"); r.code != 0 || !strings.Contains(r.stdout, "operator") {
		t.Fatalf("operator list: %+v", r)
	} else {
		found := false
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(l, "operator  操作者") {
				found = true
				if !strings.Contains(l, " 5 ") {
					t.Fatalf("the operator list does not show 5 failures: %q", l)
				}
			}
		}
		if !found {
			t.Fatalf("the operator list has no line for operator:\n%s", r.stdout)
		}
	}
	if r := cli(t, bin, socket, "rights", "reset", "operator", "--reason", "本人確認済み"); r.code != 0 {
		t.Fatalf("reset: %+v", r)
	}
	signIn(t, bin, socket, "operator")
	if r := cli(t, bin, socket, "rights", "ledger"); r.code != 2 || !strings.Contains(r.stderr, "does not hold the right") {
		t.Fatalf("the ledger as an operator: %+v", r)
	}
	signIn(t, bin, socket, "auditor")
	if r := cli(t, bin, socket, "rights", "ledger"); r.code != 0 || !strings.Contains(r.stdout, "reset") || !strings.Contains(r.stdout, "本人確認済み") {
		t.Fatalf("the ledger: %+v", r)
	}
	d.stop(t)
}

// TestParallelSignInsDoNotBypassLockout: with four failures recorded, ten attempts at
// once reach the reader one at a time and see each other's outcome: the first is the
// fifth failure, and the nine others are told to wait without a capture.
func TestParallelSignInsDoNotBypassLockout(t *testing.T) {
	bin := binaries(t)
	_, conf, socket := simState(t, bin)
	d := startDaemon(t, bin, conf, socket)
	for i := 1; i <= 4; i++ {
		if r := cli(t, bin, socket, "login", "operator", "--sim-finger", "unknown"); r.code == 0 {
			t.Fatalf("attempt %d signed in", i)
		}
	}
	var wg sync.WaitGroup
	results := make([]run, 10)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = cli(t, bin, socket, "login", "operator", "--sim-finger", "unknown")
		}()
	}
	wg.Wait()
	// One attempt reaches the reader; those that queued behind it see the lockout it
	// caused; the queue holds at most MaxReaderWaiters, so the others are told the
	// reader is busy, untried.
	captured, lockedOut, busy := 0, 0, 0
	for _, r := range results {
		switch {
		case strings.Contains(r.stderr, "(5 failed attempts in a row)"):
			captured++ // the one attempt allowed: the fifth failure
		case strings.Contains(r.stderr, "reader is busy"):
			busy++
		case strings.Contains(r.stderr, "wait"):
			lockedOut++
		default:
			t.Errorf("unexpected answer: %+v", r)
		}
	}
	if captured != 1 || lockedOut+busy != 9 || lockedOut == 0 {
		t.Fatalf("%d attempts reached the reader, %d were locked out, %d found it busy; want 1, and 9 others of which some locked out", captured, lockedOut, busy)
	}
	d.stop(t)
}

// TestReaderQueueIsBounded: while one sign-in waits at the reader for a finger that
// does not come, at most four more wait for the reader; further ones are refused at
// once as busy.
func TestReaderQueueIsBounded(t *testing.T) {
	bin := binaries(t)
	_, conf, socket := simState(t, bin)
	d := startDaemon(t, bin, conf, socket)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl := client.New(socket)
	answers := make(chan error, 9)
	login := func() {
		_, err := cl.Login(ctx, api.LoginRequest{Operator: "operator"}, nil)
		answers <- err
	}
	go login() // at the reader, waiting for a finger
	time.Sleep(time.Second)
	for range 8 {
		go login()
	}
	deadline := time.After(5 * time.Second)
	for busy := 0; busy < 4; {
		select {
		case err := <-answers:
			var ae *api.Error
			if !errors.As(err, &ae) || ae.Kind != api.KindBusy || !strings.Contains(ae.Message, "wait a moment and try again") {
				t.Fatalf("an attempt beyond the queue: %v", err)
			}
			busy++
		case <-deadline:
			t.Fatalf("%d attempts refused at once, want 4 (the others wait)", busy)
		}
	}
	select {
	case err := <-answers:
		t.Fatalf("a fifth attempt was answered while the first waits at the reader: %v", err)
	case <-time.After(time.Second):
	}
	cancel()
	d.stop(t)
}

// TestSignInHints: with simulated hardware the hint to sign in names --sim-finger;
// `jukiterm login` without a name says which name it tried and how to give one.
func TestSignInHints(t *testing.T) {
	bin := binaries(t)
	_, conf, socket := simState(t, bin)
	d := startDaemon(t, bin, conf, socket)
	if r := cli(t, bin, socket, "stats"); r.code == 0 || !strings.Contains(r.stderr, "`jukiterm login --sim-finger NAME`") {
		t.Fatalf("stats without a session: %+v", r)
	}
	if r := cli(t, bin, socket, "login"); r.code == 0 || !strings.Contains(r.stderr, "Unix user name") || !strings.Contains(r.stderr, "`jukiterm login NAME`") {
		t.Fatalf("login without a name: %+v", r)
	}
	d.stop(t)
}
