package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Application is a 申請: the request of another body or department under which
// searches and provisions are done.
type Application struct {
	ID         string     `json:"id"`
	Body       string     `json:"body"`                // the requesting body (e.g. 秋田県警察本部)
	Purpose    string     `json:"purpose"`             // 利用目的
	LegalBasis string     `json:"legal_basis"`         // e.g. 住基法 別表第5 第1号
	Expected   int        `json:"expected"`            // the number of records expected
	ValidFrom  string     `json:"valid_from"`          // YYYY-MM-DD, local
	ValidTo    string     `json:"valid_to"`            // YYYY-MM-DD, last valid day
	Recipient  string     `json:"recipient,omitempty"` // the registered recipient provisions go to
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	ClosedBy   string     `json:"closed_by,omitempty"`
}

// ErrBadApplication says an application request is not valid.
var ErrBadApplication = errors.New("application refused")

// ErrNoApplication says no application has the id.
var ErrNoApplication = errors.New("no such application")

var appID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$`)

// State tells whether the application may be used on day (YYYY-MM-DD, local):
// "valid", "not yet valid", "expired" or "closed".
func (a Application) State(day string) string {
	switch {
	case a.ClosedAt != nil:
		return "closed"
	case day < a.ValidFrom:
		return "not yet valid"
	case day > a.ValidTo:
		return "expired"
	}
	return "valid"
}

// StateAt is State at the instant t (an application closed after t was open then).
func (a Application) StateAt(t time.Time, loc *time.Location) string {
	if a.ClosedAt != nil && t.Before(*a.ClosedAt) {
		open := a
		open.ClosedAt = nil
		return open.State(t.In(loc).Format(time.DateOnly))
	}
	return a.State(t.In(loc).Format(time.DateOnly))
}

// AddApplication records a new application (and logs it, in the same transaction).
func (s *Store) AddApplication(ctx context.Context, a Application, actor string, now time.Time) error {
	switch {
	case !appID.MatchString(a.ID):
		return fmt.Errorf("%w: an application id is 1–64 letters, digits, '.', '_', '/' or '-'", ErrBadApplication)
	case a.Body == "" || a.Purpose == "" || a.LegalBasis == "":
		return fmt.Errorf("%w: give the requesting body, the purpose and the legal basis", ErrBadApplication)
	case a.Expected < 0:
		return fmt.Errorf("%w: the expected count cannot be negative", ErrBadApplication)
	}
	for _, d := range []string{a.ValidFrom, a.ValidTo} {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return fmt.Errorf("%w: %q is not a date YYYY-MM-DD", ErrBadApplication, d)
		}
	}
	if a.ValidTo < a.ValidFrom {
		return fmt.Errorf("%w: the application ends (%s) before it begins (%s)", ErrBadApplication, a.ValidTo, a.ValidFrom)
	}
	return s.writeTx(func(tx *sql.Tx) error {
		if a.Recipient != "" {
			var one int
			if err := tx.QueryRow(`SELECT 1 FROM recipients WHERE recipient_id = ?`, a.Recipient).Scan(&one); err != nil {
				return fmt.Errorf("%w: no recipient %q is registered (jukiterm recipient list)", ErrBadApplication, a.Recipient)
			}
		}
		if _, err := tx.Exec(`INSERT INTO applications (app_id, body, purpose, legal_basis, expected, valid_from, valid_to, created_at, created_by, recipient_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.Body, a.Purpose, a.LegalBasis, a.Expected, a.ValidFrom, a.ValidTo, stamp(now), actor, nullable(a.Recipient)); err != nil {
			return fmt.Errorf("%w: application %s exists already (%v)", ErrBadApplication, a.ID, err)
		}
		// Free text (body, purpose, legal basis) stays in the applications table: it
		// could name a person, and the log keeps no personal value in the clear.
		_, err := s.appendInTx(tx, Entry{At: now, Operator: actor, Action: "application.add", Detail: map[string]any{
			"application": a.ID, "expected": a.Expected, "valid_from": a.ValidFrom, "valid_to": a.ValidTo, "recipient": a.Recipient}})
		return err
	})
}

// CloseApplication ends an application before its validity does.
func (s *Store) CloseApplication(ctx context.Context, id, actor, reason string, now time.Time) error {
	if reason == "" {
		return fmt.Errorf("%w: give the reason for closing it", ErrBadApplication)
	}
	return s.writeTx(func(tx *sql.Tx) error {
		r, err := tx.Exec(`UPDATE applications SET closed_at = ?, closed_by = ?, close_reason = ? WHERE app_id = ? AND closed_at IS NULL`,
			stamp(now), actor, reason, id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %s (or it is closed already)", ErrNoApplication, id)
		}
		_, err = s.appendInTx(tx, Entry{At: now, Operator: actor, Action: "application.close",
			Detail: map[string]any{"application": id}})
		return err
	})
}

// Applications lists every application, newest first.
func (s *Store) Applications(ctx context.Context) ([]Application, error) {
	return s.applications(ctx, `1`)
}

func (s *Store) applications(ctx context.Context, cond string, args ...any) ([]Application, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT app_id, body, purpose, legal_basis, expected, valid_from, valid_to,
		created_at, created_by, closed_at, COALESCE(closed_by, ''), COALESCE(recipient_id, '') FROM applications WHERE `+cond+`
		ORDER BY created_at DESC, app_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Application{}
	for rows.Next() {
		var a Application
		var created, closed sql.NullString
		if err := rows.Scan(&a.ID, &a.Body, &a.Purpose, &a.LegalBasis, &a.Expected, &a.ValidFrom, &a.ValidTo,
			&created, &a.CreatedBy, &closed, &a.ClosedBy, &a.Recipient); err != nil {
			return nil, err
		}
		if c := parseStamp(created); c != nil {
			a.CreatedAt = *c
		}
		a.ClosedAt = parseStamp(closed)
		out = append(out, a)
	}
	return out, rows.Err()
}

// GetApplication returns one application.
func (s *Store) GetApplication(ctx context.Context, id string) (Application, error) {
	apps, err := s.applications(ctx, `app_id = ?`, id)
	if err != nil {
		return Application{}, err
	}
	if len(apps) == 1 {
		return apps[0], nil
	}
	return Application{}, fmt.Errorf("%w: %q (jukiterm application list shows them)", ErrNoApplication, id)
}
