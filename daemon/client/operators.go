package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// events posts in and reads the streamed prompts (to prompt) up to the final event.
func (c *Client) events(ctx context.Context, path string, in any, prompt func(string)) (api.LoginEvent, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return api.LoginEvent{}, err
	}
	resp, err := c.do(ctx, http.MethodPost, path, bytes.NewReader(b))
	if err != nil {
		return api.LoginEvent{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var ev api.LoginEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return ev, fmt.Errorf("jukitermd's answer could not be read: %w", err)
		}
		switch {
		case ev.Error != nil:
			return ev, ev.Error
		case ev.Session != nil || ev.Done:
			return ev, nil
		case ev.Prompt != "" && prompt != nil:
			prompt(ev.Prompt)
		}
	}
	return api.LoginEvent{}, fmt.Errorf("jukitermd stopped answering before the reader was done (%v): try again", sc.Err())
}

// Login signs an operator in with a finger on the reader; prompt receives what to tell
// the person at the reader. The session's token is in the result.
func (c *Client) Login(ctx context.Context, req api.LoginRequest, prompt func(string)) (api.SessionInfo, error) {
	ev, err := c.events(ctx, "/v1/login", req, prompt)
	if err != nil {
		return api.SessionInfo{}, err
	}
	return *ev.Session, nil
}

// Logout ends the client's session.
func (c *Client) Logout(ctx context.Context) error {
	var v map[string]bool
	return c.getJSON(ctx, http.MethodPost, "/v1/logout", nil, &v)
}

// Whoami describes the client's session.
func (c *Client) Whoami(ctx context.Context) (api.SessionInfo, error) {
	var v api.SessionInfo
	return v, c.getJSON(ctx, http.MethodGet, "/v1/session", nil, &v)
}

// Operators lists the operators with their rights.
func (c *Client) Operators(ctx context.Context) ([]store.Operator, error) {
	var v []store.Operator
	return v, c.getJSON(ctx, http.MethodGet, "/v1/operators", nil, &v)
}

// Enrol registers a new operator, their finger captured on the reader.
func (c *Client) Enrol(ctx context.Context, req api.EnrolRequest, prompt func(string)) error {
	_, err := c.events(ctx, "/v1/operators", req, prompt)
	return err
}

// ChangeRight grants or revokes a role, or resets a lockout: change is "grant",
// "revoke" or "reset".
func (c *Client) ChangeRight(ctx context.Context, change string, req api.RightRequest) (store.Operator, error) {
	var v store.Operator
	return v, c.getJSON(ctx, http.MethodPost, "/v1/rights/"+change, req, &v)
}

// Inventory takes the yearly inventory of rights.
func (c *Client) Inventory(ctx context.Context) (store.Inventory, error) {
	var v store.Inventory
	return v, c.getJSON(ctx, http.MethodPost, "/v1/rights/inventory", nil, &v)
}

// Ledger returns the rights ledger.
func (c *Client) Ledger(ctx context.Context) ([]store.LedgerEntry, error) {
	var v []store.LedgerEntry
	return v, c.getJSON(ctx, http.MethodGet, "/v1/rights/ledger", nil, &v)
}
