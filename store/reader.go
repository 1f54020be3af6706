package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The operators' slots name templates on one reader. The file records which reader
// (by an identifier derived from its pairing key); opened with another reader — a
// backup restored on another terminal, a replaced and re-paired reader — it forgets
// every slot, so that no operator signs in with a finger enrolled for someone else.

// BindReader records that the file's operators are enrolled on the reader id. If the
// file names another reader, every operator's slot is forgotten (they must be enrolled
// again, see SetFinger) and the ledger says so; it returns how many were forgotten.
func (s *Store) BindReader(ctx context.Context, id, actor string, now time.Time) (forgot int, err error) {
	err = s.writeTx(func(tx *sql.Tx) error {
		var have []byte
		err := tx.QueryRow(`SELECT value FROM meta WHERE name = 'reader_id'`).Scan(&have)
		switch {
		case err == nil && string(have) == id:
			return nil
		case err != nil && err != sql.ErrNoRows:
			return err
		}
		r, err := tx.Exec(`UPDATE operators SET slot = NULL WHERE slot IS NOT NULL`)
		if err != nil {
			return err
		}
		n, _ := r.RowsAffected()
		forgot = int(n)
		if forgot > 0 {
			if err := s.ledger(tx, now, actor, "reader-changed", "", "", "the identity file is used with another fingerprint reader",
				fmt.Sprintf("%d operators must be enrolled again", forgot)); err != nil {
				return err
			}
		}
		_, err = tx.Exec(`INSERT OR REPLACE INTO meta (name, value) VALUES ('reader_id', ?)`, []byte(id))
		return err
	})
	return forgot, err
}

// SetFinger records that name's finger is now enrolled in slot (again).
func (s *Store) SetFinger(ctx context.Context, name string, slot uint32, actor, reason string, now time.Time) error {
	if reason == "" {
		return fmt.Errorf("%w: give the reason for the ledger", ErrBadOperator)
	}
	return s.writeTx(func(tx *sql.Tx) error {
		id, err := operatorID(tx, name)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM operators WHERE slot = ? AND operator_id <> ?`, slot, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: reader slot %d belongs to another operator", ErrBadOperator, slot)
		}
		if _, err := tx.Exec(`UPDATE operators SET slot = ? WHERE operator_id = ?`, slot, id); err != nil {
			return err
		}
		return s.ledger(tx, now, actor, "enrol", name, "", reason, fmt.Sprintf("finger enrolled again, reader slot %d", slot))
	})
}

// FreeSlot returns the next reader slot no operator holds.
func (s *Store) FreeSlot(ctx context.Context) (uint32, error) {
	var max sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT MAX(slot) FROM operators`).Scan(&max); err != nil {
		return 0, err
	}
	return uint32(max.Int64) + 1, nil
}
