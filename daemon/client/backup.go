package client

import (
	"context"
	"net/http"
	"time"

	"jukiterm/daemon/backup"
)

// backupTimeout bounds a backup call: a large file takes minutes, not hours.
const backupTimeout = time.Hour

// Backup asks the daemon to make a backup now and returns what it made.
func (c *Client) Backup(ctx context.Context) (backup.Result, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, backupTimeout)
		defer cancel()
	}
	var res backup.Result
	return res, c.getJSON(ctx, http.MethodPost, "/v1/backup", nil, &res)
}
