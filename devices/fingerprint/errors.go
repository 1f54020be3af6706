package fingerprint

import (
	"context"
	"errors"
	"fmt"
)

// Sentinel errors. Their text says what happened and what to do; wrapped errors add
// the detail after it.
var (
	ErrNoReader      = errors.New("the fingerprint reader is not connected: plug it in and try again")
	ErrForged        = errors.New("the fingerprint reader's reply failed its authentication check (it is paired with another key, or something on the USB line is not the paired reader): nothing was accepted; report it to an administrator")
	ErrReplayed      = errors.New("the fingerprint reader's reply did not answer the command just sent (an old reply was repeated): nothing was accepted; report it to an administrator")
	ErrNotPaired     = errors.New("the fingerprint reader is not paired with this terminal: an administrator pairs it before it can be used")
	ErrAlreadyPaired = errors.New("the fingerprint reader is already paired: reset it to its factory state (this erases its enrolled fingers) before pairing it again")
	ErrRefused       = errors.New("the fingerprint reader refused the command's authentication (it was altered on the way): try again, and report it to an administrator if it happens again")
	ErrCancelled     = errors.New("the fingerprint operation was cancelled")
	ErrBadSlot       = errors.New("the fingerprint reader has no such slot")
	ErrSlotInUse     = errors.New("that slot of the fingerprint reader already holds a finger: delete it first")
	ErrSamplesDiffer = errors.New("the enrollment samples came from different fingers: start again with one finger")
	ErrBusy          = errors.New("the fingerprint reader is busy with another operation: wait for it to end and try again")
	ErrInUse         = errors.New("the fingerprint reader is in use by another program: stop it (for example fprintd) and try again")
	ErrClosed        = errors.New("the fingerprint reader was closed")
	ErrNoAnswer      = errors.New("the fingerprint reader did not answer in time: unplug it, plug it in again and retry")
)

// cancelled is returned when the operation's context ended: it matches both
// ErrCancelled and the context's error.
type cancelled struct{ cause error }

func (c cancelled) Error() string   { return fmt.Sprintf("%v (%v)", ErrCancelled, c.cause) }
func (c cancelled) Unwrap() []error { return []error{ErrCancelled, c.cause} }

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// statusErr maps a final reply status to an error (nil for the successful ones).
func statusErr(s Status) error {
	switch s {
	case StatusOK, StatusMatch, StatusNoMatch:
		return nil
	case StatusNotPaired:
		return ErrNotPaired
	case StatusAlreadyPaired:
		return ErrAlreadyPaired
	case StatusBadSlot:
		return ErrBadSlot
	case StatusSlotInUse:
		return ErrSlotInUse
	case StatusSamplesDiffer:
		return ErrSamplesDiffer
	case StatusBadMAC:
		return ErrRefused
	case StatusBusy:
		return ErrBusy
	case StatusCancelled:
		return ErrCancelled
	case StatusBadCommand:
		return errors.New("the fingerprint reader did not understand the command (a firmware mismatch?): report it to an administrator")
	}
	return fmt.Errorf("the fingerprint reader answered with unknown status 0x%02x: report it to an administrator", byte(s))
}

// timedOut turns the expiry of the driver's own timeout (not the caller's) into
// ErrNoAnswer.
func timedOut(parent context.Context, err error) error {
	if err != nil && errors.Is(err, context.DeadlineExceeded) && parent.Err() == nil {
		return fmt.Errorf("%w (%v)", ErrNoAnswer, err)
	}
	return err
}
