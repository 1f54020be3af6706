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

// stream answers with NDJSON events, each flushed at once.
type stream struct {
	enc *json.Encoder
	f   http.Flusher
}

func newStream(w http.ResponseWriter) *stream {
	w.Header().Set("Content-Type", "application/x-ndjson")
	f, _ := w.(http.Flusher)
	return &stream{enc: json.NewEncoder(w), f: f}
}

func (st *stream) send(ev api.LoginEvent) {
	st.enc.Encode(ev)
	if st.f != nil {
		st.f.Flush()
	}
}

func (st *stream) fail(err error) {
	var ae *api.Error
	if !errors.As(err, &ae) {
		ae = &api.Error{Kind: api.KindInternal, Message: err.Error()}
	}
	st.send(api.LoginEvent{Error: ae})
}

// useReader claims the daemon's use of the reader for fn (one at a time), presenting
// simFinger first when asked (simulated hardware only).
func (s *Server) useReader(ctx context.Context, simFinger string, enrol bool, fn func(FingerReader) error) error {
	if s.reader == nil {
		return errUnavailable("this jukitermd has no fingerprint reader configured")
	}
	if simFinger != "" {
		sim, ok := s.reader.(SimFinger)
		if !ok {
			return badRequest("--sim-finger works only with simulated hardware (hardware = \"sim\")")
		}
		s.readerMu.Lock()
		defer s.readerMu.Unlock()
		present := sim.Present
		if enrol {
			present = sim.PresentForEnrol
			defer sim.Lift()
		}
		if err := present(simFinger); err != nil {
			return err
		}
		return fn(s.reader)
	}
	s.readerMu.Lock()
	defer s.readerMu.Unlock()
	return fn(s.reader)
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
// that operator's enrolled template). Failed matches count toward the lockout.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req api.LoginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	now := s.sessions.now()
	op, err := s.store.GetOperator(r.Context(), req.Operator)
	switch {
	case errors.Is(err, store.ErrNoOperator):
		writeError(w, errLogin(fmt.Sprintf("no operator %q is registered on this terminal: check the name, or ask an administrator to enrol you", req.Operator)))
		return
	case err != nil:
		writeError(w, err)
		return
	case op.Slot == nil:
		writeError(w, errLogin(fmt.Sprintf("operator %s has no finger enrolled: ask an administrator to enrol it", op.Name)))
		return
	}
	if _, err := s.store.SignInAllowed(r.Context(), op.Name, now); err != nil {
		s.log.Warn("sign-in refused", "operator", op.Name, "reason", err.Error())
		writeError(w, errLogin(err.Error()))
		return
	}
	out := newStream(w)
	prompt := func(p string) { out.send(api.LoginEvent{Prompt: p}) }
	ctx, cancel := context.WithTimeout(r.Context(), LoginTimeout)
	defer cancel()
	var matched bool
	err = s.useReader(ctx, req.SimFinger, false, func(fr FingerReader) (err error) {
		matched, err = fr.Verify(ctx, *op.Slot, prompt)
		return err
	})
	untrusted := errors.Is(err, ErrReaderUntrusted)
	if untrusted {
		s.log.Error("SECURITY: the fingerprint reader's answer failed its authentication during a sign-in", "operator", op.Name, "err", err)
	}
	if err != nil && !untrusted {
		if errors.Is(err, context.DeadlineExceeded) {
			err = errLogin(fmt.Sprintf("no finger was placed on the reader within %s: run `jukiterm login` again", LoginTimeout))
		}
		s.log.Warn("sign-in did not complete", "operator", op.Name, "err", err)
		out.fail(err)
		return
	}
	if !matched {
		l, err := s.store.SignInFailed(context.WithoutCancel(r.Context()), op.Name, s.sessions.now())
		if err != nil {
			out.fail(err)
			return
		}
		s.log.Warn("sign-in failed: finger not recognised", "operator", op.Name, "failures", l.Failures)
		msg := fmt.Sprintf("the finger was not recognised as %s's (%d failed attempts in a row)", op.Name, l.Failures)
		switch {
		case l.Disabled:
			s.sessions.end(op.Name)
			msg += ": biometric sign-in is now disabled for " + op.Name + "; an administrator must reset it"
		case l.RetryAt != nil:
			msg += fmt.Sprintf(": wait %d s before the next attempt", int(store.RetryDelay.Seconds()))
		default:
			msg += ": try again, with the finger flat on the reader"
		}
		out.fail(errLogin(msg))
		return
	}
	if err := s.store.SignInSucceeded(context.WithoutCancel(r.Context()), op.Name, s.sessions.now()); err != nil {
		out.fail(err)
		return
	}
	token := s.sessions.open(op.Name, peerOf(r).UID, op.Rights)
	s.log.Info("signed in", "operator", op.Name, "uid", peerOf(r).UID)
	info := sessionInfo(op.Name, op.Rights, s.sessions.limits, s.sessions.now())
	info.Token = token
	out.send(api.LoginEvent{Session: &info})
}

func sessionInfo(name string, rights []store.Right, l SessionLimits, signedIn time.Time) api.SessionInfo {
	info := api.SessionInfo{Operator: name, Roles: []string{}, IdleMinutes: int(l.Idle.Minutes()),
		SignedInAt: signedIn.UTC().Format(time.RFC3339)}
	o := store.Operator{Rights: rights}
	for _, r := range o.ActiveRoles(time.Now()) {
		info.Roles = append(info.Roles, string(r))
	}
	return info
}

// logout ends the caller's session (if any).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	ended := s.sessions.close(tokenOf(r))
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
	return nil
}
