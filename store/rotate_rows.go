package store

import (
	"fmt"

	"jukiterm/store/record"
)

// rotatePersons re-encrypts a batch of persons: the current row with its blind
// indexes, every earlier version, and the blind index of each former 住民票コード.
func (s *Store) rotatePersons(kr *keyring) (int, error) {
	after, err := s.cursor("rotate_persons")
	if err != nil {
		return 0, err
	}
	rows, err := s.rtx.Query(`SELECT person_id, update_seq, data FROM persons WHERE person_id > ? ORDER BY person_id LIMIT ?`, after, RotationBatch)
	if err != nil {
		return 0, err
	}
	var batch []record.Record
	for rows.Next() {
		r, err := kr.scanPerson("persons", rows)
		if err != nil {
			rows.Close()
			return 0, err
		}
		batch = append(batch, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(batch) == 0 {
		return 0, err
	}
	for i := range batch {
		r := &batch[i]
		if _, err := s.rtx.Exec(`UPDATE persons SET (`+personCols+`) = (`+personPlaceholders+`) WHERE person_id = ?`,
			append(kr.cur.personArgs(r), r.ID)...); err != nil {
			return 0, fmt.Errorf("person %d: %w", r.ID, err)
		}
		if err := s.rotateHistory(kr, r); err != nil {
			return 0, fmt.Errorf("history of person %d: %w", r.ID, err)
		}
	}
	return len(batch), s.setCursor("rotate_persons", batch[len(batch)-1].ID)
}

func (s *Store) rotateHistory(kr *keyring, cur *record.Record) error {
	rows, err := s.rtx.Query(`SELECT history_id, update_seq, data FROM history WHERE person_id = ?`, cur.ID)
	if err != nil {
		return err
	}
	type version struct {
		id  int64
		rec record.Record
	}
	var vs []version
	for rows.Next() {
		var hid, seq int64
		var data []byte
		if err := rows.Scan(&hid, &seq, &data); err != nil {
			rows.Close()
			return err
		}
		r, err := kr.openRecord("history", cur.ID, seq, data)
		if err != nil {
			rows.Close()
			return err
		}
		vs = append(vs, version{hid, r})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	former := map[string]bool{}
	for _, v := range vs {
		if _, err := s.rtx.Exec(`UPDATE history SET data = ? WHERE history_id = ?`, kr.cur.sealRecord("history", &v.rec), v.id); err != nil {
			return err
		}
		if v.rec.ResidentCode != cur.ResidentCode && !former[v.rec.ResidentCode] {
			former[v.rec.ResidentCode] = true
			if _, err := s.rtx.Exec(`UPDATE former_codes SET code_idx = ? WHERE code_idx = ? AND person_id = ?`,
				kr.cur.blind(ixCode, v.rec.ResidentCode), kr.old.blind(ixCode, v.rec.ResidentCode), cur.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// rotateNotifications re-encrypts a batch of applied notifications' content digests.
func (s *Store) rotateNotifications(kr *keyring) (int, error) {
	muni, id, err := s.notificationCursor()
	if err != nil {
		return 0, err
	}
	rows, err := s.rtx.Query(`SELECT municipality, id, hash FROM notifications WHERE (municipality, id) > (?, ?)
		ORDER BY municipality, id LIMIT ?`, muni, id, RotationBatch)
	if err != nil {
		return 0, err
	}
	type note struct {
		muni, id string
		digest   []byte
	}
	var batch []note
	for rows.Next() {
		var n note
		var sealed []byte
		if err := rows.Scan(&n.muni, &n.id, &sealed); err != nil {
			rows.Close()
			return 0, err
		}
		if n.digest, err = kr.open(sealed, notificationAAD(n.muni, n.id)); err != nil {
			rows.Close()
			return 0, fmt.Errorf("notification %s from %s: %w", n.id, n.muni, err)
		}
		batch = append(batch, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(batch) == 0 {
		return 0, err
	}
	for _, n := range batch {
		if _, err := s.rtx.Exec(`UPDATE notifications SET hash = ? WHERE municipality = ? AND id = ?`,
			kr.cur.seal(n.digest, notificationAAD(n.muni, n.id)), n.muni, n.id); err != nil {
			return 0, err
		}
	}
	last := batch[len(batch)-1]
	if err := s.setCursor("rotate_notifications_municipality", last.muni); err != nil {
		return 0, err
	}
	return len(batch), s.setCursor("rotate_notifications_id", last.id)
}

// rotateRejections re-encrypts a batch of recorded rejections.
func (s *Store) rotateRejections(kr *keyring) (int, error) {
	after, err := s.cursor("rotate_rejections")
	if err != nil {
		return 0, err
	}
	rows, err := s.rtx.Query(`SELECT rejection_id, received_at, municipality, id, line, data FROM rejections
		WHERE rejection_id > ? ORDER BY rejection_id LIMIT ?`, after, RotationBatch)
	if err != nil {
		return 0, err
	}
	type rej struct {
		rid          int64
		at, muni, id string
		line         int
		plain        rejected
	}
	var batch []rej
	for rows.Next() {
		var r rej
		var data []byte
		if err := rows.Scan(&r.rid, &r.at, &r.muni, &r.id, &r.line, &data); err != nil {
			rows.Close()
			return 0, err
		}
		if r.plain, err = kr.openRejection(r.muni, r.id, r.line, r.at, data); err != nil {
			rows.Close()
			return 0, fmt.Errorf("rejection %d: %w", r.rid, err)
		}
		batch = append(batch, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(batch) == 0 {
		return 0, err
	}
	for _, r := range batch {
		data := kr.cur.sealRejection(r.muni, r.id, r.line, r.at, r.plain.Message, r.plain.Line)
		if _, err := s.rtx.Exec(`UPDATE rejections SET data = ? WHERE rejection_id = ?`, data, r.rid); err != nil {
			return 0, err
		}
	}
	return len(batch), s.setCursor("rotate_rejections", batch[len(batch)-1].rid)
}
