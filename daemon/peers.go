package daemon

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net/http"

	"jukiterm/store"
)

// The peer ledger's actions (docs/links.md): pinning a CS or the national server is
// administration; the list shows keys and addresses, no personal value.
const (
	actPeerAdd    action = "pin a peer"
	actPeerRemove action = "remove a peer's pin"
	actPeerList   action = "list the pinned peers"
)

func init() {
	routeTable = append(routeTable,
		route{"POST /v1/peers", actPeerAdd, func(s *Server) http.HandlerFunc { return s.addPeer }},
		route{"POST /v1/peers/remove", actPeerRemove, func(s *Server) http.HandlerFunc { return s.removePeer }},
		route{"GET /v1/peers", actPeerList, func(s *Server) http.HandlerFunc { return s.listPeers }},
	)
	policy[actPeerAdd] = []store.Role{store.RoleAdministrator}
	policy[actPeerRemove] = []store.Role{store.RoleAdministrator}
	policy[actPeerList] = []store.Role{store.RoleAdministrator, store.RoleAuditor}
	classOf[actPeerAdd], classOf[actPeerRemove], classOf[actPeerList] = classAdmin, classAdmin, classAdmin
}

// PeerRequest pins a peer from its certificate (PEM).
type PeerRequest struct {
	Role         string `json:"role"`
	Municipality string `json:"municipality,omitempty"`
	Address      string `json:"address,omitempty"`
	CertPEM      string `json:"cert_pem"`
	Reason       string `json:"reason"`
}

// spkiOf reads a PEM certificate: the SHA-256 of its SubjectPublicKeyInfo (the pin)
// and the certificate.
func spkiOf(certPEM string) (string, *x509.Certificate, error) {
	b, _ := pem.Decode([]byte(certPEM))
	if b == nil || b.Type != "CERTIFICATE" {
		return "", nil, errors.New("the file is not a PEM certificate (-----BEGIN CERTIFICATE-----): ask the peer's operator for their link certificate")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return "", nil, errors.New("the certificate cannot be read (" + err.Error() + "): ask the peer's operator for it again")
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:]), c, nil
}

func (s *Server) addPeer(w http.ResponseWriter, r *http.Request) {
	var req PeerRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	spki, cert, err := spkiOf(req.CertPEM)
	if err != nil {
		writeError(w, badRequest(err.Error()))
		return
	}
	now := s.sessions.now()
	if now.After(cert.NotAfter) {
		writeError(w, badRequest("the certificate expired on "+cert.NotAfter.Format("2006-01-02")+": ask the peer's operator for their current one"))
		return
	}
	p := store.Peer{Role: req.Role, Municipality: req.Municipality, Address: req.Address, SPKISHA256: spki,
		NotAfter: cert.NotAfter.UTC(), Reason: req.Reason}
	if err := s.store.AddPeer(r.Context(), p, callerOf(r).Operator, now); err != nil {
		if errors.Is(err, store.ErrPeer) {
			err = badRequest(err.Error())
		}
		writeError(w, err)
		return
	}
	s.log.Info("peer pinned", "peer", store.PeerName(p.Role, p.Municipality), "spki_sha256", spki, "by", callerOf(r).Operator)
	ps, err := s.store.Peers(r.Context(), false)
	if err != nil {
		writeError(w, err)
		return
	}
	for _, x := range ps {
		if x.SPKISHA256 == spki {
			writeJSON(w, x)
			return
		}
	}
	writeError(w, errors.New("the pinned peer is not in the ledger"))
}

func (s *Server) removePeer(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name   string `json:"name"`
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if err := s.store.RemovePeer(r.Context(), req.Name, req.Reason, callerOf(r).Operator, s.sessions.now()); err != nil {
		if errors.Is(err, store.ErrPeer) {
			err = badRequest(err.Error())
		}
		writeError(w, err)
		return
	}
	s.log.Warn("peer unpinned", "peer", req.Name, "by", callerOf(r).Operator)
	writeJSON(w, map[string]string{"removed": req.Name})
}

func (s *Server) listPeers(w http.ResponseWriter, r *http.Request) {
	ps, err := s.store.Peers(r.Context(), r.URL.Query().Get("all") != "")
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, ps)
}
