package store

import (
	"database/sql"
	"fmt"

	"jukiterm/store/record"
)

// prefetchQuery answers, in one statement, the questions an ingest asks about most
// notifications: was this id applied (and with what content), who holds this 個人番号,
// is this 住民票コード a former code, is it a current code.
const prefetchQuery = `SELECT
	(SELECT hash FROM notifications WHERE municipality = ? AND id = ?),
	(SELECT resident_code FROM persons WHERE my_number = ? LIMIT 1),
	EXISTS (SELECT 1 FROM former_codes WHERE code = ?),
	EXISTS (SELECT 1 FROM persons WHERE resident_code = ?)`

// prefetched holds those answers for one notification's keys.
type prefetched struct {
	hash       []byte // nil: the id was not applied
	code       string
	codeExists bool
	formerCode bool
	number     string
	owner      sql.NullString
}

func (a *applier) prefetch(n *record.Notification) (*prefetched, error) {
	p := &prefetched{code: n.ResidentCode}
	if n.MyNumber != nil {
		p.number = *n.MyNumber
	}
	err := a.queryRow(prefetchQuery, n.Municipality, n.ID, p.number, p.code, p.code).Scan(
		&p.hash, &p.owner, &p.formerCode, &p.codeExists)
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
	if code == l.pf.code {
		return l.pf.formerCode, nil
	}
	var id int64
	err := l.a.queryRow(`SELECT person_id FROM former_codes WHERE code = ?`, code).Scan(&id)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

func (l txLookup) MyNumberOwner(num string) (string, bool, error) {
	if num == l.pf.number {
		return l.pf.owner.String, l.pf.owner.Valid, nil
	}
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
