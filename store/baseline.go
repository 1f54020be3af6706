package store

import (
	"database/sql"
	"fmt"
	"time"

	"jukiterm/store/record"
)

// BareRow is what one applied notification writes: the person's row and the
// notification's idempotency row.
type BareRow struct {
	Rec  record.Record
	Hash []byte
	ID   string
}

// BareInsert is the benchmark's baseline: bare SQLite writing the same rows as an
// ingest of new persons (persons and notifications), into the same schema with the
// same indexes and pragmas, batch rows a transaction, with no parsing, checks or
// look-ups. It creates a new database at path and returns the time the writes took.
func BareInsert(path string, rows []BareRow, batch int) (time.Duration, error) {
	if err := Create(path); err != nil {
		return 0, err
	}
	p := Pragmas(256)
	p.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite3", dsn(path, p))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`PRAGMA wal_autocheckpoint = 16384`); err != nil {
		return 0, err
	}
	start := time.Now()
	for i := 0; i < len(rows); i += batch {
		tx, err := db.Begin()
		if err != nil {
			return 0, err
		}
		person, err := tx.Prepare(`INSERT INTO persons (` + recordCols + `) VALUES (` + placeholders + `)`)
		if err != nil {
			return 0, err
		}
		note, err := tx.Prepare(`INSERT INTO notifications (municipality, id, hash, update_seq, person_id, applied_at) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return 0, err
		}
		for _, r := range rows[i:min(i+batch, len(rows))] {
			res, err := person.Exec(recordArgs(&r.Rec)...)
			if err != nil {
				return 0, fmt.Errorf("baseline insert: %w", err)
			}
			id, _ := res.LastInsertId()
			if _, err := note.Exec(r.Rec.Municipality, r.ID, r.Hash, r.Rec.UpdateSeq, id, r.Rec.Timestamp); err != nil {
				return 0, fmt.Errorf("baseline insert: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
