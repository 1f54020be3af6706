package store

import (
	"bytes"
	"database/sql"
	"fmt"

	"jukiterm/store/record"
)

// prefetchQuery answers, in one statement, the questions an ingest asks about most
// notifications: was this id applied (and with what content), who holds this 個人番号,
// is this 住民票コード a former code, is it a current code.
const prefetchQuery = `SELECT
	(SELECT hash FROM notifications WHERE municipality = ? AND id = ?),
	(SELECT code_idx FROM persons WHERE number_idx = ? LIMIT 1),
	EXISTS (SELECT 1 FROM former_codes WHERE code_idx = ?),
	EXISTS (SELECT 1 FROM persons WHERE code_idx = ?)`

// prefetched holds those answers for one notification's keys.
type prefetched struct {
	hash       []byte // nil: the id was not applied
	code       string
	codeExists bool
	formerCode bool
	number     string
	ownerCode  []byte // blind index of the 個人番号 holder's code; nil: nobody holds it
}

func (a *applier) prefetch(n *record.Notification) (*prefetched, error) {
	p := &prefetched{code: n.ResidentCode}
	if n.MyNumber != nil {
		p.number = *n.MyNumber
	}
	k := a.kr.cur
	code := k.blind(ixCode, p.code)
	err := a.queryRow(prefetchQuery, n.Municipality, n.ID, k.blind(ixNumber, p.number), code, code).Scan(
		&p.hash, &p.ownerCode, &p.formerCode, &p.codeExists)
	if err != nil {
		return nil, fmt.Errorf("look up notification keys: %w", err)
	}
	return p, nil
}

// txLookup answers the logic checks' questions inside the applying transaction, so
// they see the batch's own earlier changes; prefetched answers spare a query each.
type txLookup struct {
	a  *applier
	pf *prefetched
}

func (l txLookup) ByCode(code string) (record.Record, bool, error) {
	if code == l.pf.code && !l.pf.codeExists {
		return record.Record{}, false, nil
	}
	r, err := l.a.kr.scanPerson("persons", l.a.queryRow(`SELECT person_id, update_seq, data FROM persons WHERE code_idx = ?`,
		l.a.kr.cur.blind(ixCode, code)))
	if err == sql.ErrNoRows {
		return record.Record{}, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("look up 住民票コード: %w", err)
	}
	return r, true, nil
}

func (l txLookup) FormerCode(code string) (bool, error) {
	if code == l.pf.code {
		return l.pf.formerCode, nil
	}
	var id int64
	err := l.a.queryRow(`SELECT person_id FROM former_codes WHERE code_idx = ?`, l.a.kr.cur.blind(ixCode, code)).Scan(&id)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

func (l txLookup) MyNumberOwner(num string) (string, bool, error) {
	k := l.a.kr.cur
	if num == l.pf.number {
		switch {
		case l.pf.ownerCode == nil:
			return "", false, nil
		case bytes.Equal(l.pf.ownerCode, k.blind(ixCode, l.pf.code)):
			return l.pf.code, true, nil
		}
	}
	r, err := l.a.kr.scanPerson("persons", l.a.queryRow(`SELECT person_id, update_seq, data FROM persons WHERE number_idx = ? LIMIT 1`,
		k.blind(ixNumber, num)))
	if err == sql.ErrNoRows {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look up 個人番号: %w", err)
	}
	return r.ResidentCode, true, nil
}
