package daemon

import (
	"context"
	"net/http"

	"jukiterm/daemon/api"
	"jukiterm/daemon/link/national"
	"jukiterm/daemon/link/peerstate"
	"jukiterm/store"
	"jukiterm/store/record"
)

// The links' actions (docs/links.md).
const (
	actLinkStatus     action = "read the links' status"
	actLinkCert       action = "read this terminal's link certificate"
	actNationalSearch action = "search at the national server"
)

func init() {
	routeTable = append(routeTable,
		route{"GET /v1/links", actLinkStatus, func(s *Server) http.HandlerFunc { return s.linkStatus }},
		route{"GET /v1/links/cert", actLinkCert, func(s *Server) http.HandlerFunc { return s.linkCert }},
		route{"POST /v1/national/search", actNationalSearch, func(s *Server) http.HandlerFunc { return s.nationalSearch }},
	)
	policy[actLinkStatus] = []store.Role{store.RoleAdministrator, store.RoleAuditor}
	policy[actLinkCert] = []store.Role{store.RoleAdministrator, store.RoleAuditor}
	policy[actNationalSearch] = []store.Role{store.RoleOperator}
	classOf[actLinkStatus], classOf[actLinkCert] = classAdmin, classAdmin
	classOf[actNationalSearch] = classPersonal
}

// Links is what the local API needs of the links: their state, this terminal's link
// certificate, and the national query.
type Links struct {
	Status   *peerstate.Status
	Cert     func() (pem []byte, fingerprint string, err error)
	National func(ctx context.Context, q store.Query) ([]record.Record, error)
	// NationalMany asks many queries at once (a bulk provision's not found); nil
	// answers when no national server is pinned.
	NationalMany func(ctx context.Context, qs []store.Query) ([]national.Answer, error)
}

// SetLinks wires the links (before Serve).
func (s *Server) SetLinks(l Links) { s.links = l }

func (s *Server) linkStatus(w http.ResponseWriter, r *http.Request) {
	var st api.LinkStatus
	var err error
	if st.Peers, err = s.store.Peers(r.Context(), false); err != nil {
		writeError(w, err)
		return
	}
	if st.Outbox, err = s.store.Outbox(r.Context()); err != nil {
		writeError(w, err)
		return
	}
	st.CS = map[string]uint64{}
	for _, p := range st.Peers {
		if p.Role == store.PeerCS {
			if st.CS[p.Name], err = s.store.CSLastSeq(r.Context(), p.Municipality); err != nil {
				writeError(w, err)
				return
			}
		}
	}
	st.Links = []peerstate.View{}
	if s.links.Status != nil {
		st.Links = s.links.Status.All()
	}
	writeJSON(w, st)
}

func (s *Server) linkCert(w http.ResponseWriter, r *http.Request) {
	if s.links.Cert == nil {
		writeError(w, errUnavailable("this jukitermd has no link certificate (links are not set up)"))
		return
	}
	pem, fp, err := s.links.Cert()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, map[string]string{"cert_pem": string(pem), "spki_sha256": fp})
}

// nationalSearch asks the national server (機構への照会) for persons this prefecture does
// not hold: logged as a local search is, with its keys and the answer's codes keyed,
// under an application; the answer is shown and never stored.
func (s *Server) nationalSearch(w http.ResponseWriter, r *http.Request) {
	q, appState, err := s.searchRequest(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	if s.links.National == nil {
		writeError(w, errUnavailable("the national server is not linked to this jukitermd"))
		return
	}
	recs, qerr := s.links.National(r.Context(), q)
	codes := make([]string, len(recs))
	for i, rec := range recs {
		codes[i] = rec.ResidentCode
	}
	detail := map[string]any{"keys": q.Keys(), "results": len(recs), "application": q.Application, "application_state": appState,
		"national": true, "answered": qerr == nil}
	if err := s.record(r, "search.national", detail, q.Keyed(codes)...); err != nil {
		writeError(w, err)
		return
	}
	if qerr != nil {
		s.log.Warn("national query failed", "err", qerr)
		writeError(w, errUnavailable("the national server did not answer the query: "+qerr.Error()+". Try again later; if it persists, tell the administrator (`jukiterm link status`)"))
		return
	}
	s.log.Info("national search", "keys", q.Keys(), "application", q.Application, "results", len(recs), "uid", peerOf(r).UID)
	writeJSON(w, recs)
}
