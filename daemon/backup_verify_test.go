package daemon

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// TestNewestBackupVerifyOutsideService: the administrator and the auditor check the
// newest backup's signature without a service session (it decrypts nothing); an
// operator may not. Before any backup the answer says how to make one; an altered
// backup is answered as not sound.
func TestNewestBackupVerifyOutsideService(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	if _, err := f.cl.Ingest(ctx, residents(t, 20), nil); err != nil {
		t.Fatal(err)
	}
	b, _ := backupConfig(t)
	f.srv.SetBackups(b)
	as := func(roles ...store.Role) { f.cl.Token = f.srv.sessions.open("tester", os.Getuid(), rightsOf(roles...)) }

	as(store.RoleAdministrator)
	var ae *api.Error
	if _, err := f.cl.ServiceBackupVerify(ctx); !errors.As(err, &ae) || ae.Kind != api.KindNotFound || !strings.Contains(ae.Message, "jukiterm backup create") {
		t.Fatalf("no backup yet: %v", err)
	}
	made, err := f.cl.Backup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []store.Role{store.RoleAdministrator, store.RoleAuditor} {
		as(role)
		v, err := f.cl.ServiceBackupVerify(ctx)
		if err != nil || !v.Sound || v.Path != made.Path {
			t.Fatalf("%s: %+v %v", role, v, err)
		}
	}
	as(store.RoleOperator)
	if _, err := f.cl.ServiceBackupVerify(ctx); !errors.As(err, &ae) || ae.Kind != api.KindDenied {
		t.Fatalf("an operator checked the backup: %v", err)
	}

	raw, _ := os.ReadFile(made.Path)
	raw[len(raw)/2] ^= 1
	os.WriteFile(made.Path, raw, 0o600)
	as(store.RoleAuditor)
	if v, err := f.cl.ServiceBackupVerify(ctx); err != nil || v.Sound {
		t.Fatalf("an altered backup: %+v %v", v, err)
	}
}
