package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// Media returns the issued-media ledger and the sticks connected now.
func (c *Client) Media(ctx context.Context) (api.MediaList, error) {
	var out api.MediaList
	return out, c.getJSON(ctx, http.MethodGet, "/v1/media", nil, &out)
}

// ChangeMedium registers, issues, returns or retires a medium (change is one of those).
func (c *Client) ChangeMedium(ctx context.Context, change string, req api.MediaRequest) (store.Medium, error) {
	var out store.Medium
	return out, c.getJSON(ctx, http.MethodPost, "/v1/media/"+url.PathEscape(change), req, &out)
}

// AddRecipient registers a recipient.
func (c *Client) AddRecipient(ctx context.Context, r store.Recipient) (store.Recipient, error) {
	var out store.Recipient
	return out, c.getJSON(ctx, http.MethodPost, "/v1/recipients", r, &out)
}

// Recipients lists the recipients.
func (c *Client) Recipients(ctx context.Context) ([]store.Recipient, error) {
	var out []store.Recipient
	return out, c.getJSON(ctx, http.MethodGet, "/v1/recipients", nil, &out)
}

// Provisions lists the provisions made ("" application: all).
func (c *Client) Provisions(ctx context.Context, application string) ([]store.ProvisionRecord, error) {
	var out []store.ProvisionRecord
	return out, c.getJSON(ctx, http.MethodGet, "/v1/provisions?application="+url.QueryEscape(application), nil, &out)
}

// ProvisionError is a refused or failed provision, with the request file's bad rows
// when it was refused whole.
type ProvisionError struct {
	Err      *api.Error
	Problems []api.RequestProblem
}

func (e *ProvisionError) Error() string { return e.Err.Message }
func (e *ProvisionError) Unwrap() error { return e.Err }

// Provision runs a bulk provision and calls progress as it goes.
func (c *Client) Provision(ctx context.Context, req api.ProvisionRequest, progress func(api.ProvisionProgress)) (api.ProvisionResult, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return api.ProvisionResult{}, err
	}
	resp, err := c.do(ctx, http.MethodPost, "/v1/provisions", bytes.NewReader(body))
	if err != nil {
		return api.ProvisionResult{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var ev api.ProvisionEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return api.ProvisionResult{}, fmt.Errorf("jukitermd's answer could not be read: %w", err)
		}
		switch {
		case ev.Progress != nil && progress != nil:
			progress(*ev.Progress)
		case ev.Error != nil:
			return api.ProvisionResult{}, &ProvisionError{Err: ev.Error, Problems: ev.Problems}
		case ev.Result != nil:
			return *ev.Result, nil
		}
	}
	return api.ProvisionResult{}, fmt.Errorf("jukitermd stopped answering before the provision finished (%v): check `jukiterm provision list`; a provision not listed as written left no valid output on the medium", sc.Err())
}
