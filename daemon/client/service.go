package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"jukiterm/daemon/api"
)

// serviceEvents posts in and reads the streamed prompts up to the session or error.
func (c *Client) serviceEvents(ctx context.Context, path string, in any, prompt func(string)) (api.ServiceSession, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return api.ServiceSession{}, err
	}
	resp, err := c.do(ctx, http.MethodPost, path, bytes.NewReader(b))
	if err != nil {
		return api.ServiceSession{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var ev api.ServiceEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return api.ServiceSession{}, fmt.Errorf("jukitermd's answer could not be read: %w", err)
		}
		switch {
		case ev.Error != nil:
			return api.ServiceSession{}, ev.Error
		case ev.Session != nil:
			return *ev.Session, nil
		case ev.Prompt != "" && prompt != nil:
			prompt(ev.Prompt)
		}
	}
	return api.ServiceSession{}, fmt.Errorf("jukitermd stopped answering before the reader was done (%v): try again", sc.Err())
}

// ServiceStart starts a service session: the signed-in vendor, and the supervisor
// named in req with a finger on the reader.
func (c *Client) ServiceStart(ctx context.Context, req api.ServiceRequest, prompt func(string)) (api.ServiceSession, error) {
	return c.serviceEvents(ctx, "/v1/service/start", req, prompt)
}

// ServiceConfirm confirms the supervisor's presence with their finger.
func (c *Client) ServiceConfirm(ctx context.Context, req api.ServiceRequest, prompt func(string)) (api.ServiceSession, error) {
	return c.serviceEvents(ctx, "/v1/service/confirm", req, prompt)
}

// ServiceEnd ends the service session.
func (c *Client) ServiceEnd(ctx context.Context, req api.ServiceRequest) (api.ServiceSession, error) {
	var v api.ServiceSession
	return v, c.getJSON(ctx, http.MethodPost, "/v1/service/end", req, &v)
}

// ServiceStatus reports the terminal's health (a vendor in a service session).
func (c *Client) ServiceStatus(ctx context.Context) (api.ServiceStatus, error) {
	var v api.ServiceStatus
	return v, c.getJSON(ctx, http.MethodGet, "/v1/service/status", nil, &v)
}

// ServiceLogs returns jukitermd's own log lines since since (RFC 3339; "": all kept).
func (c *Client) ServiceLogs(ctx context.Context, since string) ([]api.LogLine, error) {
	var v []api.LogLine
	path := "/v1/service/logs"
	if since != "" {
		path += "?since=" + url.QueryEscape(since)
	}
	return v, c.getJSON(ctx, http.MethodGet, path, nil, &v)
}

// BackupCheck is the service session's backup verify answer.
type BackupCheck struct {
	Path    string `json:"path"`
	Created string `json:"created"`
	Sound   bool   `json:"sound"`
	Result  string `json:"result"`
}

// ServiceBackupVerify checks the newest backup's signature and manifest.
func (c *Client) ServiceBackupVerify(ctx context.Context) (BackupCheck, error) {
	var v BackupCheck
	return v, c.getJSON(ctx, http.MethodPost, "/v1/service/backup-verify", struct{}{}, &v)
}

// UpdateAnswer describes a verified, staged or activated update package.
type UpdateAnswer struct {
	Version   string `json:"version"`
	Installed string `json:"installed"`
	Signer    string `json:"signer,omitempty"`
	Files     []struct {
		Path   string `json:"path"`
		Mode   uint32 `json:"mode"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	} `json:"files,omitempty"`
	StagedIn string `json:"staged_in,omitempty"`
	Previous string `json:"previous,omitempty"`
	Restart  string `json:"restart,omitempty"`
}

// UpdatePackage sends an update package to verify ("verify") or to verify and stage
// ("stage").
func (c *Client) UpdatePackage(ctx context.Context, op string, pkg io.Reader) (UpdateAnswer, error) {
	var v UpdateAnswer
	resp, err := c.do(ctx, http.MethodPost, "/v1/service/update/"+op, pkg)
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return v, fmt.Errorf("jukitermd's answer could not be read: %w", err)
	}
	return v, nil
}

// UpdateActivate switches to a staged version (an administrator).
func (c *Client) UpdateActivate(ctx context.Context, version string) (UpdateAnswer, error) {
	var v UpdateAnswer
	return v, c.getJSON(ctx, http.MethodPost, "/v1/service/update/activate", map[string]string{"version": version}, &v)
}

// AuditService returns the transcripts of the service sessions (session "": all).
func (c *Client) AuditService(ctx context.Context, session string) ([]api.ServiceTranscript, error) {
	var v []api.ServiceTranscript
	path := "/v1/audit/service"
	if session != "" {
		path += "?session=" + url.QueryEscape(session)
	}
	return v, c.getJSON(ctx, http.MethodGet, path, nil, &v)
}
