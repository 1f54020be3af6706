package daemon

import (
	"encoding/json"
	"errors"
	"net/http"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// route is one API call: every one passes the authorisation point with its action.
type route struct {
	pattern string
	act     action
	handler func(s *Server) http.HandlerFunc
}

// routeTable lists every API call.
var routeTable = []route{
	{"GET /v1/health", actHealth, func(s *Server) http.HandlerFunc { return s.health }},
	{"POST /v1/ingest", actIngest, func(s *Server) http.HandlerFunc { return s.ingest }},
	{"POST /v1/search", actSearch, func(s *Server) http.HandlerFunc { return s.search }},
	{"GET /v1/persons/{code}", actShow, func(s *Server) http.HandlerFunc { return s.show }},
	{"GET /v1/stats", actStats, func(s *Server) http.HandlerFunc { return s.stats }},
	{"POST /v1/keys/rotate", actKeysRotate, func(s *Server) http.HandlerFunc { return s.rotate }},
	{"POST /v1/backup", actBackup, func(s *Server) http.HandlerFunc { return s.backupNow }},
	{"POST /v1/login", actLogin, func(s *Server) http.HandlerFunc { return s.login }},
	{"POST /v1/logout", actLogout, func(s *Server) http.HandlerFunc { return s.logout }},
	{"GET /v1/session", actWhoami, func(s *Server) http.HandlerFunc { return s.whoami }},
	{"GET /v1/operators", actOperators, func(s *Server) http.HandlerFunc { return s.operators }},
	{"POST /v1/operators", actEnrol, func(s *Server) http.HandlerFunc { return s.enrol }},
	{"GET /v1/rights/ledger", actLedger, func(s *Server) http.HandlerFunc { return s.ledger }},
	{"POST /v1/rights/inventory", actInventory, func(s *Server) http.HandlerFunc { return s.inventory }},
	{"POST /v1/rights/grant", actGrant, func(s *Server) http.HandlerFunc { return s.rightChange(actGrant) }},
	{"POST /v1/rights/revoke", actRevoke, func(s *Server) http.HandlerFunc { return s.rightChange(actRevoke) }},
	{"POST /v1/rights/reset", actReset, func(s *Server) http.HandlerFunc { return s.rightChange(actReset) }},
	{"POST /v1/audit/verify", actAuditVerify, func(s *Server) http.HandlerFunc { return s.auditVerify }},
	{"POST /v1/audit/lookup", actAuditLookup, func(s *Server) http.HandlerFunc { return s.auditLookup }},
	{"GET /v1/audit/prove/{index}", actAuditProve, func(s *Server) http.HandlerFunc { return s.auditProve }},
	{"GET /v1/audit/consistency", actAuditProve, func(s *Server) http.HandlerFunc { return s.auditConsistency }},
	{"POST /v1/audit/reconcile", actReconcile, func(s *Server) http.HandlerFunc { return s.reconcile }},
	{"POST /v1/audit/export", actAuditExport, func(s *Server) http.HandlerFunc { return s.auditExport }},
	{"POST /v1/applications", actAppAdd, func(s *Server) http.HandlerFunc { return s.addApplication }},
	{"GET /v1/applications", actAppList, func(s *Server) http.HandlerFunc { return s.listApplications }},
	{"POST /v1/applications/{id}/close", actAppClose, func(s *Server) http.HandlerFunc { return s.closeApplication }},
	{"GET /v1/media", actMediaList, func(s *Server) http.HandlerFunc { return s.listMedia }},
	{"POST /v1/media/register", actMediaChange, func(s *Server) http.HandlerFunc { return s.mediaChange("register") }},
	{"POST /v1/media/issue", actMediaChange, func(s *Server) http.HandlerFunc { return s.mediaChange("issue") }},
	{"POST /v1/media/return", actMediaChange, func(s *Server) http.HandlerFunc { return s.mediaChange("return") }},
	{"POST /v1/media/retire", actMediaChange, func(s *Server) http.HandlerFunc { return s.mediaChange("retire") }},
	{"POST /v1/recipients", actRecipientAdd, func(s *Server) http.HandlerFunc { return s.addRecipient }},
	{"GET /v1/recipients", actRecipientList, func(s *Server) http.HandlerFunc { return s.listRecipients }},
	{"POST /v1/provisions", actProvision, func(s *Server) http.HandlerFunc { return s.provisionRun }},
	{"GET /v1/provisions", actProvisionList, func(s *Server) http.HandlerFunc { return s.listProvisions }},
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routeTable {
		mux.HandleFunc(rt.pattern, s.guard(rt.act, rt.handler(s)))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close") // its body is not waited for
		writeError(w, &api.Error{Status: http.StatusNotFound, Kind: api.KindNotFound,
			Message: "no such API call: " + r.Method + " " + r.URL.Path + " (client and daemon versions differ?)"})
	})
	return bounded(mux)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]string{"status": "serving"})
}

// searchRequest reads a search's query (local or national), normalised, and the
// state of the application it names.
func (s *Server) searchRequest(w http.ResponseWriter, r *http.Request) (store.Query, string, error) {
	var q store.Query
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return q, "", badRequest("the search request is not valid JSON: " + err.Error())
	}
	if err := readToEnd(dec); err != nil {
		return q, "", err
	}
	if err := q.Normalize(s.store.Prefecture()); err != nil {
		return q, "", badRequest(err.Error())
	}
	appState, err := s.applicationState(r, q.Application)
	return q, appState, err
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	q, appState, err := s.searchRequest(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	recs, err := s.store.Search(r.Context(), q)
	if err != nil {
		writeError(w, err)
		return
	}
	codes := make([]string, len(recs))
	for i, rec := range recs {
		codes[i] = rec.ResidentCode
	}
	detail := map[string]any{"keys": q.Keys(), "results": len(recs), "application": q.Application, "application_state": appState,
		"municipality": q.Municipality, "sex": q.Sex, "include_removed": q.IncludeRemoved}
	if err := s.record(r, "search", detail, q.Keyed(codes)...); err != nil {
		writeError(w, err)
		return
	}
	s.log.Info("search", "keys", q.Keys(), "application", q.Application, "results", len(recs), "uid", peerOf(r).UID)
	writeJSON(w, recs)
}

func (s *Server) show(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	history := r.URL.Query().Get("history") == "true"
	p, err := s.store.Get(r.Context(), code, history)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		writeError(w, err)
		return
	}
	// A look-up that finds nobody is recorded as well as one that shows a record.
	keyed := []store.Keyed{{Field: "resident_code", Value: code}}
	var changed *store.ChangedCodeError
	if errors.As(err, &changed) { // the answer names the current code: it is shown
		keyed = append(keyed, store.Keyed{Field: "result_resident_code", Value: changed.New})
	}
	if lerr := s.record(r, "view", map[string]any{"history": history, "found": found, "former_code": changed != nil},
		keyed...); lerr != nil {
		writeError(w, lerr)
		return
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, p)
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	st, err := s.store.Stats(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, st)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func badRequest(msg string) error {
	return &api.Error{Status: http.StatusBadRequest, Kind: api.KindBadRequest, Message: msg}
}

func errSignIn(msg string) error {
	return &api.Error{Status: http.StatusUnauthorized, Kind: api.KindSignIn, Message: msg}
}

func errDenied(msg string) error {
	return &api.Error{Status: http.StatusForbidden, Kind: api.KindDenied, Message: msg}
}

// writeError answers with the error as an api.Error; store errors keep their meaning.
func writeError(w http.ResponseWriter, err error) {
	var ae *api.Error
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, store.ErrNotFound):
		ae = &api.Error{Status: http.StatusNotFound, Kind: api.KindNotFound, Message: err.Error()}
	case errors.Is(err, store.ErrBadQuery):
		ae = &api.Error{Status: http.StatusBadRequest, Kind: api.KindBadRequest, Message: err.Error()}
	default:
		ae = &api.Error{Status: http.StatusInternalServerError, Kind: api.KindInternal,
			Message: "jukitermd could not complete the request: " + err.Error()}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ae.Status)
	json.NewEncoder(w).Encode(ae)
}
