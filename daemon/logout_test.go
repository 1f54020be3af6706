package daemon

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"jukiterm/daemon/client"
)

// TestLogoutChecksPeer: another Unix user who holds root's token cannot end root's
// session through the socket; the attempt is logged as a denial; root's own sign-out
// still works.
func TestLogoutChecksPeer(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	o := asNobody(t, f.socket, "logout", "JUKITERM_TEST_TOKEN="+f.cl.Token)
	if out := o.line(t); !strings.Contains(out, `"signed_out":false`) {
		t.Fatalf("another user's logout answered %q", out)
	}
	if _, err := f.cl.Stats(ctx); err != nil {
		t.Fatalf("root's session ended by another user's logout: %v", err)
	}
	e := lastEntry(t, f.st, "access.denied")
	if e == nil || e.Detail["action"] != string(actLogout) || e.Operator != "uid 65534" {
		t.Fatalf("the refused sign-out is not logged as a denial: %+v", e)
	}
	if lastEntry(t, f.st, "signout") != nil {
		t.Fatal("a sign-out was recorded")
	}
	if err := f.cl.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cl.Stats(ctx); err == nil {
		t.Fatal("root's own sign-out did not end the session")
	}
}

// TestForeignLogoutsAreRateLimited: sign-outs presenting another Unix user's token are
// denials without a session, limited per Unix user like the others: they cannot fill
// the operation log.
func TestForeignLogoutsAreRateLimited(t *testing.T) {
	every := SignInRefusalEvery
	SignInRefusalEvery = time.Hour // no refill during the test
	t.Cleanup(func() { SignInRefusalEvery = every })
	f := start(t)
	ctx := context.Background()
	cl := client.New(f.socket)
	cl.Token = f.srv.sessions.open("someone", os.Getuid()+1, nil) // a session of another Unix user
	before := f.st.LogSize()
	const calls = 100
	for i := 0; i < calls; i++ {
		if err := cl.Logout(ctx); err != nil {
			t.Fatal(err)
		}
	}
	f.srv.denials.close() // writes the summary now
	es, err := f.st.ReadLog(ctx, before, 1000)
	if err != nil {
		t.Fatal(err)
	}
	denied, summarised := 0, 0
	for _, e := range es {
		switch e.Action {
		case "access.denied":
			denied++
		case "access.limited":
			summarised += int(e.Detail["refused"].(float64))
		default:
			t.Fatalf("unexpected entry %+v", e)
		}
	}
	if denied != SignInRefusalBurst || denied+summarised != calls {
		t.Fatalf("%d denials logged one by one and %d summarised; want %d and %d in all", denied, summarised, SignInRefusalBurst, calls)
	}
}
