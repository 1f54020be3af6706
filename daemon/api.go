package daemon

import (
	"encoding/json"
	"errors"
	"net/http"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/health", s.guard(actHealth, s.health))
	mux.HandleFunc("POST /v1/ingest", s.guard(actIngest, s.ingest))
	mux.HandleFunc("POST /v1/search", s.guard(actSearch, s.search))
	mux.HandleFunc("GET /v1/persons/{code}", s.guard(actShow, s.show))
	mux.HandleFunc("GET /v1/stats", s.guard(actStats, s.stats))
	mux.HandleFunc("POST /v1/keys/rotate", s.guard(actKeysRotate, s.rotate))
	mux.HandleFunc("POST /v1/backup", s.guard(actBackup, s.backupNow))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &api.Error{Status: http.StatusNotFound, Kind: api.KindNotFound,
			Message: "no such API call: " + r.Method + " " + r.URL.Path + " (client and daemon versions differ?)"})
	})
	return mux
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]string{"status": "serving"})
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	var q store.Query
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		writeError(w, badRequest("the search request is not valid JSON: "+err.Error()))
		return
	}
	if err := q.Normalize(s.store.Prefecture()); err != nil {
		writeError(w, badRequest(err.Error()))
		return
	}
	recs, err := s.store.Search(r.Context(), q)
	if err != nil {
		writeError(w, err)
		return
	}
	s.log.Info("search", "keys", q.Keys(), "application", q.Application, "results", len(recs), "uid", peerOf(r).UID)
	writeJSON(w, recs)
}

func (s *Server) show(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	p, err := s.store.Get(r.Context(), code, r.URL.Query().Get("history") == "true")
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
