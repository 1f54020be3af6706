package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"jukiterm/store"
)

// The service (保守) session: a vendor works on the terminal only while a supervisor,
// another person, is present and confirms it with a finger on the reader every
// Presence. A missed confirmation pauses the session at once; after Grace paused it
// ends. The session is checked on every call at the authorisation point (serviceGate),
// and on a ticker, against the clock and the participants' current rights, lockouts
// and sessions. It lives in memory only: a restart of jukitermd ends it.

// ServiceTiming is how often the supervisor confirms, and how long a paused session
// waits for the confirmation before it ends.
type ServiceTiming struct {
	Presence time.Duration // default 15 min (service_presence_minutes)
	Grace    time.Duration // default 5 min (service_grace_minutes)
}

// ServiceStartTimeout is how long `service start` waits for the supervisor's finger.
var ServiceStartTimeout = 60 * time.Second

// serviceTick is how often a running service session is checked without a call.
var serviceTick = 5 * time.Second

// serviceSession is the running service session.
type serviceSession struct {
	ID         string
	Vendor     string
	Supervisor string
	VendorUID  int
	Started    time.Time
	Confirmed  time.Time // the last confirmation (the start is the first)
	Paused     bool
}

// operator is the name the session's entries are logged under: both people.
func (v *serviceSession) operator() string { return v.Vendor + "+" + v.Supervisor }

// due is when the next confirmation is due; the session pauses then.
func (v *serviceSession) due(t ServiceTiming) time.Time { return v.Confirmed.Add(t.Presence) }

// serviceDesk is the server's service-mode state (one field of Server).
type serviceDesk struct {
	mu     sync.Mutex
	cur    *serviceSession
	timing ServiceTiming
	probe  ServiceProbe // service_status.go
	ring   *LogRing     // logring.go
	update UpdateConfig // update_api.go
}

// SetServiceTiming sets the presence interval and the grace of a paused session
// (before Serve); zero values keep the defaults.
func (s *Server) SetServiceTiming(t ServiceTiming) {
	s.service.mu.Lock()
	defer s.service.mu.Unlock()
	s.service.timing = t
}

func (s *Server) serviceTiming() ServiceTiming {
	t := s.service.timing
	if t.Presence <= 0 {
		t.Presence = 15 * time.Minute
	}
	if t.Grace <= 0 {
		t.Grace = 5 * time.Minute
	}
	return t
}

func newServiceID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "S-" + hex.EncodeToString(b)
}

// holds tells whether rights give role at now.
func holds(rights []store.Right, role store.Role, now time.Time) bool {
	return slices.ContainsFunc(rights, func(r store.Right) bool { return r.Role == role && r.Active(now) })
}

// serviceLog records a step of the service session under both names. The caller holds
// s.service.mu.
func (s *Server) serviceLog(ctx context.Context, v *serviceSession, action string, detail map[string]any) error {
	d := map[string]any{"session": v.ID, "vendor": v.Vendor, "supervisor": v.Supervisor}
	for k, x := range detail {
		d[k] = x
	}
	if _, err := s.store.Log(context.WithoutCancel(ctx), store.Entry{Operator: v.operator(), Action: action, Detail: d}); err != nil {
		s.log.Error("the operation log could not record a step of a service session", "action", action, "session", v.ID, "err", err)
		return err
	}
	return nil
}

// serviceEnd ends the running session with reason. The caller holds s.service.mu.
func (s *Server) serviceEnd(ctx context.Context, by, reason string) {
	v := s.service.cur
	if v == nil {
		return
	}
	s.service.cur = nil
	s.log.Warn("service session ended", "session", v.ID, "vendor", v.Vendor, "supervisor", v.Supervisor, "by", by, "reason", reason)
	s.serviceLog(ctx, v, "service.end", map[string]any{"by": by, "reason": reason})
}

// serviceReview brings the running session up to date at now: it ends when a
// participant can no longer take part, pauses when a confirmation is overdue, and ends
// when the pause outlasts the grace. The caller holds s.service.mu.
//
// When the participants cannot be read (the identity file failing), nothing ends and
// the error is returned: the caller refuses the call (fail closed).
func (s *Server) serviceReview(ctx context.Context, now time.Time) error {
	ctx = context.WithoutCancel(ctx) // a caller that hangs up ends nothing
	v := s.service.cur
	if v == nil {
		return nil
	}
	reason, err := s.serviceParticipants(ctx, v, now)
	if err != nil {
		s.log.Error("the service session's participants could not be checked", "session", v.ID, "err", err)
		return err
	}
	if reason != "" {
		s.serviceEnd(ctx, "jukitermd", reason)
		return nil
	}
	t := s.serviceTiming()
	due := v.due(t)
	switch {
	case !now.Before(due.Add(t.Grace)):
		if !v.Paused {
			v.Paused = true
			s.serviceLog(ctx, v, "service.pause", map[string]any{"due": due.UTC().Format(time.RFC3339),
				"reason": fmt.Sprintf("supervisor %s did not confirm presence by %s", v.Supervisor, due.Local().Format("15:04:05"))})
		}
		s.serviceEnd(ctx, "jukitermd", fmt.Sprintf("paused for %s without the supervisor's confirmation", t.Grace))
	case !now.Before(due) && !v.Paused:
		v.Paused = true
		s.log.Warn("service session paused: the supervisor's confirmation is overdue", "session", v.ID, "supervisor", v.Supervisor)
		s.serviceLog(ctx, v, "service.pause", map[string]any{"due": due.UTC().Format(time.RFC3339),
			"reason": fmt.Sprintf("supervisor %s did not confirm presence by %s", v.Supervisor, due.Local().Format("15:04:05"))})
	}
	return nil
}

// serviceParticipants says why the session cannot go on ("" if it can): the vendor
// signed out, either person removed, locked out or without their right. An error says
// they could not be read.
func (s *Server) serviceParticipants(ctx context.Context, v *serviceSession, now time.Time) (string, error) {
	if !s.sessions.signedIn(v.Vendor, v.VendorUID) {
		return "the vendor's session ended (signed out, expired or replaced)", nil
	}
	for _, p := range []struct {
		name, who string
		role      store.Role
	}{{v.Vendor, "vendor", store.RoleVendor}, {v.Supervisor, "supervisor", store.RoleSupervisor}} {
		op, err := s.store.GetOperator(ctx, p.name)
		switch {
		case errors.Is(err, store.ErrNoOperator):
			return fmt.Sprintf("the %s %s was removed from the operators", p.who, p.name), nil
		case err != nil:
			return "", fmt.Errorf("read the %s %s from the operator list: %w", p.who, p.name, err)
		case op.Disabled:
			return fmt.Sprintf("the %s %s is locked out of sign-in", p.who, p.name), nil
		case !holds(op.Rights, p.role, now):
			return fmt.Sprintf("the %s %s no longer holds the %s right (revoked or expired)", p.who, p.name, p.role), nil
		case p.role == store.RoleSupervisor && holds(op.Rights, store.RoleVendor, now):
			return fmt.Sprintf("the supervisor %s now holds the vendor right too: a supervisor must be staff, not a vendor", p.name), nil
		}
	}
	return "", nil
}

// signedIn tells whether operator has a session on uid that is not past its life.
func (ss *sessions) signedIn(operator string, uid int) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	for _, s := range ss.byHash {
		if s.Operator == operator && s.UID == uid && now.Sub(s.Created) <= ss.limits.Max {
			return true
		}
	}
	return false
}

// serviceGate is the service mode's part of the authorisation point, after the session
// is found usable and before the roles are checked. A session whose operator holds
// the vendor right gets whoami and `service start` outside a service session; in an
// active one the maintenance actions; in a paused one only confirm and end. Whatever
// else the vendor holds is refused. It returns the service session's id when the call
// is a step of one (to be logged with its result).
func (s *Server) serviceGate(ctx context.Context, sess Session, a action) (string, error) {
	now := s.sessions.now()
	s.service.mu.Lock()
	defer s.service.mu.Unlock()
	if !holds(sess.Rights, store.RoleVendor, now) {
		s.serviceReview(ctx, now) // due pauses and ends are logged on anyone's call
		return "", nil
	}
	if err := s.serviceReview(ctx, now); err != nil {
		return "", errUnavailable("the service session's participants could not be checked, so the call is refused: " + err.Error() + "; try again, and tell the administrator if it goes on")
	}
	v := s.service.cur
	mine := v != nil && v.Vendor == sess.Operator && v.VendorUID == sess.UID
	refuse := func(msg string) (string, error) {
		if mine {
			s.serviceLog(ctx, v, "service.refused", map[string]any{"action": string(a), "reason": msg})
		}
		return "", errDenied(msg)
	}
	switch {
	case a == actWhoami:
		return "", nil
	case !mine && a == actServiceStart:
		return "", nil
	case !mine:
		return refuse(fmt.Sprintf("operator %s holds the vendor (保守) right, and a vendor may do nothing on this terminal outside a supervised service session (not even what other rights allow): start one with `jukiterm service start --supervisor NAME`, the supervisor's finger on the reader within %s",
			sess.Operator, ServiceStartTimeout))
	case v.Paused && !serviceSteps[a]:
		t := s.serviceTiming()
		return refuse(fmt.Sprintf("the service session %s is paused: supervisor %s did not confirm presence by %s. %s must confirm now with `jukiterm service confirm` (finger on the reader); at %s the session ends",
			v.ID, v.Supervisor, v.due(t).Local().Format("15:04:05"), v.Supervisor, v.due(t).Add(t.Grace).Local().Format("15:04:05")))
	case classOf[a] != classMaintenance:
		return refuse(fmt.Sprintf("in the service session %s only maintenance is allowed, and to %s is %s: it is refused to a vendor whatever other rights they hold. End the service session (`jukiterm service end`) and have a member of staff do it",
			v.ID, a, classOf[a]))
	}
	return v.ID, nil
}

// serviceSignedOut ends the running session when one of its people signs out.
func (s *Server) serviceSignedOut(ctx context.Context, operator string) {
	s.service.mu.Lock()
	defer s.service.mu.Unlock()
	if v := s.service.cur; v != nil && (operator == v.Vendor || operator == v.Supervisor) {
		who := "vendor"
		if operator == v.Supervisor {
			who = "supervisor"
		}
		s.serviceEnd(ctx, operator, fmt.Sprintf("the %s %s signed out", who, operator))
	}
}

// serviceChanged reviews the running session after a change of rights or a lockout.
func (s *Server) serviceChanged(ctx context.Context) {
	s.service.mu.Lock()
	defer s.service.mu.Unlock()
	s.serviceReview(ctx, s.sessions.now())
}

// serviceWatch reviews the session on a ticker until it ends or the server stops, so
// that a pause or an end is logged when it happens, without waiting for a call.
func (s *Server) serviceWatch(id string) {
	t := time.NewTicker(serviceTick)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.service.mu.Lock()
		s.serviceReview(s.ctx, s.sessions.now())
		gone := s.service.cur == nil || s.service.cur.ID != id
		s.service.mu.Unlock()
		if gone {
			return
		}
	}
}
