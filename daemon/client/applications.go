package client

import (
	"context"
	"net/http"
	"net/url"

	"jukiterm/store"
)

// AddApplication registers an application.
func (c *Client) AddApplication(ctx context.Context, a store.Application) (store.Application, error) {
	var out store.Application
	return out, c.getJSON(ctx, http.MethodPost, "/v1/applications", a, &out)
}

// Applications lists the applications.
func (c *Client) Applications(ctx context.Context) ([]store.Application, error) {
	var out []store.Application
	return out, c.getJSON(ctx, http.MethodGet, "/v1/applications", nil, &out)
}

// CloseApplication closes an application.
func (c *Client) CloseApplication(ctx context.Context, id, reason string) (store.Application, error) {
	var out store.Application
	return out, c.getJSON(ctx, http.MethodPost, "/v1/applications/"+url.PathEscape(id)+"/close", map[string]string{"reason": reason}, &out)
}

// Reconcile reports a period's use per operator and application (dates YYYY-MM-DD).
func (c *Client) Reconcile(ctx context.Context, from, to string) (store.Reconcile, error) {
	var out store.Reconcile
	return out, c.getJSON(ctx, http.MethodPost, "/v1/audit/reconcile", map[string]string{"from": from, "to": to}, &out)
}
