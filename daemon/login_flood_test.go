package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"jukiterm/daemon/api"
	"jukiterm/daemon/client"
)

// TestSignInFloodIsBounded repeats the attack: 500 sign-ins without a session, each
// naming a 32,000-character operator, through the real socket. Each entry stays
// small (the name is cut), only a few are logged one by one, the rest are answered
// "wait" and counted in signin.limited entries, and no log line holds the name.
func TestSignInFloodIsBounded(t *testing.T) {
	every := SignInRefusalEvery
	SignInRefusalEvery = 300 * time.Millisecond
	t.Cleanup(func() { SignInRefusalEvery = every })
	f := start(t)
	var lines syncBuffer
	f.srv.log = testLogger(t, &lines, nil)
	cl := client.New(f.socket)
	before := f.st.LogSize()
	long := strings.Repeat("x", 31994) + "\x00\x1b[2J\xff"
	began := time.Now()
	const attempts = 500
	waited := 0
	for i := 0; i < attempts; i++ {
		_, err := cl.Login(context.Background(), api.LoginRequest{Operator: long, SimFinger: "a"}, nil)
		var ae *api.Error
		switch {
		case !errors.As(err, &ae) || ae.Kind != api.KindLoginFailed:
			t.Fatalf("attempt %d: %.300v", i, err)
		case ae.Status == http.StatusTooManyRequests && strings.Contains(ae.Message, "wait"):
			waited++
		case !strings.Contains(ae.Message, "32000 characters long") || !strings.Contains(ae.Message, "64"):
			t.Fatalf("attempt %d: %.300q", i, ae.Message)
		}
	}
	elapsed := time.Since(began)
	waitSummaries(t, f, before, "signin.limited") // the window ends: the last summary is written
	es, err := f.st.ReadLog(context.Background(), before, 1000)
	if err != nil {
		t.Fatal(err)
	}
	refused, summarised := 0, 0
	for _, e := range es {
		b, _ := json.Marshal(e)
		if len(b) > 1024 {
			t.Fatalf("an entry of %d bytes: %.200s", len(b), b)
		}
		switch e.Action {
		case "signin.refused":
			refused++
			name, _ := e.Detail["operator"].(string)
			if utf8.RuneCountInString(name) != MaxNameRunes+1 || strings.ContainsAny(name, "\x00\x1b") || !utf8.ValidString(name) {
				t.Fatalf("the logged name is not cut and cleaned: %q", name)
			}
		case "signin.limited":
			if e.Operator != uidName(os.Getuid()) || e.Detail["uid"] != float64(os.Getuid()) {
				t.Fatalf("summary: %+v", e)
			}
			summarised += int(e.Detail["refused"].(float64))
		default:
			t.Fatalf("unexpected entry %+v", e)
		}
	}
	if most := SignInRefusalBurst + int(elapsed/SignInRefusalEvery) + 1; refused > most {
		t.Fatalf("%d refusals logged one by one in %s, want at most %d", refused, elapsed, most)
	}
	if refused+summarised != attempts || summarised != waited || summarised == 0 {
		t.Fatalf("%d logged, %d summarised, %d answered wait: want %d in all", refused, summarised, waited, attempts)
	}
	if strings.Contains(lines.String(), strings.Repeat("x", MaxNameRunes+1)) {
		t.Fatal("a log line holds more of the name than the cap")
	}
}

// A summary still held at shutdown is written before the store closes.
func TestSignInSummaryAtShutdown(t *testing.T) {
	f := start(t)
	cl := client.New(f.socket)
	for i := 0; i < SignInRefusalBurst+3; i++ {
		cl.Login(context.Background(), api.LoginRequest{Operator: "nobody"}, nil)
	}
	f.srv.Shutdown(context.Background())
	e := lastEntry(t, f.st, "signin.limited")
	if e == nil || e.Detail["refused"] != float64(3) {
		t.Fatalf("summary at shutdown: %+v", e)
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"operator":                     "operator",
		"a\nb\x00c\u202ed":             "a\ufffdb\ufffdc\ufffdd",
		"bad\xffutf8":                  "bad\ufffdutf8",
		strings.Repeat("あ", 65):        strings.Repeat("あ", 64) + "…",
		strings.Repeat("y", 64):        strings.Repeat("y", 64),
		strings.Repeat("\xff", 100000): strings.Repeat("\ufffd", 64) + "…",
	} {
		got, _, long := cleanName(in)
		if got != want || long != strings.HasSuffix(want, "…") {
			t.Errorf("cleanName(%.20q) = %.80q %v, want %.80q", in, got, long, want)
		}
	}
}
