package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestOperatorsAndRights(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	if err := s.AddOperator(ctx, "admin", "管理者", 1, []Role{RoleAdministrator}, "init", "initial administrator", now); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ name, reason string }{{"Admin", "x"}, {"", "x"}, {"a b", "x"}, {"ok", ""}, {"admin", "again"}} {
		if err := s.AddOperator(ctx, bad.name, "", 2, nil, "admin", bad.reason, now); !errors.Is(err, ErrBadOperator) {
			t.Errorf("AddOperator(%q, reason %q): %v", bad.name, bad.reason, err)
		}
	}
	if err := s.AddOperator(ctx, "sato", "佐藤", 1, nil, "admin", "slot taken", now); !errors.Is(err, ErrBadOperator) {
		t.Errorf("a second operator in slot 1: %v", err)
	}
	if err := s.AddOperator(ctx, "sato", "佐藤", 2, []Role{RoleOperator}, "admin", "辞令 2026-17", now); err != nil {
		t.Fatal(err)
	}
	until := now.Add(48 * time.Hour)
	if err := s.Grant(ctx, "sato", RoleProvision, "admin", "申請 P-3", &until, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Grant(ctx, "sato", RoleAuditor, "admin", "x", &now, now); !errors.Is(err, ErrBadOperator) {
		t.Errorf("a grant that expires at once: %v", err)
	}
	if err := s.Grant(ctx, "nobody", RoleAuditor, "admin", "x", nil, now); !errors.Is(err, ErrNoOperator) {
		t.Errorf("a grant to nobody: %v", err)
	}
	o, err := s.OperatorBySlot(ctx, 2)
	if err != nil || o.Name != "sato" {
		t.Fatalf("by slot: %+v %v", o, err)
	}
	if got := o.ActiveRoles(now); !slices.Equal(got, []Role{RoleOperator, RoleProvision}) {
		t.Fatalf("roles now: %v", got)
	}
	if got := o.ActiveRoles(until); !slices.Equal(got, []Role{RoleOperator}) {
		t.Fatalf("roles after the expiry: %v", got)
	}
	if err := s.Revoke(ctx, "sato", RoleOperator, "admin", "異動", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx, "sato", RoleOperator, "admin", "again", now.Add(time.Hour)); !errors.Is(err, ErrBadOperator) {
		t.Errorf("revoking a revoked right: %v", err)
	}
	o, _ = s.GetOperator(ctx, "sato")
	if got := o.ActiveRoles(now.Add(2 * time.Hour)); !slices.Equal(got, []Role{RoleProvision}) {
		t.Fatalf("roles after the revocation: %v", got)
	}
	if err := s.MarkUsed(ctx, "sato", RoleProvision, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	inv, err := s.TakeInventory(ctx, "admin", now.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Rights) != 2 || inv.Unused != 1 || inv.Previous != nil {
		t.Fatalf("inventory: %+v", inv)
	}
	for _, l := range inv.Rights {
		if l.Unused != (l.Operator == "admin") {
			t.Errorf("inventory line %+v", l)
		}
	}
	inv, _ = s.TakeInventory(ctx, "admin", now.Add(4*time.Hour))
	if inv.Previous == nil || !inv.Previous.Equal(now.Add(3*time.Hour)) {
		t.Fatalf("the second inventory does not name the first: %+v", inv.Previous)
	}
	led, err := s.Ledger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range led {
		actions = append(actions, e.Action+" "+e.Operator+" "+string(e.Role))
	}
	want := []string{"enrol admin ", "grant admin administrator", "enrol sato ", "grant sato operator",
		"grant sato provision", "revoke sato operator", "inventory  ", "inventory  "}
	if !slices.Equal(actions, want) {
		t.Fatalf("ledger:\n%q\nwant\n%q", actions, want)
	}
}

// TestLockout: five free attempts, then one each 30 s after the last failure, and at
// 50 in a row biometric sign-in is disabled until a reset; the counters survive a
// reopen of the file.
func TestLockout(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	if err := s.AddOperator(ctx, "sato", "", 2, []Role{RoleOperator}, "admin", "x", now); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= FreeAttempts; i++ {
		if _, err := s.SignInAllowed(ctx, "sato", now); err != nil {
			t.Fatalf("attempt %d refused: %v", i, err)
		}
		s.SignInFailed(ctx, "sato", now)
	}
	var we *WaitError
	if _, err := s.SignInAllowed(ctx, "sato", now.Add(29*time.Second)); !errors.As(err, &we) {
		t.Fatalf("attempt 6 within 30 s: %v", err)
	}
	path := s.Path()
	s.Close()
	s, err := Open(path, Options{CacheMiB: cacheMiB, Keys: testKeys})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.SignInAllowed(ctx, "sato", now.Add(29*time.Second)); !errors.As(err, &we) {
		t.Fatalf("after a reopen, attempt 6 within 30 s: %v", err)
	}
	at := now.Add(30 * time.Second)
	for i := FreeAttempts + 1; i <= DisableAfter; i++ {
		if _, err := s.SignInAllowed(ctx, "sato", at); err != nil {
			t.Fatalf("attempt %d, 30 s after the last: %v", i, err)
		}
		l, err := s.SignInFailed(ctx, "sato", at)
		if err != nil || l.Failures != i || l.Disabled != (i == DisableAfter) {
			t.Fatalf("failure %d: %+v %v", i, l, err)
		}
		at = at.Add(RetryDelay)
	}
	if _, err := s.SignInAllowed(ctx, "sato", at.Add(time.Hour)); !errors.Is(err, ErrSignInDisabled) {
		t.Fatalf("after %d failures: %v", DisableAfter, err)
	}
	if err := s.SignInSucceeded(ctx, "sato", at); !errors.Is(err, ErrSignInDisabled) {
		t.Fatalf("a success recorded for a disabled operator: %v", err)
	}
	if _, err := s.SignInAllowed(ctx, "sato", at.Add(time.Hour)); !errors.Is(err, ErrSignInDisabled) {
		t.Fatal("a success cleared a disabled operator")
	}
	if err := s.ResetSignIn(ctx, "sato", "admin", "本人確認済み", at); err != nil {
		t.Fatal(err)
	}
	if l, err := s.SignInAllowed(ctx, "sato", at); err != nil || l.Failures != 0 {
		t.Fatalf("after the reset: %+v %v", l, err)
	}
	// A success in between starts the count again.
	for range FreeAttempts - 1 {
		s.SignInFailed(ctx, "sato", at)
	}
	s.SignInSucceeded(ctx, "sato", at)
	s.SignInFailed(ctx, "sato", at)
	if _, err := s.SignInAllowed(ctx, "sato", at); err != nil {
		t.Fatalf("failures before a success still count: %v", err)
	}
}
