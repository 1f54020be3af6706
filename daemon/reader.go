package daemon

import (
	"context"
	"time"
)

// FingerReader is the daemon's view of the fingerprint reader (the driver in devices/
// on real hardware, hwsim's simulated reader otherwise). Each call claims the reader
// and releases it before it returns, whatever happens.
type FingerReader interface {
	// Verify waits for a finger until ctx ends and tells which enrolled slot it
	// matched, if any; prompt receives what to tell the person at the reader.
	Verify(ctx context.Context, prompt func(string)) (slot uint32, matched bool, err error)
	// Enroll captures a finger several times into slot.
	Enroll(ctx context.Context, slot uint32, prompt func(string)) error
	// Delete removes slot's template from the reader.
	Delete(ctx context.Context, slot uint32) error
}

// SimFinger is what the simulated reader adds: presenting a named finger.
type SimFinger interface {
	Present(name string) error
}

// SetReader gives the server its fingerprint reader (before Serve).
func (s *Server) SetReader(r FingerReader) { s.reader = r }

// SetSessionLimits sets the idle lock and maximum life of sessions (before Serve).
func (s *Server) SetSessionLimits(l SessionLimits) { s.sessions = newSessions(l) }

// LoginTimeout is how long a sign-in waits for a finger.
var LoginTimeout = 30 * time.Second
