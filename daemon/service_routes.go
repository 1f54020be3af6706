package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// The service session's API calls, added to the route table (api.go).
func init() {
	routeTable = append(routeTable,
		route{"POST /v1/service/start", actServiceStart, func(s *Server) http.HandlerFunc { return s.serviceStart }},
		route{"POST /v1/service/confirm", actServiceConfirm, func(s *Server) http.HandlerFunc { return s.serviceConfirm }},
		route{"POST /v1/service/end", actServiceEnd, func(s *Server) http.HandlerFunc { return s.serviceEndCall }},
		route{"GET /v1/service/status", actServiceStatus, func(s *Server) http.HandlerFunc { return s.serviceStatus }},
		route{"GET /v1/service/logs", actServiceLogs, func(s *Server) http.HandlerFunc { return s.serviceLogs }},
		route{"POST /v1/service/backup-verify", actBackupVerify, func(s *Server) http.HandlerFunc { return s.backupVerify }},
		route{"POST /v1/service/update/verify", actUpdateVerify, func(s *Server) http.HandlerFunc { return s.updateVerify }},
		route{"POST /v1/service/update/stage", actUpdateStage, func(s *Server) http.HandlerFunc { return s.updateStage }},
		route{"POST /v1/service/update/activate", actUpdateActivate, func(s *Server) http.HandlerFunc { return s.updateActivate }},
		route{"GET /v1/audit/service", actAuditService, func(s *Server) http.HandlerFunc { return s.auditService }},
	)
}

// statusWriter keeps a response's status and the start of an error's body.
type statusWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status >= 400 && w.body.Len() < 4096 {
		w.body.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// traced wraps the handler of a call made in a service session so that the command
// and its result go to the operation log under both names. The session's own steps
// (start, confirm, end) log themselves.
func (s *Server) traced(c caller, a action, h http.HandlerFunc) http.HandlerFunc {
	if c.service == "" || serviceSteps[a] || a == actServiceStart || a == actWhoami {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		s.service.mu.Lock()
		v := s.service.cur // the session the call began in: its result is logged there
		s.service.mu.Unlock()
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		result := "done"
		if x := sw.Header().Get(resultHeader); x != "" && sw.status < 400 {
			result += ": " + x
		}
		if sw.status >= 400 {
			var ae api.Error
			result = fmt.Sprintf("failed (%d)", sw.status)
			if json.Unmarshal(sw.body.Bytes(), &ae) == nil && ae.Message != "" {
				result += ": " + ae.Message
			}
		}
		if v != nil && v.ID == c.service { // also when the session paused or ended meanwhile
			s.serviceLog(r.Context(), v, "service.command", map[string]any{"action": string(a), "call": r.Method + " " + r.URL.Path, "result": result})
		}
	}
}

// liveSession is the caller's service session if it is still active: a vendor's call
// is checked again just before it changes anything (a long upload may outlive its
// session), as the gate checked it when the call began. The caller holds s.service.mu.
func (s *Server) liveSession(c caller) (*serviceSession, error) {
	if v := s.service.cur; v != nil && v.ID == c.service && !v.Paused {
		return v, nil
	}
	return nil, errDenied("the service session paused or ended while this call ran, so nothing was done: the supervisor confirms (`jukiterm service confirm`) or a new session starts, then send it again")
}

// serviceLookback bounds how far back EndInterruptedServices looks: a service session
// lasts at most as long as the vendor's session (session_max_hours, at most 24).
const serviceLookback = 48 * time.Hour

// EndInterruptedServices records the end of every service session that the log shows
// started and not ended: jukitermd stopped (or restarted, or was killed) during it,
// which ends it. jukitermd calls it at start, before it serves.
func (s *Server) EndInterruptedServices(ctx context.Context) error {
	// Back from the newest entry, not from now: jukitermd may have been down for days.
	newest := s.sessions.now()
	if n := s.store.LogSize(); n > 0 {
		last, err := s.store.ReadLog(ctx, n-1, 1)
		if err != nil {
			return err
		}
		if len(last) == 1 && last[0].At.Before(newest) {
			newest = last[0].At
		}
	}
	es, err := s.store.ServiceEntriesSince(ctx, newest.Add(-serviceLookback))
	if err != nil {
		return err
	}
	open := map[string]store.LogEntry{}
	var order []string
	for _, e := range es {
		id, _ := e.Detail["session"].(string)
		switch e.Action {
		case "service.start":
			open[id] = e
			order = append(order, id)
		case "service.end":
			delete(open, id)
		}
	}
	for _, id := range order {
		e, ok := open[id]
		if !ok {
			continue
		}
		d := map[string]any{"session": id, "vendor": e.Detail["vendor"], "supervisor": e.Detail["supervisor"],
			"by": "jukitermd", "reason": "jukitermd stopped or restarted during the session: a service session does not survive a restart"}
		if _, err := s.store.Log(ctx, store.Entry{Operator: e.Operator, Action: "service.end", Detail: d}); err != nil {
			return err
		}
		s.log.Warn("a service session interrupted by a stop of jukitermd is recorded as ended", "session", id)
	}
	return nil
}

// serviceStopped ends the running service session as jukitermd shuts down.
func (s *Server) serviceStopped() {
	s.service.mu.Lock()
	defer s.service.mu.Unlock()
	s.serviceEnd(context.Background(), "jukitermd", "jukitermd stopped: a service session does not survive a stop or restart")
}

// auditService returns the transcripts of the service sessions (?session=ID: one),
// from the service entries alone (store.ServiceEntries, through their own index).
func (s *Server) auditService(w http.ResponseWriter, r *http.Request) {
	es, err := s.store.ServiceEntries(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	want := r.URL.Query().Get("session")
	out := []api.ServiceTranscript{}
	at := map[string]int{}
	for _, e := range es {
		id, _ := e.Detail["session"].(string)
		if id == "" || (want != "" && id != want) {
			continue // a refused start has no session yet
		}
		i, ok := at[id]
		if !ok {
			v, _ := e.Detail["vendor"].(string)
			sup, _ := e.Detail["supervisor"].(string)
			out = append(out, api.ServiceTranscript{Session: id, Vendor: v, Supervisor: sup, Steps: []api.ServiceStep{}})
			i = len(out) - 1
			at[id] = i
		}
		t := &out[i]
		step := api.ServiceStep{Index: e.Index, At: e.At.Format(time.RFC3339), Step: e.Action, Operator: e.Operator}
		for _, k := range []string{"action", "result", "reason", "by", "version"} {
			if x, ok := e.Detail[k]; ok {
				step.Detail = append(step.Detail, fmt.Sprintf("%s=%v", k, x))
			}
		}
		switch e.Action {
		case "service.start":
			t.Started = step.At
		case "service.end":
			t.Ended, t.EndReason = step.At, fmt.Sprint(e.Detail["reason"])
		}
		t.Steps = append(t.Steps, step)
	}
	if want != "" && len(out) == 0 {
		writeError(w, &api.Error{Status: http.StatusNotFound, Kind: api.KindNotFound,
			Message: fmt.Sprintf("no service session %s in the operation log: `jukiterm audit service` lists them all", want)})
		return
	}
	writeJSON(w, out)
}
