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

// operators lists the operators with their rights.
func (s *Server) operators(w http.ResponseWriter, r *http.Request) {
	ops, err := s.store.Operators(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	if ops == nil {
		ops = []store.Operator{}
	}
	writeJSON(w, ops)
}

// ledger returns the rights ledger.
func (s *Server) ledger(w http.ResponseWriter, r *http.Request) {
	l, err := s.store.Ledger(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, l)
}

// inventory takes the yearly inventory of rights and records that it was done.
func (s *Server) inventory(w http.ResponseWriter, r *http.Request) {
	inv, err := s.store.TakeInventory(r.Context(), callerOf(r).Operator, s.sessions.now())
	if err != nil {
		writeError(w, err)
		return
	}
	s.log.Info("rights inventory taken", "operator", callerOf(r).Operator, "rights", len(inv.Rights), "unused", inv.Unused)
	writeJSON(w, inv)
}

// enrol registers a new operator: the finger into a free reader slot, then the
// operator and their roles; a template whose operator could not be recorded is
// removed from the reader again.
func (s *Server) enrol(w http.ResponseWriter, r *http.Request) {
	var req api.EnrolRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	roles, err := parseRoles(req.Roles)
	if err != nil {
		writeError(w, err)
		return
	}
	if req.Again {
		if _, err := s.store.GetOperator(r.Context(), req.Name); err != nil {
			writeError(w, asBadRequest(err))
			return
		}
	}
	if req.Reason == "" {
		writeError(w, badRequest("give the reason for the rights ledger (--reason, e.g. the 辞令 number)"))
		return
	}
	if _, err := s.store.GetOperator(r.Context(), req.Name); err == nil && !req.Again {
		writeError(w, badRequest(fmt.Sprintf("operator %s is registered already (to enrol their finger again: jukiterm operator reenrol)", req.Name)))
		return
	}
	out := newLoginStream(w)
	prompt := func(p string) { out.send(api.LoginEvent{Prompt: p}) }
	actor := callerOf(r).Operator
	var slot uint32
	// The slot is chosen, filled and recorded under the reader claim, so two
	// enrolments cannot pick the same one.
	err = s.useReader(r.Context(), req.SimFinger, true, 3*LoginTimeout, func(ctx context.Context, fr FingerReader) error {
		ops, err := s.store.Operators(ctx)
		if err != nil {
			return err
		}
		slot = 1
		for _, o := range ops {
			if o.Slot != nil && *o.Slot >= slot {
				slot = *o.Slot + 1
			}
		}
		// A template that no operator owns (left by an interrupted enrolment) is
		// removed first.
		fr.Delete(ctx, slot)
		prompt(fmt.Sprintf("%s: place the finger to enrol on the reader, and lift it when asked", req.Name))
		if err := fr.Enroll(ctx, slot, prompt); err != nil {
			return err
		}
		record := func() error {
			return s.store.AddOperator(context.WithoutCancel(ctx), req.Name, req.Display, slot, roles, actor, req.Reason, s.sessions.now())
		}
		if req.Again {
			record = func() error {
				return s.store.SetFinger(context.WithoutCancel(ctx), req.Name, slot, actor, req.Reason, s.sessions.now())
			}
		}
		if err := record(); err != nil {
			if derr := fr.Delete(context.WithoutCancel(ctx), slot); derr != nil {
				s.log.Error("remove an enrolled template whose operator was not recorded", "slot", slot, "err", derr)
			}
			return asBadRequest(err)
		}
		return nil
	})
	if err != nil {
		out.fail(err)
		return
	}
	s.log.Info("operator enrolled", "operator", req.Name, "slot", slot, "by", actor)
	out.send(api.LoginEvent{Done: true})
}

func parseRoles(names []string) ([]store.Role, error) {
	var roles []store.Role
	for _, n := range names {
		r, err := store.ParseRole(n)
		if err != nil {
			return nil, badRequest(err.Error())
		}
		roles = append(roles, r)
	}
	return roles, nil
}

func asBadRequest(err error) error {
	if errors.Is(err, store.ErrBadOperator) || errors.Is(err, store.ErrNoOperator) {
		return badRequest(err.Error())
	}
	return err
}

// rightChange grants or revokes a role, or resets a lockout, and brings the
// operator's live sessions up to date.
func (s *Server) rightChange(kind action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.RightRequest
		if err := decodeJSON(w, r, &req); err != nil {
			writeError(w, err)
			return
		}
		actor, now := callerOf(r).Operator, s.sessions.now()
		var err error
		switch kind {
		case actReset:
			err = s.store.ResetSignIn(r.Context(), req.Operator, actor, req.Reason, now)
		default:
			var role store.Role
			if role, err = store.ParseRole(req.Role); err != nil {
				break
			}
			if kind == actRevoke {
				err = s.store.Revoke(r.Context(), req.Operator, role, actor, req.Reason, now)
				break
			}
			var exp *time.Time
			if req.Expires != "" {
				t, perr := time.ParseInLocation(time.DateOnly, req.Expires, time.Local)
				if perr != nil {
					writeError(w, badRequest("the expiry is not a date YYYY-MM-DD: "+req.Expires))
					return
				}
				exp = &t
			}
			err = s.store.Grant(r.Context(), req.Operator, role, actor, req.Reason, exp, now)
		}
		if err != nil {
			writeError(w, asBadRequest(err))
			return
		}
		if op, err := s.store.GetOperator(r.Context(), req.Operator); err == nil {
			s.sessions.update(op.Name, op.Rights)
			s.serviceChanged(r.Context())
			writeJSON(w, op)
		} else {
			writeError(w, err)
		}
		s.log.Info("rights changed", "change", string(kind), "operator", req.Operator, "role", req.Role, "by", actor)
	}
}
