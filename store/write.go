package store

import (
	"database/sql"
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

// txLookup answers the logic checks' questions inside the applying transaction, so
// they see the batch's own earlier changes.
type txLookup struct{ a *applier }

func (l txLookup) ByCode(code string) (record.Record, bool, error) {
	r, err := scanRecord(l.a.queryRow(`SELECT person_id, `+recordCols+` FROM persons WHERE resident_code = ?`, code))
	if err == sql.ErrNoRows {
		return record.Record{}, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("look up 住民票コード: %w", err)
	}
	return r, true, nil
}

func (l txLookup) FormerCode(code string) (bool, error) {
	var id int64
	err := l.a.queryRow(`SELECT person_id FROM former_codes WHERE code = ?`, code).Scan(&id)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

func (l txLookup) MyNumberOwner(num string) (string, bool, error) {
	var code string
	err := l.a.queryRow(`SELECT resident_code FROM persons WHERE my_number = ? LIMIT 1`, num).Scan(&code)
	if err == sql.ErrNoRows {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look up 個人番号: %w", err)
	}
	return code, true, nil
}
