package daemon

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// TestSignInHintsNameTheOperator: the answers to a locked or ended session give the
// command that signs that operator in again (`jukiterm login` alone would try the
// Unix user's name); without a session, the command with NAME to fill in.
func TestSignInHintsNameTheOperator(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	clock := time.Now()
	f.srv.sessions.now = func() time.Time { return clock }
	f.cl.Token = f.srv.sessions.open("clerk01", os.Getuid(), rightsOf(store.RoleOperator))
	clock = clock.Add(11 * time.Minute)
	_, err := f.cl.Stats(ctx)
	var ae *api.Error
	if !errors.As(err, &ae) || !strings.Contains(ae.Message, "`jukiterm login clerk01`") {
		t.Fatalf("locked: %v", err)
	}
	clock = clock.Add(13 * time.Hour)
	_, err = f.cl.Stats(ctx)
	if !errors.As(err, &ae) || !strings.Contains(ae.Message, "`jukiterm login clerk01`") {
		t.Fatalf("ended: %v", err)
	}
	_, err = f.cl.Stats(ctx)
	if !errors.As(err, &ae) || !strings.Contains(ae.Message, "`jukiterm login NAME`") || !strings.Contains(ae.Message, "operator name") {
		t.Fatalf("not signed in: %v", err)
	}
}

// TestDenialToAnAdministrator: an administrator refused a right is not told to ask
// an administrator, but another one; others are told to ask an administrator.
func TestDenialToAnAdministrator(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	f.cl.Token = f.srv.sessions.open("admin01", os.Getuid(), rightsOf(store.RoleAdministrator))
	_, err := f.cl.Search(ctx, store.Query{Kana: "ヤマダ", Birth: "1980-01-01"})
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Kind != api.KindDenied || !strings.Contains(ae.Message, "ask another administrator") {
		t.Fatalf("an administrator's search: %v", err)
	}
	f.cl.Token = f.srv.sessions.open("audit01", os.Getuid(), rightsOf(store.RoleAuditor))
	_, err = f.cl.Search(ctx, store.Query{Kana: "ヤマダ", Birth: "1980-01-01"})
	if !errors.As(err, &ae) || ae.Kind != api.KindDenied || !strings.Contains(ae.Message, "ask an administrator") {
		t.Fatalf("an auditor's search: %v", err)
	}
}
