package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Sign-in throttling as NIST SP 800-63B-4 asks of biometric authentication: after
// FreeAttempts consecutive failures each further attempt waits RetryDelay after the
// last failure; at DisableAfter consecutive failures biometric sign-in is disabled for
// that operator until an administrator resets it. The counters are in the file and
// change in the same transaction as the attempt's outcome, so neither a restart nor a
// kill -9 forgets a failure.
const (
	FreeAttempts = 5
	RetryDelay   = 30 * time.Second
	DisableAfter = 50
)

// Lockout is an operator's sign-in state.
type Lockout struct {
	Failures int        `json:"failures"`
	Disabled bool       `json:"disabled"`
	RetryAt  *time.Time `json:"retry_at,omitempty"` // no attempt before this
}

// ErrSignInDisabled says biometric sign-in is disabled for the operator.
var ErrSignInDisabled = errors.New("biometric sign-in is disabled for this operator after too many failed attempts: an administrator must reset it (jukiterm rights reset with the operator's name)")

// WaitError says an attempt came too soon after the last failures.
type WaitError struct{ RetryAt, Now time.Time }

func (e *WaitError) Error() string {
	return fmt.Sprintf("too many failed sign-ins in a row: wait %d s before the next attempt", int(e.RetryAt.Sub(e.Now).Seconds()+0.999))
}

func lockoutOf(failures int, last *time.Time, disabled bool) Lockout {
	l := Lockout{Failures: failures, Disabled: disabled || failures >= DisableAfter}
	if failures >= FreeAttempts && last != nil {
		t := last.Add(RetryDelay)
		l.RetryAt = &t
	}
	return l
}

// SignInAllowed returns nil when name may attempt a sign-in at now, else
// ErrSignInDisabled, a *WaitError, or ErrNoOperator.
func (s *Store) SignInAllowed(ctx context.Context, name string, now time.Time) (Lockout, error) {
	o, err := s.GetOperator(ctx, name)
	if err != nil {
		return Lockout{}, err
	}
	l := lockoutOf(o.Failures, o.LastFailure, o.Disabled)
	switch {
	case l.Disabled:
		return l, ErrSignInDisabled
	case l.RetryAt != nil && now.Before(*l.RetryAt):
		return l, &WaitError{RetryAt: *l.RetryAt, Now: now}
	}
	return l, nil
}

// SignInFailed counts a failed attempt by name, durably, and returns the new state.
func (s *Store) SignInFailed(ctx context.Context, name string, now time.Time) (Lockout, error) {
	var l Lockout
	err := s.writeTx(func(tx *sql.Tx) error {
		var failures int
		if err := tx.QueryRow(`UPDATE operators SET failures = failures + 1, last_failure = ?
			WHERE name = ? AND removed_at IS NULL RETURNING failures`, stamp(now), name).Scan(&failures); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: %q", ErrNoOperator, name)
			}
			return err
		}
		if failures == DisableAfter {
			if _, err := tx.Exec(`UPDATE operators SET disabled = 1 WHERE name = ?`, name); err != nil {
				return err
			}
			if err := s.ledger(tx, now, "jukitermd", "disable", name, "", fmt.Sprintf("%d failed sign-ins in a row", failures), ""); err != nil {
				return err
			}
		}
		l = lockoutOf(failures, &now, failures >= DisableAfter)
		_, err := s.appendInTx(tx, Entry{At: now, Operator: name, Action: "signin.failure",
			Detail: map[string]any{"failures": failures, "disabled": l.Disabled}})
		return err
	})
	return l, err
}

// SignInSucceeded clears name's failures and records the sign-in; it refuses an
// operator whose biometric sign-in was disabled meanwhile (ErrSignInDisabled).
func (s *Store) SignInSucceeded(ctx context.Context, name string, now time.Time) error {
	return s.writeTx(func(tx *sql.Tx) error {
		r, err := tx.Exec(`UPDATE operators SET failures = 0, last_login = ? WHERE name = ? AND disabled = 0 AND removed_at IS NULL`, stamp(now), name)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return ErrSignInDisabled
		}
		_, err = s.appendInTx(tx, Entry{At: now, Operator: name, Action: "signin.success"})
		return err
	})
}

// ResetSignIn clears name's failures and enables biometric sign-in again.
func (s *Store) ResetSignIn(ctx context.Context, name, actor, reason string, now time.Time) error {
	if reason == "" {
		return fmt.Errorf("%w: give the reason for the ledger", ErrBadOperator)
	}
	return s.writeTx(func(tx *sql.Tx) error {
		if _, err := operatorID(tx, name); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE operators SET failures = 0, disabled = 0, last_failure = NULL WHERE name = ?`, name); err != nil {
			return err
		}
		return s.ledger(tx, now, actor, "reset", name, "", reason, "")
	})
}
