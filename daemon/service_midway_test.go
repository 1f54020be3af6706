package daemon

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"jukiterm/daemon/api"
	"jukiterm/daemon/update"
	"jukiterm/store"
)

// TestServiceCallOutlivesItsSession: a vendor's call that began in an active session
// (a long upload, say) and whose session ends while it runs is refused before it
// changes anything, and its result is still in that session's transcript.
func TestServiceCallOutlivesItsSession(t *testing.T) {
	x := startSvc(t)
	v := x.begin(t)
	c := caller{service: v.ID}
	c.Operator = "ven"
	var refused error
	h := x.srv.traced(c, actServiceStatus, func(w http.ResponseWriter, r *http.Request) {
		x.srv.service.mu.Lock()
		x.srv.serviceEnd(r.Context(), "sup", "the supervisor ended it")
		x.srv.service.mu.Unlock()
		if refused = x.srv.recordStage(r, &update.Package{Version: "9.0.0"}); refused != nil {
			writeError(w, refused)
			return
		}
		writeJSON(w, "changed")
	})
	r := httptest.NewRequest("POST", "/v1/service/update/stage", nil)
	r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, c))
	h(httptest.NewRecorder(), r)
	if _, ok := isDenied(refused); !ok {
		t.Fatalf("the call went on after its session ended: %v", refused)
	}
	e := lastStep(t, x.st, v.ID)
	if e.Action != "service.command" || !strings.HasPrefix(e.Detail["result"].(string), "failed (403)") || e.Operator != "ven+sup" {
		t.Fatalf("the call's result is not in the ended session's transcript: %+v", e)
	}
}

// TestSupervisorIsNotAVendor: a staff member who also holds the vendor right cannot
// supervise, at the start or later (the right granted during the session ends it).
func TestSupervisorIsNotAVendor(t *testing.T) {
	x := startSvc(t)
	ctx := context.Background()
	x.rd.enrol(t, 3, "sv2")
	if err := x.st.AddOperator(ctx, "sv2", "Supervisor 2", 3, []store.Role{store.RoleSupervisor, store.RoleVendor}, "admin", "order 13", svcT0); err != nil {
		t.Fatal(err)
	}
	if _, err := x.cl.ServiceStart(ctx, api.ServiceRequest{Supervisor: "sv2", SimFinger: "sv2"}, nil); err == nil {
		t.Fatal("a vendor supervised a service session")
	}
	v := x.begin(t)
	if err := x.st.Grant(ctx, "sup", store.RoleVendor, "admin", "test", nil, svcT0); err != nil {
		t.Fatal(err)
	}
	if _, err := x.cl.ServiceStatus(ctx); err == nil {
		t.Fatal("the session went on with a supervisor who became a vendor")
	}
	if e := lastStep(t, x.st, v.ID); e.Action != "service.end" || !strings.Contains(e.Detail["reason"].(string), "vendor right") {
		t.Fatalf("last step %+v", e)
	}
}
