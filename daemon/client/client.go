// Package client talks to jukitermd's local API over its Unix socket.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// Client is a connection to one daemon.
type Client struct {
	socket string
	http   *http.Client
	// Token is the session token sent with every call (jukiterm keeps it in a file
	// only its user can read); "" for calls that need no session.
	Token string
}

// New returns a client for the daemon listening on socket.
func New(socket string) *Client {
	return &Client{socket: socket, http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}}
}

// UnreachableError says the daemon could not be reached, and what to do.
type UnreachableError struct {
	Socket string
	Err    error
}

func (e *UnreachableError) Error() string {
	why := "it did not answer"
	switch {
	case errors.Is(e.Err, syscall.ENOENT):
		why = "the socket does not exist"
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		why = "nothing is listening on it"
	case errors.Is(e.Err, syscall.EACCES):
		why = "permission denied: your user may not use it (ask the administrator to add you to the daemon's group)"
	}
	return fmt.Sprintf("cannot reach jukitermd at %s: %s.\nIs the daemon running? Start it with `jukitermd --config FILE` (or `make run`), or point --socket or JUKITERM_SOCKET at its socket.", e.Socket, why)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

func (c *Client) do(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	return c.doHeader(ctx, method, path, body, nil)
}

func (c *Client) doHeader(ctx context.Context, method, path string, body io.Reader, h http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://jukitermd"+path, body)
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" {
			return nil, &UnreachableError{Socket: c.socket, Err: err}
		}
		return nil, fmt.Errorf("talking to jukitermd at %s: %w", c.socket, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		ae := &api.Error{Status: resp.StatusCode}
		if err := json.NewDecoder(resp.Body).Decode(ae); err != nil || ae.Message == "" {
			return nil, fmt.Errorf("jukitermd answered %s", resp.Status)
		}
		return nil, ae
	}
	return resp, nil
}

// callTimeout bounds a call that is not an ingest, so that a daemon that accepts but
// never answers cannot hang the operator's terminal.
const callTimeout = 2 * time.Minute

func (c *Client) getJSON(ctx context.Context, method, path string, in, out any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, callTimeout)
		defer cancel()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	resp, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("jukitermd's answer could not be read: %w", err)
	}
	return nil
}

// Health asks whether the daemon serves.
func (c *Client) Health(ctx context.Context) error {
	var v map[string]string
	return c.getJSON(ctx, http.MethodGet, "/v1/health", nil, &v)
}

// Search runs a search.
func (c *Client) Search(ctx context.Context, q store.Query) ([]store.Person, error) {
	var out []store.Person
	return out, c.getJSON(ctx, http.MethodPost, "/v1/search", q, &out)
}

// Show returns one person, with history when asked.
func (c *Client) Show(ctx context.Context, code string, history bool) (store.Person, error) {
	var p store.Person
	path := "/v1/persons/" + url.PathEscape(code)
	if history {
		path += "?history=true"
	}
	return p, c.getJSON(ctx, http.MethodGet, path, nil, &p)
}

// Stats returns the file's counts.
func (c *Client) Stats(ctx context.Context) (store.Stats, error) {
	var st store.Stats
	return st, c.getJSON(ctx, http.MethodGet, "/v1/stats", nil, &st)
}

// Ingest sends a notification file held in memory (see IngestStream).
func (c *Client) Ingest(ctx context.Context, data []byte, progress func(api.Progress)) (store.IngestResult, error) {
	lines := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		lines++
	}
	return c.IngestStream(ctx, bytes.NewReader(data), store.SourceOf(data), lines, progress)
}

// IngestStream sends a notification file as it reads body, and calls progress after
// each durable batch. sha256 (lower-case hex) names the whole file: jukitermd resumes
// an interrupted ingest of it and checks what it receives against it ("" resumes and
// checks nothing); lines is its number of lines, for progress only. The result counts
// what was applied even when an error says the ingest stopped early.
func (c *Client) IngestStream(ctx context.Context, body io.Reader, sha256 string, lines int, progress func(api.Progress)) (store.IngestResult, error) {
	h := http.Header{}
	if sha256 != "" {
		h.Set(api.HeaderIngestSHA256, sha256)
		h.Set(api.HeaderIngestLines, strconv.Itoa(lines))
	}
	resp, err := c.doHeader(ctx, http.MethodPost, "/v1/ingest", body, h)
	if err != nil {
		return store.IngestResult{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	for sc.Scan() {
		var ev api.IngestEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return store.IngestResult{}, fmt.Errorf("jukitermd's answer could not be read: %w", err)
		}
		if ev.Progress != nil && progress != nil {
			progress(*ev.Progress)
		}
		if ev.Result != nil {
			if ev.Error != nil {
				return *ev.Result, ev.Error
			}
			return *ev.Result, nil
		}
	}
	return store.IngestResult{}, fmt.Errorf("jukitermd stopped answering before the ingest finished (%v): notifications it had committed are applied; run the same ingest again to apply the rest", sc.Err())
}

// RotateKeys starts a storage key rotation (or joins the one under way) and calls
// progress with each report until it ends. The rotation goes on in jukitermd if the
// client stops waiting.
func (c *Client) RotateKeys(ctx context.Context, progress func(api.Rotation)) (api.Rotation, error) {
	resp, err := c.do(ctx, http.MethodPost, "/v1/keys/rotate", nil)
	if err != nil {
		return api.Rotation{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var last api.Rotation
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			return last, fmt.Errorf("jukitermd's answer could not be read: %w", err)
		}
		if progress != nil {
			progress(last)
		}
		if !last.Running {
			if last.Error != "" {
				return last, errors.New(last.Error)
			}
			return last, nil
		}
	}
	return last, fmt.Errorf("jukitermd stopped answering during the key rotation (%v): the rotation goes on in jukitermd, or continues when it starts again; run `jukiterm keys rotate` again to follow it", sc.Err())
}
