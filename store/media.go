package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/mattn/go-sqlite3"
)

// Medium is an issued-media ledger (貸与) line: a security-locked stick the prefecture
// owns, in stock, issued to a staff member, or retired.
type Medium struct {
	Serial       string     `json:"serial"`
	VendorID     uint16     `json:"vendor_id"`
	ProductID    uint16     `json:"product_id"`
	Label        string     `json:"label"`
	State        string     `json:"state"` // MediumInStock, MediumIssued or MediumRetired
	Holder       string     `json:"holder,omitempty"`
	IssuedAt     *time.Time `json:"issued_at,omitempty"`
	Due          string     `json:"due,omitempty"` // YYYY-MM-DD, the day it is to be returned
	Reason       string     `json:"reason,omitempty"`
	RegisteredAt time.Time  `json:"registered_at"`
	RegisteredBy string     `json:"registered_by"`
}

// The states of a medium.
const (
	MediumInStock = "in-stock"
	MediumIssued  = "issued"
	MediumRetired = "retired"
)

// MediaChange is one line of the media ledger's history.
type MediaChange struct {
	Seq    int64     `json:"seq"`
	At     time.Time `json:"at"`
	Serial string    `json:"serial"`
	Change string    `json:"change"` // register, issue, return, retire
	Actor  string    `json:"actor"`
	Holder string    `json:"holder,omitempty"`
	Reason string    `json:"reason,omitempty"`
}

// ErrMedia says a media-ledger change is not possible; ErrNoMedium that the serial is
// not in the ledger.
var (
	ErrMedia    = errors.New("media ledger")
	ErrNoMedium = errors.New("the medium is not in the issued-media ledger")
)

var serialRE = regexp.MustCompile(`^[\x21-\x7e]{1,126}$`)

// RegisterMedium adds a stick to the ledger, in stock.
func (s *Store) RegisterMedium(ctx context.Context, m Medium, actor string, now time.Time) error {
	if !serialRE.MatchString(m.Serial) {
		return fmt.Errorf("%w: the serial %q is not a USB serial number (printable ASCII, no spaces)", ErrMedia, m.Serial)
	}
	if m.Label != "" && !validText(m.Label, 200) {
		return fmt.Errorf("%w: the label is too long or has control characters", ErrMedia)
	}
	return s.writeTx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO media (serial, vendor_id, product_id, label, state, registered_at, registered_by)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, m.Serial, m.VendorID, m.ProductID, m.Label, MediumInStock, stamp(now), actor); duplicate(err) {
			return fmt.Errorf("%w: %s is registered already (jukiterm media list)", ErrMedia, m.Serial)
		} else if err != nil {
			return err
		}
		return s.mediaChange(tx, now, m.Serial, "register", actor, "", "", map[string]any{
			"model": fmt.Sprintf("%04x:%04x", m.VendorID, m.ProductID)})
	})
}

// IssueMedium lends an in-stock medium to holder (an operator) until due ("" for no date).
func (s *Store) IssueMedium(ctx context.Context, serial, holder, due, actor string, now time.Time) error {
	if due != "" {
		if _, err := time.Parse(time.DateOnly, due); err != nil {
			return fmt.Errorf("%w: the return date %q is not YYYY-MM-DD", ErrMedia, due)
		}
	}
	return s.writeTx(func(tx *sql.Tx) error {
		if _, err := operatorID(tx, holder); err != nil {
			return err
		}
		m, err := mediumInTx(tx, serial)
		if err != nil {
			return err
		}
		if m.State != MediumInStock {
			return fmt.Errorf("%w: %s is %s%s; only a medium in stock can be issued (return it first)", ErrMedia, serial, m.State, holderText(m))
		}
		if _, err := tx.Exec(`UPDATE media SET state = ?, holder = ?, issued_at = ?, due = ? WHERE serial = ?`,
			MediumIssued, holder, stamp(now), nullable(due), serial); err != nil {
			return err
		}
		return s.mediaChange(tx, now, serial, "issue", actor, holder, "", map[string]any{"due": due})
	})
}

// ReturnMedium takes an issued medium back into stock.
func (s *Store) ReturnMedium(ctx context.Context, serial, actor string, now time.Time) error {
	return s.writeTx(func(tx *sql.Tx) error {
		m, err := mediumInTx(tx, serial)
		if err != nil {
			return err
		}
		if m.State != MediumIssued {
			return fmt.Errorf("%w: %s is %s, not issued: there is nothing to return", ErrMedia, serial, m.State)
		}
		if _, err := tx.Exec(`UPDATE media SET state = ?, holder = NULL, issued_at = NULL, due = NULL WHERE serial = ?`,
			MediumInStock, serial); err != nil {
			return err
		}
		return s.mediaChange(tx, now, serial, "return", actor, m.Holder, "", nil)
	})
}

// RetireMedium takes a medium out of use for good (lost, broken, worn out): it is
// refused from then on, wherever it turns up.
func (s *Store) RetireMedium(ctx context.Context, serial, reason, actor string, now time.Time) error {
	if reason == "" || !validText(reason, 500) {
		return fmt.Errorf("%w: give the reason (e.g. lost, broken)", ErrMedia)
	}
	return s.writeTx(func(tx *sql.Tx) error {
		m, err := mediumInTx(tx, serial)
		if err != nil {
			return err
		}
		if m.State == MediumRetired {
			return fmt.Errorf("%w: %s is retired already", ErrMedia, serial)
		}
		if _, err := tx.Exec(`UPDATE media SET state = ?, holder = NULL, issued_at = NULL, due = NULL, reason = ? WHERE serial = ?`,
			MediumRetired, reason, serial); err != nil {
			return err
		}
		return s.mediaChange(tx, now, serial, "retire", actor, m.Holder, reason, nil)
	})
}

// mediaChange writes a ledger line and its operation-log entry (the reason stays in
// the ledger: free text may name a person).
func (s *Store) mediaChange(tx *sql.Tx, now time.Time, serial, change, actor, holder, reason string, extra map[string]any) error {
	if _, err := tx.Exec(`INSERT INTO media_ledger (at, serial, change, actor, holder, reason) VALUES (?, ?, ?, ?, ?, ?)`,
		stamp(now), serial, change, actor, nullable(holder), nullable(reason)); err != nil {
		return err
	}
	d := map[string]any{"serial": serial}
	if holder != "" {
		d["holder"] = holder
	}
	for k, v := range extra {
		d[k] = v
	}
	_, err := s.appendInTx(tx, Entry{At: now, Operator: actor, Action: "media." + change, Detail: d})
	return err
}

func holderText(m Medium) string {
	if m.Holder != "" {
		return " to " + m.Holder
	}
	return ""
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const mediumCols = `serial, vendor_id, product_id, label, state, COALESCE(holder, ''), issued_at, COALESCE(due, ''),
	COALESCE(reason, ''), registered_at, registered_by`

func scanMedium(sc interface{ Scan(...any) error }) (Medium, error) {
	var m Medium
	var issued, registered sql.NullString
	err := sc.Scan(&m.Serial, &m.VendorID, &m.ProductID, &m.Label, &m.State, &m.Holder, &issued, &m.Due, &m.Reason, &registered, &m.RegisteredBy)
	m.IssuedAt = parseStamp(issued)
	if r := parseStamp(registered); r != nil {
		m.RegisteredAt = *r
	}
	return m, err
}

func mediumInTx(q interface {
	QueryRow(string, ...any) *sql.Row
}, serial string) (Medium, error) {
	m, err := scanMedium(q.QueryRow(`SELECT `+mediumCols+` FROM media WHERE serial = ?`, serial))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("%w: %s (jukiterm media list shows the registered ones)", ErrNoMedium, serial)
	}
	return m, err
}

// GetMedium returns the ledger line of serial (ErrNoMedium if none).
func (s *Store) GetMedium(ctx context.Context, serial string) (Medium, error) {
	m, err := scanMedium(s.r.QueryRowContext(ctx, `SELECT `+mediumCols+` FROM media WHERE serial = ?`, serial))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("%w: %s (jukiterm media list shows the registered ones)", ErrNoMedium, serial)
	}
	return m, err
}

// Media lists the ledger, by serial.
func (s *Store) Media(ctx context.Context) ([]Medium, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+mediumCols+` FROM media ORDER BY serial`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Medium{}
	for rows.Next() {
		m, err := scanMedium(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MediaHistory lists the ledger's changes, oldest first ("" serial: all media).
func (s *Store) MediaHistory(ctx context.Context, serial string) ([]MediaChange, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, at, serial, change, actor, COALESCE(holder, ''), COALESCE(reason, '')
		FROM media_ledger WHERE ? = '' OR serial = ? ORDER BY seq`, serial, serial)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []MediaChange{}
	for rows.Next() {
		var c MediaChange
		var at sql.NullString
		if err := rows.Scan(&c.Seq, &at, &c.Serial, &c.Change, &c.Actor, &c.Holder, &c.Reason); err != nil {
			return nil, err
		}
		if t := parseStamp(at); t != nil {
			c.At = *t
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// duplicate tells whether err is a unique-constraint failure (the row exists).
func duplicate(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey || errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique
}
