package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// LedgerEntry is one line of the rights ledger.
type LedgerEntry struct {
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"` // enrol, grant, revoke, reset, disable, inventory
	Operator string    `json:"operator"`
	Role     Role      `json:"role,omitempty"`
	Reason   string    `json:"reason"`
	Detail   string    `json:"detail,omitempty"`
}

// Ledger returns the rights ledger, oldest first.
func (s *Store) Ledger(ctx context.Context) ([]LedgerEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT at, actor, action, operator, role, reason, detail FROM rights_ledger ORDER BY entry_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []LedgerEntry{}
	for rows.Next() {
		var e LedgerEntry
		var at sql.NullString
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Operator, &e.Role, &e.Reason, &e.Detail); err != nil {
			return nil, err
		}
		if t := parseStamp(at); t != nil {
			e.At = *t
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// UnusedAfter is how long a right may go unused before the inventory flags it.
const UnusedAfter = 365 * 24 * time.Hour

// Inventory is the yearly 棚卸し of rights: who holds what, since when, last use.
type Inventory struct {
	At            time.Time       `json:"at"`
	By            string          `json:"by"`
	Previous      *time.Time      `json:"previous_inventory,omitempty"`
	Rights        []InventoryLine `json:"rights"`
	Unused        int             `json:"unused"`
	SignInBlocked []string        `json:"sign_in_disabled"`
}

// InventoryLine is one right in force.
type InventoryLine struct {
	Operator  string     `json:"operator"`
	Display   string     `json:"display"`
	Role      Role       `json:"role"`
	GrantedAt time.Time  `json:"granted_at"`
	GrantedBy string     `json:"granted_by"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	LastUsed  *time.Time `json:"last_used,omitempty"`
	LastLogin *time.Time `json:"last_login,omitempty"`
	Unused    bool       `json:"unused"` // never used, or not within UnusedAfter
}

// TakeInventory reports every right in force at now and records in the ledger that
// actor took the inventory.
func (s *Store) TakeInventory(ctx context.Context, actor string, now time.Time) (Inventory, error) {
	inv := Inventory{At: now.UTC(), By: actor, Rights: []InventoryLine{}, SignInBlocked: []string{}}
	ops, err := s.Operators(ctx)
	if err != nil {
		return inv, err
	}
	for _, o := range ops {
		if o.Disabled {
			inv.SignInBlocked = append(inv.SignInBlocked, o.Name)
		}
		for _, r := range o.Rights {
			if !r.Active(now) {
				continue
			}
			l := InventoryLine{Operator: o.Name, Display: o.Display, Role: r.Role, GrantedAt: r.GrantedAt,
				GrantedBy: r.GrantedBy, ExpiresAt: r.ExpiresAt, LastUsed: r.LastUsed, LastLogin: o.LastLogin,
				Unused: r.LastUsed == nil || now.Sub(*r.LastUsed) > UnusedAfter}
			if l.Unused {
				inv.Unused++
			}
			inv.Rights = append(inv.Rights, l)
		}
	}
	var prev sql.NullString
	if err := s.r.QueryRowContext(ctx, `SELECT MAX(at) FROM rights_ledger WHERE action = 'inventory'`).Scan(&prev); err != nil {
		return inv, err
	}
	inv.Previous = parseStamp(prev)
	err = s.writeTx(func(tx *sql.Tx) error {
		return s.ledger(tx, now, actor, "inventory", "", "", "yearly inventory of rights (棚卸し)",
			fmt.Sprintf("%d rights in force, %d unused", len(inv.Rights), inv.Unused))
	})
	return inv, err
}
