package store

import (
	"fmt"

	"jukiterm/store/record"
)

// write makes the change of an accepted notification: the previous version to history,
// the new version as the person's current row, the notification as applied.
func (a *applier) write(n *record.Notification, old record.Record, found bool, hash []byte) error {
	rec := record.Apply(old, n)
	a.s.seq++
	rec.UpdateSeq = a.s.seq
	rec.OperatorID, rec.TerminalID, rec.Timestamp = a.operator, a.s.opt.TerminalID, a.now
	args := recordArgs(&rec)
	if found {
		rec.ID = old.ID
		if _, err := a.exec(`INSERT INTO history (person_id, `+recordCols+`)
			SELECT person_id, `+historyCols+` FROM persons WHERE person_id = ?`, old.ID); err != nil {
			return fmt.Errorf("keep history: %w", err)
		}
		if _, err := a.exec(`UPDATE persons SET (`+recordCols+`) = (`+placeholders+`) WHERE person_id = ?`,
			append(args, old.ID)...); err != nil {
			return fmt.Errorf("update person: %w", err)
		}
	} else {
		r, err := a.exec(`INSERT INTO persons (`+recordCols+`) VALUES (`+placeholders+`)`, args...)
		if err != nil {
			return fmt.Errorf("insert person: %w", err)
		}
		if rec.ID, err = r.LastInsertId(); err != nil {
			return err
		}
	}
	if n.NewResidentCode != nil {
		if _, err := a.exec(`INSERT INTO former_codes (code, person_id) VALUES (?, ?)`, old.ResidentCode, rec.ID); err != nil {
			return fmt.Errorf("keep former code: %w", err)
		}
	}
	if _, err := a.exec(`INSERT INTO notifications (municipality, id, hash, update_seq, person_id, applied_at)
		VALUES (?, ?, ?, ?, ?, ?)`, n.Municipality, n.ID, hash, rec.UpdateSeq, rec.ID, a.now); err != nil {
		return fmt.Errorf("record notification: %w", err)
	}
	return nil
}
