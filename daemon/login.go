package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// stream answers with NDJSON events of type E (sign-in, enrolment and service-session
// events), each flushed at once; failed makes the event that carries an error.
type stream[E any] struct {
	enc    *json.Encoder
	f      http.Flusher
	failed func(*api.Error) E
}

func newStream[E any](w http.ResponseWriter, failed func(*api.Error) E) *stream[E] {
	w.Header().Set("Content-Type", "application/x-ndjson")
	f, _ := w.(http.Flusher)
	return &stream[E]{enc: json.NewEncoder(w), f: f, failed: failed}
}

func (st *stream[E]) send(ev E) {
	st.enc.Encode(ev)
	if st.f != nil {
		st.f.Flush()
	}
}

func (st *stream[E]) fail(err error) {
	var ae *api.Error
	if !errors.As(err, &ae) {
		ae = &api.Error{Kind: api.KindInternal, Message: err.Error()}
	}
	st.send(st.failed(ae))
}

// newLoginStream answers a sign-in or an enrolment.
func newLoginStream(w http.ResponseWriter) *stream[api.LoginEvent] {
	return newStream(w, func(e *api.Error) api.LoginEvent { return api.LoginEvent{Error: e} })
}

// useReader claims the daemon's use of the reader for fn (one at a time; a caller
// waits for the claim until ctx ends, and is refused at once when MaxReaderWaiters
// wait already), presenting simFinger first when asked
// (simulated hardware only). fn gets the reader and a context that starts its own
// timeout (limit) only once the claim is held.
func (s *Server) useReader(ctx context.Context, simFinger string, enrol bool, limit time.Duration, fn func(context.Context, FingerReader) error) error {
	if s.reader == nil {
		return errUnavailable("this jukitermd has no fingerprint reader configured")
	}
	var sim SimFinger
	if simFinger != "" {
		var ok bool
		if sim, ok = s.reader.(SimFinger); !ok {
			return badRequest("--sim-finger works only with simulated hardware (hardware = \"sim\")")
		}
	}
	busy := &api.Error{Status: http.StatusConflict, Kind: api.KindBusy,
		Message: "the fingerprint reader is busy with other sign-ins or an enrolment: wait a moment and try again"}
	defer s.readerUse.Add(-1)
	if s.readerUse.Add(1) > int32(1+MaxReaderWaiters) {
		return busy // refused at once: the queue for the reader is full
	}
	select {
	case s.readerSem <- struct{}{}:
		defer func() { <-s.readerSem }()
	case <-ctx.Done():
		return busy
	}
	if sim != nil {
		present := sim.Present
		if enrol {
			present = sim.PresentForEnrol
			defer sim.Lift()
		}
		if err := present(simFinger); err != nil {
			return err
		}
	}
	octx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	return fn(octx, s.reader)
}

// errLogin is a sign-in attempt that did not succeed (unknown operator, lockout, finger
// not recognised): unlike the authorisation point's refusals, it is the answer of the
// sign-in call itself.
func errLogin(msg string) error {
	return &api.Error{Status: http.StatusUnauthorized, Kind: api.KindLoginFailed, Message: msg}
}

func errUnavailable(msg string) error {
	return &api.Error{Status: http.StatusServiceUnavailable, Kind: api.KindInternal, Message: msg}
}

// login signs an operator in with a finger on the reader (1:1: the finger must match
// that operator's enrolled template). Attempts are serialised on the reader claim, and
// the lockout is checked under it, so parallel attempts cannot pass one check
// together; failed matches count toward the lockout before the answer is given.
// Refused attempts are limited per Unix user (signinlimit.go), and what the request
// names is cut and cleaned before it reaches a log (names.go).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req api.LoginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	uid := peerOf(r).UID
	wait, first, due := s.refusals.take(uid)
	if due != nil {
		s.reportLimited(*due)
	}
	if wait > 0 {
		if first {
			s.log.Warn("too many refused sign-ins from one Unix user: further attempts are refused untried and counted in one signin.limited entry",
				"uid", uid, "wait", wait)
		}
		writeError(w, &api.Error{Status: http.StatusTooManyRequests, Kind: api.KindLoginFailed,
			Message: fmt.Sprintf("too many refused sign-ins from this Unix user in a short time: wait %d s, then check the operator name and try again", int(wait.Seconds()))})
		return
	}
	name, runes, long := cleanName(req.Operator)
	finger, fingerRunes, fingerLong := cleanName(req.SimFinger)
	refuse := func(err error) error {
		s.refusals.refused(uid)
		if lerr := s.record(r, "signin.refused", map[string]any{"operator": name, "reason": err.Error()}); lerr != nil {
			return lerr
		}
		return err
	}
	switch {
	case long:
		writeError(w, refuse(errLogin(fmt.Sprintf("the operator name given is %d characters long, and names longer than %d are refused without a look-up: operator names have at most 32 characters; check the name",
			runes, MaxNameRunes))))
		return
	case fingerLong:
		writeError(w, refuse(errLogin(fmt.Sprintf("the --sim-finger name given is %d characters long, and names longer than %d are refused: give the name of a simulated finger",
			fingerRunes, MaxNameRunes))))
		return
	}
	if _, err := s.signInTarget(r.Context(), name); err != nil {
		writeError(w, refuse(err))
		return
	}
	out := newLoginStream(w)
	prompt := func(p string) { out.send(api.LoginEvent{Prompt: p}) }
	var op store.Operator
	var matched, untrusted, counted bool
	err := s.useReader(r.Context(), finger, false, LoginTimeout, func(ctx context.Context, fr FingerReader) error {
		var err error
		if op, err = s.signInTarget(ctx, name); err != nil {
			return err
		}
		matched, err = fr.Verify(ctx, *op.Slot, prompt)
		if untrusted = errors.Is(err, ErrReaderUntrusted); untrusted {
			s.log.Error("SECURITY: the fingerprint reader's answer failed its authentication during a sign-in", "operator", op.Name, "err", err)
			err = nil
		}
		if err != nil || matched {
			return err
		}
		// Counted before the claim is released: the next attempt sees it.
		l, err := s.store.SignInFailed(context.WithoutCancel(ctx), op.Name, s.sessions.now())
		if err != nil {
			return err
		}
		counted = true // and logged with the counter
		s.log.Warn("sign-in failed: finger not recognised", "operator", op.Name, "failures", l.Failures, "untrusted_reader_answer", untrusted)
		msg := fmt.Sprintf("the finger was not recognised as %s's (%d failed attempts in a row)", op.Name, l.Failures)
		if untrusted {
			msg = fmt.Sprintf("the reader's answer could not be trusted and counts as a failed attempt (%d in a row); report it to an administrator", l.Failures)
		}
		switch {
		case l.Disabled:
			s.sessions.end(op.Name)
			defer s.serviceChanged(context.WithoutCancel(ctx))
			msg += ": biometric sign-in is now disabled for " + op.Name + "; " + askAdmin(op.Rights, s.sessions.now()) + " must reset it (`jukiterm rights reset " + op.Name + " --reason …`)"
		case l.RetryAt != nil:
			msg += fmt.Sprintf(": wait %d s before the next attempt", int(store.RetryDelay.Seconds()))
		default:
			msg += ": try again, with the finger flat on the reader"
		}
		return errLogin(msg)
	})
	if err == nil {
		err = s.openSession(r, op.Name, out)
	}
	if err == nil {
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = errLogin(fmt.Sprintf("no finger was placed on the reader within %s: run `%s` again", LoginTimeout, s.loginCommand(name)))
	}
	s.log.Warn("sign-in did not complete", "operator", name, "err", err)
	// Failed matches are in the log already (with the counter); the other ways an
	// attempt ends are recorded here.
	if counted {
		s.refusals.refused(uid)
	} else {
		refuse(err)
	}
	out.fail(err)
}

// signInTarget returns the operator to sign in, or why they may not try now.
func (s *Server) signInTarget(ctx context.Context, name string) (store.Operator, error) {
	op, err := s.store.GetOperator(ctx, name)
	switch {
	case errors.Is(err, store.ErrNoOperator):
		return op, errLogin(fmt.Sprintf("no operator %q is registered on this terminal: check the name, or ask an administrator to enrol you", name))
	case err != nil:
		return op, err
	case op.Slot == nil:
		return op, errLogin(fmt.Sprintf("operator %s has no finger enrolled on this terminal's reader: ask %s to enrol it", op.Name, askAdmin(op.Rights, s.sessions.now())))
	}
	if _, err := s.store.SignInAllowed(ctx, op.Name, s.sessions.now()); err != nil {
		s.log.Warn("sign-in refused", "operator", op.Name, "reason", err.Error())
		return op, errLogin(err.Error())
	}
	return op, nil
}

// openSession records the success and opens the session with the operator's rights
// as they are now (a revocation during the wait at the reader applies).
func (s *Server) openSession(r *http.Request, name string, out *stream[api.LoginEvent]) error {
	ctx := context.WithoutCancel(r.Context())
	if err := s.store.SignInSucceeded(ctx, name, s.sessions.now()); err != nil {
		return err
	}
	op, err := s.store.GetOperator(ctx, name)
	if err != nil {
		return err
	}
	token := s.sessions.open(op.Name, peerOf(r).UID, op.Rights)
	s.log.Info("signed in", "operator", op.Name, "uid", peerOf(r).UID)
	info := sessionInfo(op.Name, op.Rights, s.sessions.limits, s.sessions.now())
	info.Token = token
	out.send(api.LoginEvent{Session: &info})
	return nil
}

func sessionInfo(name string, rights []store.Right, l SessionLimits, signedIn time.Time) api.SessionInfo {
	info := api.SessionInfo{Operator: name, Roles: []string{}, IdleMinutes: int(l.Idle.Minutes()),
		SignedInAt: signedIn.UTC().Format(time.RFC3339)}
	o := store.Operator{Rights: rights}
	for _, r := range o.ActiveRoles(signedIn) {
		info.Roles = append(info.Roles, string(r))
	}
	return info
}

// logout ends the caller's session (if any).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if sess, state := s.sessions.check(tokenOf(r), peerOf(r).UID); state != sessionNone {
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, caller{Session: sess}))
	}
	ended, foreign := s.sessions.close(tokenOf(r), peerOf(r).UID)
	if foreign {
		// Another Unix user's token: it ends nothing, and the answer is the same as for
		// an unknown token (it tells nothing about the session).
		s.log.Warn("request denied", "action", string(actLogout), "uid", peerOf(r).UID, "pid", peerOf(r).PID,
			"reason", "the token is another Unix user's session")
		if !s.logDenial(caller{}, peerOf(r).UID) {
			// Beyond the rate limit: counted in an access.limited entry.
		} else if err := s.record(r, "access.denied", map[string]any{"action": string(actLogout), "uid": peerOf(r).UID,
			"reason": "the session token presented belongs to another Unix user: nothing was ended"}); err != nil {
			s.log.Error("a refused sign-out not recorded", "err", err)
		}
	}
	if ended {
		if err := s.record(r, "signout", nil); err != nil {
			s.log.Error("sign-out not recorded", "err", err)
		}
		s.serviceSignedOut(r.Context(), callerOf(r).Operator)
	}
	writeJSON(w, map[string]bool{"signed_out": ended})
}

// whoami describes the caller's session.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	writeJSON(w, sessionInfo(c.Operator, c.Rights, s.sessions.limits, c.Created))
}

// decodeJSON reads a small JSON request body strictly.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("the request is not valid JSON for this call: " + err.Error())
	}
	return readToEnd(dec)
}
