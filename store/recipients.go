package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Recipient is a body records are provided to: another executive body (提供, under
// 住基法 別表第5/第6) or a department of the prefecture (移転, under an 条例), with the
// age public key its results are encrypted to and the items it may receive.
type Recipient struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Kind         string    `json:"kind"`        // RecipientBody or RecipientDepartment
	LegalBasis   string    `json:"legal_basis"` // e.g. 住基法 別表第5 第1号, or the 条例
	AgeRecipient string    `json:"age_recipient"`
	Items        []string  `json:"items"` // FORMATS §3 field names
	CreatedAt    time.Time `json:"created_at"`
	CreatedBy    string    `json:"created_by"`
}

// The kinds of recipient.
const (
	RecipientBody       = "body"       // another executive body: 提供
	RecipientDepartment = "department" // a department of the prefecture: 移転
)

// ErrRecipient says a recipient is not valid; ErrNoRecipient that none has the id.
var (
	ErrRecipient   = errors.New("recipient refused")
	ErrNoRecipient = errors.New("no such recipient")
)

// AddRecipient registers a recipient (items and key checked by the caller) and logs it.
func (s *Store) AddRecipient(ctx context.Context, r Recipient, actor string, now time.Time) error {
	switch {
	case !appID.MatchString(r.ID):
		return fmt.Errorf("%w: a recipient id is 1–64 letters, digits, '.', '_', '/' or '-'", ErrRecipient)
	case r.Name == "" || r.LegalBasis == "" || !validText(r.Name, 200) || !validText(r.LegalBasis, 200):
		return fmt.Errorf("%w: give its name and the legal basis (e.g. 住基法 別表第5 第1号)", ErrRecipient)
	case r.Kind != RecipientBody && r.Kind != RecipientDepartment:
		return fmt.Errorf("%w: the kind is %q (another executive body: 提供) or %q (a department: 移転)", ErrRecipient, RecipientBody, RecipientDepartment)
	case len(r.Items) == 0:
		return fmt.Errorf("%w: give the items it may receive", ErrRecipient)
	}
	return s.writeTx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO recipients (recipient_id, name, kind, legal_basis, age_recipient, items, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.Name, r.Kind, r.LegalBasis, r.AgeRecipient, strings.Join(r.Items, ","), stamp(now), actor); duplicate(err) {
			return fmt.Errorf("%w: recipient %s exists already (jukiterm recipient list)", ErrRecipient, r.ID)
		} else if err != nil {
			return err
		}
		_, err := s.appendInTx(tx, Entry{At: now, Operator: actor, Action: "recipient.add", Detail: map[string]any{
			"recipient": r.ID, "kind": r.Kind, "items": r.Items, "age_recipient": r.AgeRecipient}})
		return err
	})
}

// Recipients lists the recipients by id.
func (s *Store) Recipients(ctx context.Context) ([]Recipient, error) {
	return s.recipients(ctx, `1`)
}

// GetRecipient returns one recipient.
func (s *Store) GetRecipient(ctx context.Context, id string) (Recipient, error) {
	rs, err := s.recipients(ctx, `recipient_id = ?`, id)
	if err != nil {
		return Recipient{}, err
	}
	if len(rs) == 0 {
		return Recipient{}, fmt.Errorf("%w: %q (jukiterm recipient list shows them)", ErrNoRecipient, id)
	}
	return rs[0], nil
}

// RecipientFor returns an application's recipient: the one it names, or else the one
// whose id or name is the application's requesting body.
func (s *Store) RecipientFor(ctx context.Context, a Application) (Recipient, error) {
	if a.Recipient != "" {
		return s.GetRecipient(ctx, a.Recipient)
	}
	rs, err := s.recipients(ctx, `recipient_id = ? OR name = ?`, a.Body, a.Body)
	if err != nil {
		return Recipient{}, err
	}
	if len(rs) != 1 {
		return Recipient{}, fmt.Errorf("%w: application %s names no registered recipient (its requesting body is %q): register the body with `jukiterm recipient add`, or the application with --recipient", ErrNoRecipient, a.ID, a.Body)
	}
	return rs[0], nil
}

func (s *Store) recipients(ctx context.Context, cond string, args ...any) ([]Recipient, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT recipient_id, name, kind, legal_basis, age_recipient, items, created_at, created_by
		FROM recipients WHERE `+cond+` ORDER BY recipient_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Recipient{}
	for rows.Next() {
		var r Recipient
		var items string
		var created sql.NullString
		if err := rows.Scan(&r.ID, &r.Name, &r.Kind, &r.LegalBasis, &r.AgeRecipient, &items, &created, &r.CreatedBy); err != nil {
			return nil, err
		}
		r.Items = strings.Split(items, ",")
		if c := parseStamp(created); c != nil {
			r.CreatedAt = *c
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
