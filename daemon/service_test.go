package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// svcFix is a daemon with the simulated reader, a vendor "ven" who also holds every
// other right, and a supervisor "sup", both enrolled; the vendor is signed in.
type svcFix struct {
	*fixture
	rd    *simReader
	clock *testClock
}

var svcT0 = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func startSvc(t *testing.T) *svcFix {
	t.Helper()
	f := start(t)
	clock := &testClock{t: svcT0}
	f.srv.SetSessionLimits(SessionLimits{Idle: 24 * time.Hour, Max: 48 * time.Hour})
	f.srv.sessions.now = clock.now
	rd := newSimReader(t)
	f.srv.SetReader(rd)
	rd.enrol(t, 1, "ven")
	rd.enrol(t, 2, "sup")
	ctx := context.Background()
	if err := f.st.AddOperator(ctx, "ven", "Vendor", 1, store.Roles, "admin", "contract 7", svcT0); err != nil {
		t.Fatal(err)
	}
	if err := f.st.AddOperator(ctx, "sup", "Supervisor", 2, []store.Role{store.RoleSupervisor}, "admin", "order 12", svcT0); err != nil {
		t.Fatal(err)
	}
	x := &svcFix{fixture: f, rd: rd, clock: clock}
	x.signIn(t, "ven")
	return x
}

// signIn opens a session for name on this Unix user with their rights in the store.
func (x *svcFix) signIn(t *testing.T, name string) {
	op, err := x.st.GetOperator(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	x.cl.Token = x.srv.sessions.open(name, os.Getuid(), op.Rights)
}

func (x *svcFix) begin(t *testing.T) api.ServiceSession {
	t.Helper()
	v, err := x.cl.ServiceStart(context.Background(), api.ServiceRequest{Supervisor: "sup", SimFinger: "sup"}, nil)
	if err != nil {
		t.Fatalf("service start: %v", err)
	}
	return v
}

// serviceSteps returns the log's service entries of session id.
func serviceLog(t *testing.T, st *store.Store, id string) []store.LogEntry {
	t.Helper()
	es, err := st.ServiceEntries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []store.LogEntry
	for _, e := range es {
		if e.Detail["session"] == id {
			out = append(out, e)
		}
	}
	return out
}

func lastStep(t *testing.T, st *store.Store, id string) store.LogEntry {
	t.Helper()
	es := serviceLog(t, st, id)
	if len(es) == 0 {
		t.Fatalf("no entry of service session %s", id)
	}
	return es[len(es)-1]
}

func isDenied(err error) (*api.Error, bool) {
	var ae *api.Error
	return ae, errors.As(err, &ae) && ae.Kind == api.KindDenied && ae.Status == http.StatusForbidden
}

// TestServiceStart: the supervisor's own finger starts the session, logged under both
// names; the vendor's own finger, or the vendor naming themself, does not.
func TestServiceStart(t *testing.T) {
	x := startSvc(t)
	ctx := context.Background()
	if _, err := x.cl.ServiceStart(ctx, api.ServiceRequest{Supervisor: "ven", SimFinger: "ven"}, nil); err == nil {
		t.Fatal("the vendor supervised their own session")
	}
	if _, err := x.cl.ServiceStart(ctx, api.ServiceRequest{Supervisor: "sup", SimFinger: "ven"}, nil); err == nil {
		t.Fatal("the vendor's finger started the session for the supervisor")
	}
	if _, err := x.cl.ServiceStatus(ctx); err == nil {
		t.Fatal("service status without a service session")
	}
	v := x.begin(t)
	if v.Vendor != "ven" || v.Supervisor != "sup" || v.Paused {
		t.Fatalf("session %+v", v)
	}
	e := serviceLog(t, x.st, v.ID)[0]
	if e.Action != "service.start" || e.Operator != "ven+sup" || e.Detail["vendor"] != "ven" || e.Detail["supervisor"] != "sup" {
		t.Fatalf("start entry %+v", e)
	}
	if _, err := x.cl.ServiceStatus(ctx); err != nil {
		t.Fatalf("service status in the session: %v", err)
	}
	if e := lastStep(t, x.st, v.ID); e.Action != "service.command" || e.Detail["action"] != string(actServiceStatus) || !strings.HasPrefix(e.Detail["result"].(string), "done") {
		t.Fatalf("the status command is not in the transcript: %+v", e)
	}
	if _, err := x.cl.ServiceStart(ctx, api.ServiceRequest{Supervisor: "sup", SimFinger: "sup"}, nil); err == nil {
		t.Fatal("a second service session started")
	}
}

// TestServiceGateTable calls every route as a vendor who holds every other right too:
// with no service session only whoami and service start pass; in an active one only
// the maintenance calls; in a paused one only service confirm and end (and whoami and
// the public calls). Every refusal in a session is in its transcript.
func TestServiceGateTable(t *testing.T) {
	x := startSvc(t)
	defer func(d time.Duration) { ServiceStartTimeout = d }(ServiceStartTimeout)
	ServiceStartTimeout = 200 * time.Millisecond // confirm waits for no finger
	hc := clientFor(x.socket)
	refusals := 0
	for _, state := range []string{"none", "active", "paused"} {
		for _, rt := range routeTable {
			x.signIn(t, "ven")
			now := x.clock.now()
			x.srv.service.mu.Lock()
			switch state {
			case "none":
				x.srv.service.cur = nil
			case "active":
				x.srv.service.cur = &serviceSession{ID: "S-table", Vendor: "ven", Supervisor: "sup", VendorUID: os.Getuid(), Started: now, Confirmed: now}
			case "paused":
				x.srv.service.cur = &serviceSession{ID: "S-table", Vendor: "ven", Supervisor: "sup", VendorUID: os.Getuid(),
					Started: now.Add(-time.Hour), Confirmed: now.Add(-16 * time.Minute), Paused: true}
			}
			x.srv.service.mu.Unlock()
			a := rt.act
			want := public[a] || a == actWhoami
			switch state {
			case "none":
				want = want || a == actServiceStart
			case "active":
				want = want || classOf[a] == classMaintenance
			case "paused":
				want = want || serviceSteps[a]
			}
			method, path, _ := strings.Cut(rt.pattern, " ")
			path = strings.NewReplacer("{code}", "12000000001", "{index}", "0", "{id}", "P-1").Replace(path)
			req, _ := http.NewRequest(method, "http://jukitermd"+path, bytes.NewReader([]byte("{}")))
			req.Header.Set("Authorization", "Bearer "+x.cl.Token)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var ae api.Error
			json.NewDecoder(resp.Body).Decode(&ae)
			resp.Body.Close()
			denied := (resp.StatusCode == http.StatusUnauthorized && ae.Kind == api.KindSignIn) ||
				(resp.StatusCode == http.StatusForbidden && ae.Kind == api.KindDenied)
			if denied == want {
				t.Errorf("%s, service session %s: answered %s (%s), want allowed=%v", rt.pattern, state, resp.Status, ae.Message, want)
			}
			if denied && state != "none" {
				refusals++
			}
			if denied && state == "paused" && !strings.Contains(ae.Message, "paused") {
				t.Errorf("%s while paused: the refusal does not say the session is paused: %s", rt.pattern, ae.Message)
			}
			if denied && state == "paused" && !strings.Contains(ae.Message, "sup") {
				t.Errorf("%s while paused: the refusal does not name the supervisor: %s", rt.pattern, ae.Message)
			}
		}
	}
	n := 0
	for _, e := range serviceLog(t, x.st, "S-table") {
		if e.Action == "service.refused" && e.Operator == "ven+sup" {
			n++
		}
	}
	if n != refusals || n == 0 {
		t.Fatalf("%d refusals in service sessions, %d in the log", refusals, n)
	}
}

// TestActionClasses: every action of the route table and of the policy has a class.
func TestActionClasses(t *testing.T) {
	for _, rt := range routeTable {
		if _, ok := classOf[rt.act]; !ok {
			t.Errorf("%s: action %q has no class in classOf (service_class.go): add personal data, administration, maintenance or public", rt.pattern, rt.act)
		}
	}
	for a := range policy {
		if _, ok := classOf[a]; !ok {
			t.Errorf("action %q of the policy has no class", a)
		}
	}
	for a, c := range classOf {
		switch c {
		case classPersonal, classAdmin, classMaintenance, classPublic:
		default:
			t.Errorf("action %q has class %q", a, c)
		}
		if _, ok := policy[a]; !ok && !public[a] {
			t.Errorf("action %q has a class but is neither in the policy nor public", a)
		}
	}
}

// TestServicePresence moves the clock: a missed confirmation pauses the session, a
// confirmation resumes it, a wrong finger does not, and the grace over ends it; the
// log says why each time.
func TestServicePresence(t *testing.T) {
	x := startSvc(t)
	ctx := context.Background()
	v := x.begin(t)
	x.clock.set(svcT0.Add(14 * time.Minute))
	if _, err := x.cl.ServiceStatus(ctx); err != nil {
		t.Fatalf("within the interval: %v", err)
	}
	x.clock.set(svcT0.Add(15*time.Minute + time.Second))
	_, err := x.cl.ServiceStatus(ctx)
	ae, denied := isDenied(err)
	if !denied || !strings.Contains(ae.Message, "paused") || !strings.Contains(ae.Message, "supervisor sup") || !strings.Contains(ae.Message, "jukiterm service confirm") {
		t.Fatalf("a missed confirmation: %v", err)
	}
	if es := serviceLog(t, x.st, v.ID); !hasStep(es, "service.pause", "did not confirm presence") {
		t.Fatalf("the pause is not logged with its reason: %+v", es)
	}
	if _, err := x.cl.Whoami(ctx); err != nil {
		t.Fatalf("whoami while paused: %v", err)
	}
	if _, err := x.cl.ServiceConfirm(ctx, api.ServiceRequest{SimFinger: "ven"}, nil); err == nil {
		t.Fatal("the vendor's finger confirmed the supervisor's presence")
	}
	if e := lastStep(t, x.st, v.ID); e.Action != "service.confirm-failed" {
		t.Fatalf("a failed confirmation is not logged: %+v", e)
	}
	if _, err := x.cl.ServiceConfirm(ctx, api.ServiceRequest{SimFinger: "sup"}, nil); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if e := lastStep(t, x.st, v.ID); e.Action != "service.resume" {
		t.Fatalf("the resumption is not logged: %+v", e)
	}
	if _, err := x.cl.ServiceStatus(ctx); err != nil {
		t.Fatalf("after the confirmation: %v", err)
	}
	confirmed := x.clock.now()
	x.clock.set(confirmed.Add(15*time.Minute + 5*time.Minute))
	_, err = x.cl.ServiceStatus(ctx)
	if _, denied := isDenied(err); !denied {
		t.Fatalf("after the grace: %v", err)
	}
	es := serviceLog(t, x.st, v.ID)
	if !hasStep(es, "service.end", "without the supervisor's confirmation") {
		t.Fatalf("the end after the grace is not logged with its reason: %+v", es[len(es)-1])
	}
	if _, err := x.cl.ServiceConfirm(ctx, api.ServiceRequest{SimFinger: "sup"}, nil); err == nil {
		t.Fatal("an ended session was confirmed")
	}
}

func hasStep(es []store.LogEntry, action, reason string) bool {
	for _, e := range es {
		if r, _ := e.Detail["reason"].(string); e.Action == action && strings.Contains(r, reason) && e.Operator == "ven+sup" {
			return true
		}
	}
	return false
}

// TestServiceEnds: each way a session ends, and the reason the log gives.
func TestServiceEnds(t *testing.T) {
	ctx := context.Background()
	t.Run("vendor ends", func(t *testing.T) {
		x := startSvc(t)
		v := x.begin(t)
		if _, err := x.cl.ServiceEnd(ctx, api.ServiceRequest{}); err != nil {
			t.Fatal(err)
		}
		wantEnd(t, x, v.ID, "ended by the vendor")
	})
	t.Run("supervisor ends with a finger", func(t *testing.T) {
		x := startSvc(t)
		v := x.begin(t)
		if _, err := x.cl.ServiceEnd(ctx, api.ServiceRequest{BySupervisor: true, SimFinger: "ven"}); err == nil {
			t.Fatal("the vendor's finger ended the session as the supervisor")
		}
		if _, err := x.cl.ServiceEnd(ctx, api.ServiceRequest{BySupervisor: true, SimFinger: "sup"}); err != nil {
			t.Fatal(err)
		}
		wantEnd(t, x, v.ID, "ended by the supervisor")
		if e := lastStep(t, x.st, v.ID); e.Detail["by"] != "sup" {
			t.Fatalf("ended by %v", e.Detail["by"])
		}
	})
	t.Run("supervisor signs out", func(t *testing.T) {
		x := startSvc(t)
		v := x.begin(t)
		// The supervisor's own session, on their own Unix user, signs out.
		op, _ := x.st.GetOperator(ctx, "sup")
		token := x.srv.sessions.open("sup", os.Getuid()+1, op.Rights)
		req := httptest.NewRequest("POST", "/v1/logout", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req = req.WithContext(context.WithValue(req.Context(), peerKey{}, Peer{UID: os.Getuid() + 1, Known: true}))
		x.srv.logout(httptest.NewRecorder(), req)
		wantEnd(t, x, v.ID, "the supervisor sup signed out")
	})
	t.Run("supervisor's right revoked", func(t *testing.T) {
		x := startSvc(t)
		v := x.begin(t)
		if err := x.st.Revoke(ctx, "sup", store.RoleSupervisor, "admin", "moved", x.clock.now()); err != nil {
			t.Fatal(err)
		}
		// No change is announced to the daemon: the next call finds it.
		if _, err := x.cl.ServiceStatus(ctx); err == nil {
			t.Fatal("the session went on after the supervisor's right was revoked")
		}
		wantEnd(t, x, v.ID, "supervisor sup no longer holds the supervisor right")
	})
	t.Run("supervisor locked out", func(t *testing.T) {
		x := startSvc(t)
		v := x.begin(t)
		for i := 0; i < 60; i++ {
			if l, err := x.st.SignInFailed(ctx, "sup", x.clock.now()); err != nil || l.Disabled {
				break
			}
		}
		if _, err := x.cl.ServiceStatus(ctx); err == nil {
			t.Fatal("the session went on after the supervisor's lockout")
		}
		wantEnd(t, x, v.ID, "supervisor sup is locked out")
	})
	t.Run("vendor signs out", func(t *testing.T) {
		x := startSvc(t)
		v := x.begin(t)
		if err := x.cl.Logout(ctx); err != nil {
			t.Fatal(err)
		}
		wantEnd(t, x, v.ID, "the vendor ven signed out")
	})
	t.Run("vendor signs in again", func(t *testing.T) {
		x := startSvc(t)
		v := x.begin(t)
		x.signIn(t, "ven") // after the idle lock, say: the same person, the same Unix user
		if _, err := x.cl.ServiceStatus(ctx); err != nil {
			t.Fatalf("the session did not go on after the vendor signed in again: %v", err)
		}
		if e := lastStep(t, x.st, v.ID); e.Action == "service.end" {
			t.Fatalf("ended: %+v", e)
		}
	})
	t.Run("another person on the vendor's Unix user", func(t *testing.T) {
		x := startSvc(t)
		v := x.begin(t)
		x.signIn(t, "sup") // replaces the vendor's session
		x.cl.Whoami(ctx)
		wantEnd(t, x, v.ID, "the vendor's session ended")
	})
	t.Run("jukitermd stops", func(t *testing.T) {
		x := startSvc(t)
		v := x.begin(t)
		x.srv.Shutdown(ctx)
		wantEnd(t, x, v.ID, "jukitermd stopped")
	})
	t.Run("restart", func(t *testing.T) {
		x := startSvc(t)
		v := x.begin(t)
		// A new jukitermd on the same identity file: the session is gone, and its end
		// is recorded at start.
		srv := New(x.st, testLogger(t, io.Discard, nil))
		if err := srv.EndInterruptedServices(ctx); err != nil {
			t.Fatal(err)
		}
		wantEndOn(t, x, srv, v.ID, "restarted")
		if err := srv.EndInterruptedServices(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(serviceLog(t, x.st, v.ID)); n != 2 {
			t.Fatalf("%d entries after two starts, want start and one end", n)
		}
	})
}

func wantEnd(t *testing.T, x *svcFix, id, reason string) {
	t.Helper()
	wantEndOn(t, x, x.srv, id, reason)
}

func wantEndOn(t *testing.T, x *svcFix, srv *Server, id, reason string) {
	t.Helper()
	e := lastStep(t, x.st, id)
	if r, _ := e.Detail["reason"].(string); e.Action != "service.end" || !strings.Contains(r, reason) || e.Operator != "ven+sup" {
		t.Fatalf("last entry %s %v, want service.end because %q", e.Action, e.Detail, reason)
	}
	srv.service.mu.Lock()
	defer srv.service.mu.Unlock()
	if srv.service.cur != nil {
		t.Fatal("the session is still running")
	}
}

// TestServiceSurvivesHangUp: a confirmation whose client hangs up while the reader
// waits ends nothing (the checks of the participants do not run on the gone request's
// context).
func TestServiceSurvivesHangUp(t *testing.T) {
	x := startSvc(t)
	v := x.begin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := x.cl.ServiceConfirm(ctx, api.ServiceRequest{}, nil); err == nil {
		t.Fatal("a confirmation without a finger succeeded")
	}
	// The handler goes on after the hang-up until the reader gives up.
	waitUntil(t, func() bool { return lastStep(t, x.st, v.ID).Action == "service.confirm-failed" })
	if _, err := x.cl.ServiceStatus(context.Background()); err != nil {
		t.Fatalf("the session did not survive a client's hang-up: %v (%+v)", err, lastStep(t, x.st, v.ID))
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i > 500 {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// staffRoles is every role but vendor: the tests' all-rights session (a vendor's
// session gets nothing outside a service session).
func staffRoles() []store.Role {
	var out []store.Role
	for _, r := range store.Roles {
		if r != store.RoleVendor {
			out = append(out, r)
		}
	}
	return out
}

// TestServicePausesWithoutACall: the ticker pauses and ends a session whose
// confirmation is overdue, and logs it, while nobody calls.
func TestServicePausesWithoutACall(t *testing.T) {
	defer func(d time.Duration) { serviceTick = d }(serviceTick)
	serviceTick = 20 * time.Millisecond
	x := startSvc(t)
	v := x.begin(t)
	x.clock.set(svcT0.Add(16 * time.Minute))
	waitUntil(t, func() bool { return lastStep(t, x.st, v.ID).Action == "service.pause" })
	x.clock.set(svcT0.Add(21 * time.Minute))
	waitUntil(t, func() bool { return lastStep(t, x.st, v.ID).Action == "service.end" })
	wantEnd(t, x, v.ID, "without the supervisor's confirmation")
}
