package client

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// AuditVerify has the daemon verify the operation log, against the exported
// checkpoint from (nil: the newest in its export directory).
func (c *Client) AuditVerify(ctx context.Context, from []byte) (store.Report, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Hour) // 10 million entries take about a minute
	defer cancel()
	var rep store.Report
	return rep, c.getJSON(ctx, http.MethodPost, "/v1/audit/verify", from, &rep)
}

// AuditLookup tells where a personal value appears in the operation log.
func (c *Client) AuditLookup(ctx context.Context, value string) ([]store.LookupHit, error) {
	var hits []store.LookupHit
	return hits, c.getJSON(ctx, http.MethodPost, "/v1/audit/lookup", map[string]string{"value": value}, &hits)
}

// AuditProve returns the inclusion proof of entry idx in the tree of size entries
// (0: the newest exported checkpoint's size), with the exported checkpoint of it.
func (c *Client) AuditProve(ctx context.Context, idx, size int64) (api.InclusionAnswer, error) {
	var p api.InclusionAnswer
	path := fmt.Sprintf("/v1/audit/prove/%d", idx)
	if size > 0 {
		path += fmt.Sprintf("?size=%d", size)
	}
	return p, c.getJSON(ctx, http.MethodGet, path, nil, &p)
}

// AuditConsistency returns the consistency proof from the tree of oldSize entries to
// that of newSize (0: the newest exported checkpoint's size), with both roots and the
// exported checkpoints of those sizes.
func (c *Client) AuditConsistency(ctx context.Context, oldSize, newSize int64) (api.ConsistencyAnswer, error) {
	var p api.ConsistencyAnswer
	path := fmt.Sprintf("/v1/audit/consistency?old=%d", oldSize)
	if newSize > 0 {
		path += fmt.Sprintf("&new=%d", newSize)
	}
	return p, c.getJSON(ctx, http.MethodGet, path, nil, &p)
}

// AuditExport has the daemon write an encrypted, signed archive of a period's entries
// (dates YYYY-MM-DD) and returns its file and number of entries.
func (c *Client) AuditExport(ctx context.Context, from, to string) (string, int, error) {
	var out struct {
		File    string `json:"file"`
		Entries int    `json:"entries"`
	}
	err := c.getJSON(ctx, http.MethodPost, "/v1/audit/export", map[string]string{"from": from, "to": to}, &out)
	return out.File, out.Entries, err
}
