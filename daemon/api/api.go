// Package api holds the local API's wire types shared by jukitermd and its clients.
package api

import "jukiterm/store"

// Error kinds.
const (
	KindBadRequest  = "bad_request"
	KindNotFound    = "not_found"
	KindDenied      = "denied"
	KindSignIn      = "sign_in"      // no usable session: sign in (again)
	KindLoginFailed = "login_failed" // the sign-in attempt itself did not succeed
	KindInternal    = "internal"
	KindShutdown    = "shutting_down"
	KindBusy        = "busy"       // another operation that excludes this one is running
	KindUnverified  = "unverified" // a provision written whole but not read back
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

// Headers of the ingest call: the SHA-256 of the whole file (lower-case hex), which
// names it to resume an interrupted ingest and is checked against what arrives, and
// its number of lines (for progress only). Without them nothing is resumed.
const (
	HeaderIngestSHA256 = "X-Jukiterm-File-Sha256"
	HeaderIngestLines  = "X-Jukiterm-File-Lines"
)

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

// LoginRequest asks to sign Operator in with a finger on the reader. SimFinger, on a
// terminal with simulated hardware only, presents that finger to the simulated reader.
type LoginRequest struct {
	Operator  string `json:"operator"`
	SimFinger string `json:"sim_finger,omitempty"`
}

// LoginEvent is one line of the login and enrol calls' streamed answers (NDJSON):
// prompts for the person at the reader, then Session (login), Done (enrol) or Error.
type LoginEvent struct {
	Prompt  string       `json:"prompt,omitempty"`
	Session *SessionInfo `json:"session,omitempty"`
	Done    bool         `json:"done,omitempty"`
	Error   *Error       `json:"error,omitempty"`
}

// SessionInfo describes a session; Token is given once, at sign-in.
type SessionInfo struct {
	Token       string   `json:"token,omitempty"`
	Operator    string   `json:"operator"`
	Roles       []string `json:"roles"`
	IdleMinutes int      `json:"idle_minutes"`
	SignedInAt  string   `json:"signed_in_at"`
}

// EnrolRequest registers a new operator: their finger (Samples captures) into a free
// reader slot, and their first roles.
type EnrolRequest struct {
	Name      string   `json:"name"`
	Display   string   `json:"display"`
	Roles     []string `json:"roles"`
	Reason    string   `json:"reason"`
	SimFinger string   `json:"sim_finger,omitempty"`
	// Again enrols the finger of a registered operator again (Roles and Display are
	// not used), e.g. after the file was restored on a terminal with another reader.
	Again bool `json:"again,omitempty"`
}

// RightRequest grants or revokes a role, or resets a lockout (Role empty).
type RightRequest struct {
	Operator string `json:"operator"`
	Role     string `json:"role,omitempty"`
	Reason   string `json:"reason"`
	Expires  string `json:"expires,omitempty"` // YYYY-MM-DD: the right ends at the start of that day (local time)
}
