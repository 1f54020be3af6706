package daemon

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"jukiterm/daemon/api"
)

// TestSupervisorFingerFloodIsBounded: a vendor repeats `service confirm` and then
// `service start` with a finger that is not the supervisor's, 300 times each. The
// supervisor's lockout (a wait after 5 failures) stops the fingers being tried, but
// every attempt used to be logged (service.confirm-failed, service.refused); now the
// attempts share the Unix user's limiter of refused sign-ins: a few are logged one by
// one, the rest are answered "wait" and counted in signin.limited entries.
func TestSupervisorFingerFloodIsBounded(t *testing.T) {
	every := SignInRefusalEvery
	SignInRefusalEvery = 300 * time.Millisecond
	t.Cleanup(func() { SignInRefusalEvery = every })
	x := startSvc(t)
	ctx := context.Background()
	x.begin(t)
	before := x.st.LogSize()
	began := time.Now()
	const attempts = 300
	waited := 0
	flood := func(what string, call func() error) {
		for i := 0; i < attempts; i++ {
			err := call()
			var ae *api.Error
			switch {
			case !errors.As(err, &ae):
				t.Fatalf("%s %d: %v", what, i, err)
			case ae.Status == http.StatusTooManyRequests && strings.Contains(ae.Message, "wait"):
				waited++
			case strings.Contains(ae.Message, "no service session"):
				t.Fatalf("%s %d: the session ended: %v", what, i, err)
			}
		}
	}
	flood("confirm", func() error {
		_, err := x.cl.ServiceConfirm(ctx, api.ServiceRequest{SimFinger: "ven"}, nil)
		return err
	})
	if _, err := x.cl.ServiceEnd(ctx, api.ServiceRequest{}); err != nil {
		t.Fatal(err)
	}
	flood("start", func() error {
		_, err := x.cl.ServiceStart(ctx, api.ServiceRequest{Supervisor: "sup", SimFinger: "ven"}, nil)
		return err
	})
	elapsed := time.Since(began)
	waitSummaries(t, x.fixture, before, "signin.limited")
	es, err := x.st.ReadLog(ctx, before, 5000)
	if err != nil {
		t.Fatal(err)
	}
	oneByOne, summarised := 0, 0
	for _, e := range es {
		switch e.Action {
		case "service.confirm-failed", "service.refused":
			oneByOne++
		case "signin.limited":
			if e.Operator != uidName(os.Getuid()) {
				t.Fatalf("summary: %+v", e)
			}
			summarised += int(e.Detail["refused"].(float64))
		}
	}
	if most := SignInRefusalBurst + int(elapsed/SignInRefusalEvery) + 2; oneByOne > most {
		t.Fatalf("%d refused fingers logged one by one in %s, want at most %d", oneByOne, elapsed, most)
	}
	if oneByOne+summarised != 2*attempts || summarised != waited || summarised == 0 {
		t.Fatalf("%d logged, %d summarised, %d answered wait: want %d in all", oneByOne, summarised, waited, 2*attempts)
	}
}
