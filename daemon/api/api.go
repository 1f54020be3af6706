// Package api holds the local API's wire types shared by jukitermd and its clients.
package api

import "jukiterm/store"

// Error kinds.
const (
	KindBadRequest = "bad_request"
	KindNotFound   = "not_found"
	KindDenied     = "denied"
	KindInternal   = "internal"
	KindShutdown   = "shutting_down"
	KindBusy       = "busy" // another operation that excludes this one is running
)

// Error is the body of every failed API call.
type Error struct {
	Status  int    `json:"-"`
	Kind    string `json:"kind"`
	Message string `json:"error"`
}

func (e *Error) Error() string { return e.Message }

// IngestEvent is one line of the ingest call's streamed answer (NDJSON): progress
// after each durable batch, then one final event with Result, and with Error when the
// ingest stopped early (what Result counts is applied all the same).
type IngestEvent struct {
	Progress *Progress           `json:"progress,omitempty"`
	Result   *store.IngestResult `json:"result,omitempty"`
	Error    *Error              `json:"error,omitempty"`
}

// Progress counts the lines of an ingest that are durable so far.
type Progress struct {
	Lines int `json:"lines"`
	Total int `json:"total"`
}

// Rotation says how a storage key rotation stands: the rotate call streams these
// (NDJSON) until Running is false.
type Rotation struct {
	Running    bool   `json:"running"`
	Done       int64  `json:"done"`
	Total      int64  `json:"total"`
	Finished   bool   `json:"finished"`
	Error      string `json:"error,omitempty"`
	StartedAt  string `json:"started_at,omitempty"`
	FinishedAt string `json:"finished_at,omitempty"`
}
