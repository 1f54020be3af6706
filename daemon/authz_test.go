package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// allowed is the expected policy, written out independently of auth.go: for each API
// call, the roles that may use it. public: no session needed; anySession: a session
// with or without roles.
var (
	public_    = []store.Role{"public"}
	anySession = []store.Role{"any"}
	admin      = store.RoleAdministrator
	allowed    = map[string][]store.Role{
		"GET /v1/health":                   public_,
		"POST /v1/login":                   public_,
		"POST /v1/logout":                  public_,
		"GET /v1/session":                  anySession,
		"POST /v1/ingest":                  {admin},
		"POST /v1/search":                  {store.RoleOperator},
		"GET /v1/persons/{code}":           {store.RoleOperator},
		"GET /v1/stats":                    store.Roles,
		"POST /v1/keys/rotate":             {admin},
		"POST /v1/backup":                  {admin},
		"GET /v1/operators":                {admin, store.RoleAuditor},
		"POST /v1/operators":               {admin},
		"GET /v1/rights/ledger":            {admin, store.RoleAuditor},
		"POST /v1/rights/inventory":        {admin, store.RoleAuditor},
		"POST /v1/rights/grant":            {admin},
		"POST /v1/rights/revoke":           {admin},
		"POST /v1/rights/reset":            {admin},
		"POST /v1/audit/verify":            {store.RoleAuditor},
		"POST /v1/audit/lookup":            {store.RoleAuditor},
		"GET /v1/audit/prove/{index}":      {store.RoleAuditor},
		"GET /v1/audit/consistency":        {store.RoleAuditor},
		"POST /v1/audit/reconcile":         {store.RoleAuditor},
		"POST /v1/audit/export":            {store.RoleAuditor},
		"POST /v1/applications":            {admin},
		"GET /v1/applications":             {store.RoleOperator, store.RoleProvision, store.RoleDisclosure, admin, store.RoleAuditor},
		"POST /v1/applications/{id}/close": {admin},
		"GET /v1/media":                    {store.RoleProvision, admin, store.RoleAuditor},
		"POST /v1/media/register":          {admin},
		"POST /v1/media/issue":             {admin},
		"POST /v1/media/return":            {admin},
		"POST /v1/media/retire":            {admin},
		"POST /v1/recipients":              {admin},
		"GET /v1/recipients":               {store.RoleProvision, admin, store.RoleAuditor},
		"POST /v1/provisions":              {store.RoleProvision},
		"GET /v1/provisions":               {store.RoleProvision, admin, store.RoleAuditor},

		"POST /v1/service/start":           {store.RoleVendor},
		"POST /v1/service/confirm":         {store.RoleVendor, store.RoleSupervisor},
		"POST /v1/service/end":             {store.RoleVendor, store.RoleSupervisor},
		"GET /v1/service/status":           {store.RoleVendor},
		"GET /v1/service/logs":             {store.RoleVendor},
		"POST /v1/service/backup-verify":   {store.RoleVendor, admin, store.RoleAuditor},
		"POST /v1/service/update/verify":   {store.RoleVendor},
		"POST /v1/service/update/stage":    {store.RoleVendor},
		"POST /v1/service/update/activate": {admin},
		"GET /v1/audit/service":            {store.RoleAuditor},

		"POST /v1/peers":           {admin},
		"POST /v1/peers/remove":    {admin},
		"GET /v1/peers":            {admin, store.RoleAuditor},
		"GET /v1/links":            {admin, store.RoleAuditor},
		"GET /v1/links/cert":       {admin, store.RoleAuditor},
		"POST /v1/national/search": {store.RoleOperator},
	}
	// outsideService is all a vendor may call without a service session (besides the
	// public calls): TestServiceGateTable (service_test.go) tests the calls in one.
	outsideService = []string{"GET /v1/session", "POST /v1/service/start"}
)

// TestAuthorizationTable calls every API call, through the daemon's own routes, as
// every role and with no role, in every session state; only the allowed cells get past
// the authorisation point (whose refusals are 401 sign_in and 403 denied).
func TestAuthorizationTable(t *testing.T) {
	f := start(t)
	clock := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	f.srv.sessions.now = func() time.Time { return clock }
	hc := clientFor(f.socket)
	roles := append([]store.Role{""}, store.Roles...)
	states := []string{"valid", "none", "locked", "expired", "other user", "right expired", "right revoked"}
	cells := 0
	for _, rt := range routeTable {
		want, ok := allowed[rt.pattern]
		if !ok {
			t.Errorf("%s is not in the test's table: add the roles that may use it", rt.pattern)
			continue
		}
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.NewReplacer("{code}", "12000000001", "{index}", "0", "{id}", "P-1").Replace(path)
		for _, role := range roles {
			for _, state := range states {
				rights := []store.Right{}
				if role != "" {
					r := store.Right{Role: role, GrantedAt: clock.Add(-time.Hour)}
					switch state {
					case "right expired":
						exp := clock.Add(-time.Minute)
						r.ExpiresAt = &exp
					case "right revoked":
						rev := clock.Add(-time.Minute)
						r.RevokedAt = &rev
					}
					rights = append(rights, r)
				}
				uid := os.Getuid()
				if state == "other user" {
					uid++
				}
				token := f.srv.sessions.open("tester", uid, rights)
				at := clock
				switch state {
				case "none":
					token = ""
				case "locked":
					at = clock.Add(11 * time.Minute)
				case "expired":
					at = clock.Add(13 * time.Hour)
				}
				f.srv.sessions.now = func() time.Time { return at }
				req, _ := http.NewRequest(method, "http://jukitermd"+path, bytes.NewReader([]byte("{}")))
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var ae api.Error
				json.NewDecoder(resp.Body).Decode(&ae)
				resp.Body.Close()
				f.srv.sessions.now = func() time.Time { return clock }
				denied := (resp.StatusCode == http.StatusUnauthorized && ae.Kind == api.KindSignIn) ||
					(resp.StatusCode == http.StatusForbidden && ae.Kind == api.KindDenied)
				passed := !denied
				usable := state == "valid" || (role == "" && (state == "right expired" || state == "right revoked"))
				roleOK := slices.Contains(want, role) || (slices.Equal(want, anySession))
				if role == store.RoleVendor && !slices.Contains(outsideService, rt.pattern) {
					roleOK = false // a vendor gets nothing else outside a service session
				}
				expect := slices.Equal(want, public_) || (usable && roleOK) ||
					(slices.Equal(want, anySession) && (state == "right expired" || state == "right revoked"))
				if passed != expect {
					t.Errorf("%s as %q, session %s: answered %s, want allowed=%v", rt.pattern, role, state, resp.Status, expect)
				}
				cells++
			}
		}
	}
	if want := len(routeTable) * len(roles) * len(states); cells != want {
		t.Fatalf("%d cells, want %d", cells, want)
	}
	t.Log(fmt.Sprintf("%d cells", cells))
}
