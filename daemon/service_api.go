package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// newServiceStream answers service start and confirm.
func newServiceStream(w http.ResponseWriter) *stream[api.ServiceEvent] {
	return newStream(w, func(e *api.Error) api.ServiceEvent { return api.ServiceEvent{Error: e} })
}

func (s *Server) serviceInfo(v *serviceSession) api.ServiceSession {
	t := s.serviceTiming()
	f := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	return api.ServiceSession{ID: v.ID, Vendor: v.Vendor, Supervisor: v.Supervisor, Started: f(v.Started),
		Confirmed: f(v.Confirmed), NextDue: f(v.due(t)), EndsAt: f(v.due(t).Add(t.Grace)), Paused: v.Paused}
}

// supervisorAttempt lets the caller's Unix user try a supervisor's finger, or says how
// long to wait: the attempts share the per-uid limiter of refused sign-ins
// (signinlimit.go), so a flood of wrong fingers or refused names at `service start`,
// `confirm` or `end --supervisor` is answered "wait" without an entry each and counted
// in one signin.limited entry. Call it before the attempt, and nothing is logged when it
// refuses.
func (s *Server) supervisorAttempt(r *http.Request) error {
	uid := peerOf(r).UID
	wait, first, due := s.refusals.take(uid)
	if due != nil {
		s.reportLimited(*due)
	}
	if wait == 0 {
		return nil
	}
	if first {
		s.log.Warn("too many refused supervisor confirmations from one Unix user: further attempts are refused untried and counted in one signin.limited entry",
			"uid", uid, "wait", wait)
	}
	return &api.Error{Status: http.StatusTooManyRequests, Kind: api.KindLoginFailed,
		Message: fmt.Sprintf("too many refused sign-ins and supervisor fingers from this Unix user in a short time: wait %d s, then run the command again with the supervisor's own finger on the reader", int(wait.Seconds()))}
}

// supervisorFinger checks that name is a supervisor who may take part now and that
// their finger is on the reader (1:1, within ServiceStartTimeout). A finger that does
// not match counts toward name's sign-in lockout, as a failed sign-in does, and every
// refusal uses up one of the caller's Unix user's refused sign-ins (supervisorAttempt).
func (s *Server) supervisorFinger(r *http.Request, name, simFinger string, prompt func(string)) error {
	err := s.supervisorCheck(r.Context(), name, simFinger, prompt)
	if err != nil {
		s.refusals.refused(peerOf(r).UID)
	}
	return err
}

func (s *Server) supervisorCheck(ctx context.Context, name, simFinger string, prompt func(string)) error {
	op, err := s.signInTarget(ctx, name)
	if err != nil {
		return err
	}
	if !holds(op.Rights, store.RoleSupervisor, s.sessions.now()) {
		return errDenied(fmt.Sprintf("operator %s does not hold the supervisor right, so cannot supervise a service session: ask an administrator to grant it, or ask a supervisor", name))
	}
	if holds(op.Rights, store.RoleVendor, s.sessions.now()) {
		return errDenied(fmt.Sprintf("operator %s holds the vendor right, so cannot supervise a service session: a supervisor is a staff member who is not a vendor; ask another supervisor", name))
	}
	var matched bool
	err = s.useReader(ctx, simFinger, false, ServiceStartTimeout, func(ctx context.Context, fr FingerReader) error {
		prompt(fmt.Sprintf("%s (supervisor): place your finger on the reader", name))
		var err error
		matched, err = fr.Verify(ctx, *op.Slot, prompt)
		if errors.Is(err, ErrReaderUntrusted) {
			s.log.Error("SECURITY: the fingerprint reader's answer failed its authentication during a supervisor's confirmation", "operator", name, "err", err)
			matched, err = false, nil
		}
		if err != nil || matched {
			return err
		}
		l, err := s.store.SignInFailed(context.WithoutCancel(ctx), name, s.sessions.now())
		if err != nil {
			return err
		}
		if l.Disabled {
			s.sessions.end(name)
		}
		return errLogin(fmt.Sprintf("the finger was not recognised as supervisor %s's (%d failed attempts in a row): the supervisor places their own finger flat on the reader and the command is run again", name, l.Failures))
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return errLogin(fmt.Sprintf("supervisor %s's finger was not placed on the reader within %s: run the command again with the supervisor at the reader", name, ServiceStartTimeout))
	}
	return err
}

// serviceStart: the signed-in vendor asks, and the supervisor, another person,
// presents their finger on the same reader.
func (s *Server) serviceStart(w http.ResponseWriter, r *http.Request) {
	var req api.ServiceRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	c := callerOf(r)
	name, _, long := cleanName(req.Supervisor)
	finger, _, fingerLong := cleanName(req.SimFinger)
	switch {
	case name == "" || long:
		writeError(w, badRequest("name the supervisor who is present: `jukiterm service start --supervisor NAME`"))
		return
	case fingerLong:
		writeError(w, badRequest("the --sim-finger name is too long: give the name of a simulated finger"))
		return
	case name == c.Operator:
		writeError(w, errDenied(fmt.Sprintf("%s cannot supervise their own service session: another person, holding the supervisor right, must be present", name)))
		return
	}
	s.service.mu.Lock()
	running := s.service.cur
	s.service.mu.Unlock()
	if running != nil {
		writeError(w, &api.Error{Status: http.StatusConflict, Kind: api.KindBusy,
			Message: fmt.Sprintf("a service session is running already (%s: vendor %s, supervisor %s): end it first with `jukiterm service end`", running.ID, running.Vendor, running.Supervisor)})
		return
	}
	if err := s.supervisorAttempt(r); err != nil {
		writeError(w, err)
		return
	}
	out := newServiceStream(w)
	prompt := func(p string) { out.send(api.ServiceEvent{Prompt: p}) }
	if err := s.supervisorFinger(r, name, finger, prompt); err != nil {
		s.log.Warn("service session not started", "vendor", c.Operator, "supervisor", name, "err", err)
		s.record(r, "service.refused", map[string]any{"action": string(actServiceStart), "vendor": c.Operator, "supervisor": name, "reason": err.Error()})
		out.fail(err)
		return
	}
	now := s.sessions.now()
	s.service.mu.Lock()
	defer s.service.mu.Unlock()
	if s.service.cur != nil {
		out.fail(&api.Error{Status: http.StatusConflict, Kind: api.KindBusy, Message: "another service session started meanwhile: end it first with `jukiterm service end`"})
		return
	}
	v := &serviceSession{ID: newServiceID(), Vendor: c.Operator, Supervisor: name, VendorUID: c.UID, Started: now, Confirmed: now}
	if err := s.serviceLog(r.Context(), v, "service.start", map[string]any{"uid": c.UID,
		"presence_minutes": int(s.serviceTiming().Presence.Minutes()), "grace_minutes": int(s.serviceTiming().Grace.Minutes())}); err != nil {
		out.fail(&api.Error{Status: http.StatusServiceUnavailable, Kind: api.KindInternal,
			Message: "the operation log could not record the service session's start, so it was not started: " + err.Error() + "; tell the administrator"})
		return
	}
	s.service.cur = v
	s.log.Info("service session started", "session", v.ID, "vendor", v.Vendor, "supervisor", v.Supervisor)
	go s.serviceWatch(v.ID)
	info := s.serviceInfo(v)
	out.send(api.ServiceEvent{Session: &info})
}

// serviceParty returns the running session if the caller is its vendor or its
// supervisor, and which of them.
func (s *Server) serviceParty(c caller) (*serviceSession, string, error) {
	v := s.service.cur
	switch {
	case v == nil:
		return nil, "", &api.Error{Status: http.StatusConflict, Kind: api.KindBadRequest,
			Message: "no service session is running (it ended: `jukiterm service status` or the auditor's `jukiterm audit service` say why); start one with `jukiterm service start --supervisor NAME`"}
	case c.Operator == v.Vendor && c.UID == v.VendorUID:
		return v, "vendor", nil
	case c.Operator == v.Supervisor:
		return v, "supervisor", nil
	}
	return nil, "", errDenied(fmt.Sprintf("%s takes no part in the running service session %s: only its vendor %s or its supervisor %s can confirm or end it", c.Operator, v.ID, v.Vendor, v.Supervisor))
}

// serviceConfirm: the supervisor confirms their presence with a finger; a paused
// session goes on.
func (s *Server) serviceConfirm(w http.ResponseWriter, r *http.Request) {
	var req api.ServiceRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	finger, _, fingerLong := cleanName(req.SimFinger)
	if fingerLong {
		writeError(w, badRequest("the --sim-finger name is too long: give the name of a simulated finger"))
		return
	}
	s.service.mu.Lock()
	v, _, err := s.serviceParty(callerOf(r))
	var id, sup string
	if v != nil {
		id, sup = v.ID, v.Supervisor
	}
	s.service.mu.Unlock()
	if err == nil {
		err = s.supervisorAttempt(r)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	out := newServiceStream(w)
	prompt := func(p string) { out.send(api.ServiceEvent{Prompt: p}) }
	ferr := s.supervisorFinger(r, sup, finger, prompt)
	s.service.mu.Lock()
	defer s.service.mu.Unlock()
	now := s.sessions.now()
	if err := s.serviceReview(r.Context(), now); err != nil {
		out.fail(errUnavailable("the service session's participants could not be checked, so the confirmation is refused: " + err.Error() + "; try again"))
		return
	}
	v = s.service.cur
	if v == nil || v.ID != id {
		out.fail(&api.Error{Status: http.StatusConflict, Kind: api.KindBadRequest,
			Message: "the service session ended before the confirmation: start a new one with `jukiterm service start --supervisor NAME`"})
		return
	}
	if ferr != nil {
		s.serviceLog(r.Context(), v, "service.confirm-failed", map[string]any{"reason": ferr.Error()})
		out.fail(ferr)
		return
	}
	step := "service.confirm"
	if v.Paused {
		step = "service.resume"
	}
	v.Confirmed, v.Paused = now, false
	s.serviceLog(r.Context(), v, step, nil)
	info := s.serviceInfo(v)
	out.send(api.ServiceEvent{Session: &info})
}

// serviceEndCall: the vendor or the supervisor ends the session; at the vendor's
// terminal the supervisor ends it with their finger (by_supervisor).
func (s *Server) serviceEndCall(w http.ResponseWriter, r *http.Request) {
	var req api.ServiceRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	c := callerOf(r)
	s.service.mu.Lock()
	v, who, err := s.serviceParty(c)
	s.service.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	by := c.Operator
	if req.BySupervisor && who == "vendor" {
		finger, _, long := cleanName(req.SimFinger)
		if long {
			writeError(w, badRequest("the --sim-finger name is too long: give the name of a simulated finger"))
			return
		}
		if err := s.supervisorAttempt(r); err != nil {
			writeError(w, err)
			return
		}
		if err := s.supervisorFinger(r, v.Supervisor, finger, func(string) {}); err != nil {
			writeError(w, err)
			return
		}
		who, by = "supervisor", v.Supervisor
	}
	s.service.mu.Lock()
	defer s.service.mu.Unlock()
	if cur := s.service.cur; cur == nil || cur.ID != v.ID {
		writeError(w, &api.Error{Status: http.StatusConflict, Kind: api.KindBadRequest, Message: "the service session has ended already"})
		return
	}
	info := s.serviceInfo(v)
	s.serviceEnd(r.Context(), by, fmt.Sprintf("ended by the %s", who))
	info.Ended = true
	writeJSON(w, info)
}
