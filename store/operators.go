package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Role is a right an operator may hold.
type Role string

// The roles of DOMAIN.md: what each may do is decided by the daemon's policy.
const (
	RoleOperator      Role = "operator"      // search and view records
	RoleProvision     Role = "provision"     // bulk provision on issued media
	RoleDisclosure    Role = "disclosure"    // 開示: a resident's own record
	RoleAdministrator Role = "administrator" // operators, rights, keys, backups, ingest
	RoleAuditor       Role = "auditor"       // logs, inventories, reconciliation
	RoleVendor        Role = "vendor"        // maintenance, supervised, no personal data
	RoleSupervisor    Role = "supervisor"    // supervises a vendor's service mode
)

// Roles lists every role.
var Roles = []Role{RoleOperator, RoleProvision, RoleDisclosure, RoleAdministrator, RoleAuditor, RoleVendor, RoleSupervisor}

// ParseRole checks a role's name.
func ParseRole(s string) (Role, error) {
	if slices.Contains(Roles, Role(s)) {
		return Role(s), nil
	}
	return "", fmt.Errorf("%w: %q is not a role (roles: operator, provision, disclosure, administrator, auditor, vendor, supervisor)", ErrBadOperator, s)
}

// Operator is a member of staff who may sign in.
type Operator struct {
	Name        string     `json:"name"`
	Display     string     `json:"display"`
	Slot        *uint32    `json:"slot,omitempty"` // the reader's template slot; nil: no finger enrolled
	Failures    int        `json:"failures"`       // consecutive failed sign-ins
	LastFailure *time.Time `json:"last_failure,omitempty"`
	Disabled    bool       `json:"biometric_disabled"` // after too many failures, until reset
	CreatedAt   time.Time  `json:"created_at"`
	LastLogin   *time.Time `json:"last_login,omitempty"`
	Rights      []Right    `json:"rights"`
}

// Right is one grant of a role, current or past.
type Right struct {
	Role         Role       `json:"role"`
	GrantedAt    time.Time  `json:"granted_at"`
	GrantedBy    string     `json:"granted_by"`
	Reason       string     `json:"reason"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	RevokedBy    string     `json:"revoked_by,omitempty"`
	RevokeReason string     `json:"revoke_reason,omitempty"`
	LastUsed     *time.Time `json:"last_used,omitempty"`
}

// Active tells whether the right is in force at now.
func (r Right) Active(now time.Time) bool {
	return r.RevokedAt == nil && (r.ExpiresAt == nil || now.Before(*r.ExpiresAt))
}

// ActiveRoles returns the roles the operator holds at now.
func (o Operator) ActiveRoles(now time.Time) []Role {
	var out []Role
	for _, r := range o.Rights {
		if r.Active(now) && !slices.Contains(out, r.Role) {
			out = append(out, r.Role)
		}
	}
	return out
}

// ErrBadOperator says an operator request is not valid (unknown name, bad role, …).
var ErrBadOperator = errors.New("operator request refused")

// ErrNoOperator says no operator has the name or slot asked for.
var ErrNoOperator = errors.New("no such operator")

var operatorName = regexp.MustCompile(`^[a-z][a-z0-9._-]{0,31}$`)

// ErrBadName is returned for an operator name that is not a plain login name.
var errBadName = fmt.Errorf("%w: an operator name is 1–32 lower-case letters, digits, '.', '_' or '-', starting with a letter", ErrBadOperator)

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseStamp(s sql.NullString) *time.Time {
	if !s.Valid {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s.String)
	if err != nil {
		return nil
	}
	return &t
}

// writeTx runs fn in a write transaction.
func (s *Store) writeTx(fn func(tx *sql.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("the identity file is closed")
	}
	tx, err := s.w.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	mark := s.logMark() // entries fn appends are given back if tx does not commit
	if err := fn(tx); err != nil {
		s.logUndo(mark)
		return err
	}
	if err := tx.Commit(); err != nil {
		s.logUndo(mark)
		return err
	}
	return nil
}

// ledger appends a rights-ledger line inside tx, and the same change to the operation
// log in the same transaction: if either cannot be written, nothing changes.
func (s *Store) ledger(tx *sql.Tx, now time.Time, actor, action, operator string, role Role, reason, detail string) error {
	if _, err := tx.Exec(`INSERT INTO rights_ledger (at, actor, action, operator, role, reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		stamp(now), actor, action, operator, string(role), reason, detail); err != nil {
		return err
	}
	_, err := s.appendInTx(tx, Entry{At: now, Operator: actor, Action: "rights." + action,
		Detail: map[string]any{"operator": operator, "role": string(role), "reason": reason, "detail": detail}})
	return err
}

// AddOperator records a new operator whose finger is enrolled in slot, with the given
// roles; actor and reason go to the ledger.
func (s *Store) AddOperator(ctx context.Context, name, display string, slot uint32, roles []Role, actor, reason string, now time.Time) error {
	if !operatorName.MatchString(name) {
		return errBadName
	}
	if reason == "" {
		return fmt.Errorf("%w: give the reason (e.g. the 辞令 or request number) for the ledger", ErrBadOperator)
	}
	if display == "" {
		display = name
	}
	return s.writeTx(func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM operators WHERE name = ? OR slot = ?`, name, slot).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: operator %q or reader slot %d exists already", ErrBadOperator, name, slot)
		}
		r, err := tx.Exec(`INSERT INTO operators (name, display, slot, created_at) VALUES (?, ?, ?, ?)`, name, display, slot, stamp(now))
		if err != nil {
			return err
		}
		id, _ := r.LastInsertId()
		if err := s.ledger(tx, now, actor, "enrol", name, "", reason, fmt.Sprintf("reader slot %d", slot)); err != nil {
			return err
		}
		for _, role := range roles {
			if err := s.grant(tx, id, name, role, actor, reason, nil, now); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) grant(tx *sql.Tx, id int64, name string, role Role, actor, reason string, expires *time.Time, now time.Time) error {
	var exp any
	detail := ""
	if expires != nil {
		exp, detail = stamp(*expires), "until "+stamp(*expires)
	}
	if _, err := tx.Exec(`INSERT INTO rights (operator_id, role, granted_at, granted_by, reason, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		id, string(role), stamp(now), actor, reason, exp); err != nil {
		return err
	}
	return s.ledger(tx, now, actor, "grant", name, role, reason, detail)
}

// operatorID finds a current operator's id inside tx.
func operatorID(tx *sql.Tx, name string) (int64, error) {
	var id int64
	err := tx.QueryRow(`SELECT operator_id FROM operators WHERE name = ? AND removed_at IS NULL`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: %q", ErrNoOperator, name)
	}
	return id, err
}

// Grant gives name a role (until expires, if set).
func (s *Store) Grant(ctx context.Context, name string, role Role, actor, reason string, expires *time.Time, now time.Time) error {
	if reason == "" {
		return fmt.Errorf("%w: give the reason for the ledger", ErrBadOperator)
	}
	if expires != nil && !expires.After(now) {
		return fmt.Errorf("%w: the expiry %s is not in the future", ErrBadOperator, expires.Format(time.DateOnly))
	}
	return s.writeTx(func(tx *sql.Tx) error {
		id, err := operatorID(tx, name)
		if err != nil {
			return err
		}
		return s.grant(tx, id, name, role, actor, reason, expires, now)
	})
}

// Revoke ends every grant of role to name.
func (s *Store) Revoke(ctx context.Context, name string, role Role, actor, reason string, now time.Time) error {
	if reason == "" {
		return fmt.Errorf("%w: give the reason for the ledger", ErrBadOperator)
	}
	return s.writeTx(func(tx *sql.Tx) error {
		id, err := operatorID(tx, name)
		if err != nil {
			return err
		}
		r, err := tx.Exec(`UPDATE rights SET revoked_at = ?, revoked_by = ?, revoke_reason = ?
			WHERE operator_id = ? AND role = ? AND revoked_at IS NULL`, stamp(now), actor, reason, id, string(role))
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %s holds no %s right to revoke", ErrBadOperator, name, role)
		}
		return s.ledger(tx, now, actor, "revoke", name, role, reason, "")
	})
}

// GetOperator returns a current operator with every right, past and present.
func (s *Store) GetOperator(ctx context.Context, name string) (Operator, error) {
	ops, err := s.operators(ctx, `o.name = ?`, name)
	if err != nil {
		return Operator{}, err
	}
	if len(ops) == 0 {
		return Operator{}, fmt.Errorf("%w: %q", ErrNoOperator, name)
	}
	return ops[0], nil
}

// OperatorBySlot returns the current operator whose finger is in slot.
func (s *Store) OperatorBySlot(ctx context.Context, slot uint32) (Operator, error) {
	ops, err := s.operators(ctx, `o.slot = ?`, slot)
	if err != nil {
		return Operator{}, err
	}
	if len(ops) == 0 {
		return Operator{}, fmt.Errorf("%w: reader slot %d", ErrNoOperator, slot)
	}
	return ops[0], nil
}

// Operators returns every current operator.
func (s *Store) Operators(ctx context.Context) ([]Operator, error) {
	return s.operators(ctx, `1`)
}

func (s *Store) operators(ctx context.Context, cond string, args ...any) ([]Operator, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT o.operator_id, o.name, o.display, o.slot, o.failures, o.last_failure,
		o.disabled, o.created_at, o.last_login FROM operators o WHERE o.removed_at IS NULL AND `+cond+` ORDER BY o.name`, args...)
	if err != nil {
		return nil, err
	}
	var ops []Operator
	var ids []int64
	for rows.Next() {
		var o Operator
		var id int64
		var slot sql.NullInt64
		var lastFail, created, lastLogin sql.NullString
		if err := rows.Scan(&id, &o.Name, &o.Display, &slot, &o.Failures, &lastFail, &o.Disabled, &created, &lastLogin); err != nil {
			rows.Close()
			return nil, err
		}
		if slot.Valid {
			v := uint32(slot.Int64)
			o.Slot = &v
		}
		o.LastFailure, o.LastLogin = parseStamp(lastFail), parseStamp(lastLogin)
		if c := parseStamp(created); c != nil {
			o.CreatedAt = *c
		}
		o.Rights = []Right{}
		ops, ids = append(ops, o), append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, id := range ids {
		if ops[i].Rights, err = s.rights(ctx, id); err != nil {
			return nil, err
		}
	}
	return ops, nil
}

func (s *Store) rights(ctx context.Context, id int64) ([]Right, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT role, granted_at, granted_by, reason, expires_at, revoked_at,
		COALESCE(revoked_by, ''), COALESCE(revoke_reason, ''), last_used FROM rights WHERE operator_id = ? ORDER BY right_id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Right{}
	for rows.Next() {
		var r Right
		var granted, expires, revoked, used sql.NullString
		if err := rows.Scan(&r.Role, &granted, &r.GrantedBy, &r.Reason, &expires, &revoked, &r.RevokedBy, &r.RevokeReason, &used); err != nil {
			return nil, err
		}
		if g := parseStamp(granted); g != nil {
			r.GrantedAt = *g
		}
		r.ExpiresAt, r.RevokedAt, r.LastUsed = parseStamp(expires), parseStamp(revoked), parseStamp(used)
		out = append(out, r)
	}
	return out, rows.Err()
}

// MarkUsed records that name used role at now (the inventory reports unused rights).
func (s *Store) MarkUsed(ctx context.Context, name string, role Role, now time.Time) error {
	return s.writeTx(func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE rights SET last_used = ? WHERE role = ? AND revoked_at IS NULL
			AND operator_id = (SELECT operator_id FROM operators WHERE name = ? AND removed_at IS NULL)`, stamp(now), string(role), name)
		return err
	})
}
