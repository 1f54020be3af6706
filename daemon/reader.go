package daemon

import (
	"context"
	"errors"
	"time"
)

// FingerReader is the daemon's view of the fingerprint reader (the driver in devices/
// on real hardware, hwsim's simulated reader otherwise). Each call claims the reader
// and releases it before it returns, whatever happens.
type FingerReader interface {
	// Verify waits for a finger until ctx ends and tells whether it matches the
	// template in slot (1:1); prompt receives what to tell the person at the reader.
	// A reply that fails its authentication gives an error wrapping
	// ErrReaderUntrusted.
	Verify(ctx context.Context, slot uint32, prompt func(string)) (matched bool, err error)
	// Enroll captures a finger several times into slot.
	Enroll(ctx context.Context, slot uint32, prompt func(string)) error
	// Delete removes slot's template from the reader.
	Delete(ctx context.Context, slot uint32) error
}

// SimFinger is what the simulated reader adds: presenting a named finger for one
// capture, or for the captures of an enrolment.
type SimFinger interface {
	Present(name string) error
	PresentForEnrol(name string) error
	Lift() error
}

// ErrReaderUntrusted says the reader's answer failed its authentication (forged or
// replayed): the attempt counts as a failed sign-in.
var ErrReaderUntrusted = errors.New("the fingerprint reader's answer could not be trusted")

// SetReader gives the server its fingerprint reader (before Serve).
func (s *Server) SetReader(r FingerReader) { s.reader = r }

// SetSessionLimits sets the idle lock and maximum life of sessions (before Serve).
func (s *Server) SetSessionLimits(l SessionLimits) { s.sessions = newSessions(l) }

// LoginTimeout is how long a sign-in waits for a finger.
var LoginTimeout = 30 * time.Second
