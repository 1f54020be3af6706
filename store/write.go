package store

import (
	"fmt"

	"jukiterm/store/record"
)

// write makes the change of an accepted notification: the previous version to history,
// the new version as the person's current row, the notification as applied.
func (a *applier) write(n *record.Notification, old record.Record, found bool, hash []byte) error {
	k := a.kr.cur
	rec := record.Apply(old, n)
	a.s.seq++
	rec.UpdateSeq = a.s.seq
	rec.OperatorID, rec.TerminalID, rec.Timestamp = a.operator, a.s.opt.TerminalID, a.now
	if found {
		rec.ID = old.ID
		prev := old
		prev.RetentionFlag = true // a replaced version's retention clock starts now
		if _, err := a.exec(`INSERT INTO history (person_id, update_seq, data) VALUES (?, ?, ?)`,
			prev.ID, prev.UpdateSeq, k.sealRecord("history", &prev)); err != nil {
			return fmt.Errorf("keep history: %w", err)
		}
		if _, err := a.exec(`UPDATE persons SET (`+personCols+`) = (`+personPlaceholders+`) WHERE person_id = ?`,
			append(k.personArgs(&rec), rec.ID)...); err != nil {
			return fmt.Errorf("update person: %w", err)
		}
	} else {
		a.s.lastID++
		rec.ID = a.s.lastID
		if _, err := a.exec(`INSERT INTO persons (`+personCols+`) VALUES (`+personPlaceholders+`)`, k.personArgs(&rec)...); err != nil {
			return fmt.Errorf("insert person: %w", err)
		}
	}
	if n.NewResidentCode != nil {
		if _, err := a.exec(`INSERT INTO former_codes (code_idx, person_id) VALUES (?, ?)`,
			k.blind(ixCode, old.ResidentCode), rec.ID); err != nil {
			return fmt.Errorf("keep former code: %w", err)
		}
	}
	if _, err := a.exec(`INSERT INTO notifications (municipality, id, hash, update_seq, person_id, applied_at)
		VALUES (?, ?, ?, ?, ?, ?)`, n.Municipality, n.ID, hash, rec.UpdateSeq, rec.ID, a.now); err != nil {
		return fmt.Errorf("record notification: %w", err)
	}
	// For the national server, in the update's own transaction (store/outbox.go).
	if _, err := a.exec(`INSERT INTO outbox (update_seq, person_id, queued_at) VALUES (?, ?, ?)`, rec.UpdateSeq, rec.ID, a.now); err != nil {
		return fmt.Errorf("queue the update for the national server: %w", err)
	}
	return nil
}
