package client

import (
	"context"
	"fmt"
	"net/http"
	"time"

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

// AuditProve returns the inclusion proof of entry idx in the whole log.
func (c *Client) AuditProve(ctx context.Context, idx int64) (store.InclusionProof, error) {
	var p store.InclusionProof
	return p, c.getJSON(ctx, http.MethodGet, fmt.Sprintf("/v1/audit/prove/%d", idx), nil, &p)
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
