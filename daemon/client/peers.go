package client

import (
	"context"
	"net/http"

	"jukiterm/store"
)

// PeerRequest pins a peer from its certificate (PEM).
type PeerRequest struct {
	Role         string `json:"role"`
	Municipality string `json:"municipality,omitempty"`
	Address      string `json:"address,omitempty"`
	CertPEM      string `json:"cert_pem"`
	Reason       string `json:"reason"`
}

// AddPeer pins a peer.
func (c *Client) AddPeer(ctx context.Context, p PeerRequest) (store.Peer, error) {
	var out store.Peer
	return out, c.getJSON(ctx, http.MethodPost, "/v1/peers", p, &out)
}

// RemovePeer removes a peer's pin.
func (c *Client) RemovePeer(ctx context.Context, name, reason string) error {
	var out map[string]string
	return c.getJSON(ctx, http.MethodPost, "/v1/peers/remove", map[string]string{"name": name, "reason": reason}, &out)
}

// Peers lists the pinned peers (and the removed ones with all).
func (c *Client) Peers(ctx context.Context, all bool) ([]store.Peer, error) {
	var out []store.Peer
	path := "/v1/peers"
	if all {
		path += "?all=1"
	}
	return out, c.getJSON(ctx, http.MethodGet, path, nil, &out)
}

// NationalSearch asks the national server (機構への照会).
func (c *Client) NationalSearch(ctx context.Context, q store.Query) ([]store.Person, error) {
	var out []store.Person
	return out, c.getJSON(ctx, http.MethodPost, "/v1/national/search", q, &out)
}

// LinkStatus is the links' state.
func (c *Client) LinkStatus(ctx context.Context, out any) error {
	return c.getJSON(ctx, http.MethodGet, "/v1/links", nil, out)
}

// LinkCert is this terminal's link certificate (PEM) and its key's fingerprint.
func (c *Client) LinkCert(ctx context.Context) (pem, fingerprint string, err error) {
	var out map[string]string
	err = c.getJSON(ctx, http.MethodGet, "/v1/links/cert", nil, &out)
	return out["cert_pem"], out["spki_sha256"], err
}
