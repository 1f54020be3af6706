package daemon

import (
	"errors"
	"net/http"
	"time"

	"jukiterm/store"
)

// ReconcileRequest names the period of an audit reconciliation (dates YYYY-MM-DD,
// local; To is the last day included).
type ReconcileRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// period returns the instants the request's days span: from the start of From to the
// start of the day after To.
func (q ReconcileRequest) period() (from, to time.Time, err error) {
	from, err1 := time.ParseInLocation(time.DateOnly, q.From, time.Local)
	last, err2 := time.ParseInLocation(time.DateOnly, q.To, time.Local)
	if err1 != nil || err2 != nil || last.Before(from) {
		return from, to, badRequest("give --from and --to as dates YYYY-MM-DD, --to not before --from")
	}
	return from, last.AddDate(0, 0, 1), nil
}

// CloseRequest gives the reason an application is closed.
type CloseRequest struct {
	Reason string `json:"reason"`
}

func appError(err error) error {
	if errors.Is(err, store.ErrBadApplication) || errors.Is(err, store.ErrNoApplication) {
		return badRequest(err.Error())
	}
	return err
}

func (s *Server) addApplication(w http.ResponseWriter, r *http.Request) {
	var a store.Application
	if err := decodeJSON(w, r, &a); err != nil {
		writeError(w, err)
		return
	}
	if err := s.store.AddApplication(r.Context(), a, callerOf(r).Operator, s.sessions.now()); err != nil {
		writeError(w, appError(err))
		return
	}
	got, err := s.store.GetApplication(r.Context(), a.ID)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, got)
}

func (s *Server) listApplications(w http.ResponseWriter, r *http.Request) {
	apps, err := s.store.Applications(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, apps)
}

func (s *Server) closeApplication(w http.ResponseWriter, r *http.Request) {
	var req CloseRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	id := r.PathValue("id")
	if err := s.store.CloseApplication(r.Context(), id, callerOf(r).Operator, req.Reason, s.sessions.now()); err != nil {
		writeError(w, appError(err))
		return
	}
	got, err := s.store.GetApplication(r.Context(), id)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, got)
}

// reconcile reports a period's searches and views per operator and application.
func (s *Server) reconcile(w http.ResponseWriter, r *http.Request) {
	var req ReconcileRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	from, to, err := req.period()
	if err != nil {
		writeError(w, err)
		return
	}
	rep, err := s.store.Reconcile(r.Context(), store.ReconcileOptions{From: from, To: to})
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.record(r, "audit.reconcile", map[string]any{"from": req.From, "to": req.To,
		"no_application": len(rep.NoApplication), "bad_application": len(rep.BadApplication),
		"out_of_hours": len(rep.OutOfHours), "unusual_volume": len(rep.UnusualVolume)}); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, rep)
}

// applicationState checks the application a search names: unknown is refused; its
// state ("valid", "expired", …, or "none") goes to the operation log.
func (s *Server) applicationState(r *http.Request, id string) (string, error) {
	if id == "" {
		return "none", nil
	}
	a, err := s.store.GetApplication(r.Context(), id)
	if err != nil {
		return "", appError(err)
	}
	return a.StateAt(s.sessions.now(), time.Local), nil
}
