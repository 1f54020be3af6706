package daemon

import (
	"context"
	"strings"
	"testing"
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
