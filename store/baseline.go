package store

import (
	"database/sql"
	"fmt"
	"time"

	"jukiterm/store/record"
)

// BareRow is what one applied notification of a new person writes: the person's
// row (encrypted data and blind indexes) and the notification's idempotency row.
type BareRow struct {
	Person []any // personCols values
	Muni   string
	Seq    int64
	Hash   []byte
	ID     string
	At     string
}

// BareRows computes, with keys, the stored rows of new persons (person ids from 1;
// canon holds each notification's canonical JSON):
// the baseline writes exactly these.
func BareRows(keys *Keys, recs []record.Record, canon [][]byte, ids []string) []BareRow {
	rows := make([]BareRow, len(recs))
	for i := range recs {
		r := &recs[i]
		r.ID = int64(i + 1)
		rows[i] = BareRow{Person: keys.personArgs(r), Muni: r.Municipality, Seq: r.UpdateSeq,
			Hash: keys.sealDigest(r.Municipality, ids[i], canon[i]), ID: ids[i], At: r.Timestamp}
	}
	return rows
}

// BareInsert is the benchmark's baseline: bare SQLite writing the same rows as an
// ingest of new persons (persons, notifications and the outbox for the national
// server), into the same schema with the
// same indexes and pragmas, batch rows a transaction, with no parsing, checks or
// look-ups. It creates a new database at path and returns the time the writes took.
func BareInsert(path string, rows []BareRow, batch int) (time.Duration, error) {
	if err := Create(path); err != nil {
		return 0, err
	}
	db, err := bareDB(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	start := time.Now()
	for i := 0; i < len(rows); i += batch {
		tx, err := db.Begin()
		if err != nil {
			return 0, err
		}
		person, err := tx.Prepare(`INSERT INTO persons (` + personCols + `) VALUES (` + personPlaceholders + `)`)
		if err != nil {
			return 0, err
		}
		note, err := tx.Prepare(`INSERT INTO notifications (municipality, id, hash, update_seq, person_id, applied_at) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return 0, err
		}
		outbox, err := tx.Prepare(`INSERT INTO outbox (update_seq, person_id, queued_at) VALUES (?, ?, ?)`)
		if err != nil {
			return 0, err
		}
		for _, r := range rows[i:min(i+batch, len(rows))] {
			if _, err := person.Exec(r.Person...); err != nil {
				return 0, fmt.Errorf("baseline insert: %w", err)
			}
			if _, err := note.Exec(r.Muni, r.ID, r.Hash, r.Seq, r.Person[0], r.At); err != nil {
				return 0, fmt.Errorf("baseline insert: %w", err)
			}
			if _, err := outbox.Exec(r.Seq, r.Person[0], r.At); err != nil {
				return 0, fmt.Errorf("baseline insert: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// BareUpdate is the key rotation benchmark's baseline: bare SQLite rewriting rows of
// an existing database (a copy of the rotated one) with the given new values — each
// person's row and its notification's digest — batch rows a transaction, then VACUUM
// as the rotation does. It returns the time the writes took.
func BareUpdate(path string, rows []BareRow, batch int) (time.Duration, error) {
	db, err := bareDB(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	start := time.Now()
	for i := 0; i < len(rows); i += batch {
		tx, err := db.Begin()
		if err != nil {
			return 0, err
		}
		person, err := tx.Prepare(`UPDATE persons SET (` + personCols + `) = (` + personPlaceholders + `) WHERE person_id = ?`)
		if err != nil {
			return 0, err
		}
		note, err := tx.Prepare(`UPDATE notifications SET hash = ? WHERE municipality = ? AND id = ?`)
		if err != nil {
			return 0, err
		}
		for _, r := range rows[i:min(i+batch, len(rows))] {
			if _, err := person.Exec(append(r.Person, r.Person[0])...); err != nil {
				return 0, fmt.Errorf("baseline update: %w", err)
			}
			if _, err := note.Exec(r.Hash, r.Muni, r.ID); err != nil {
				return 0, fmt.Errorf("baseline update: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	if _, err := db.Exec(`VACUUM`); err != nil {
		return 0, err
	}
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// bareDB opens path as the baselines write it: the store's pragmas, one connection.
func bareDB(path string) (*sql.DB, error) {
	p := Pragmas(256)
	p.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite3", dsn(path, p))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`PRAGMA wal_autocheckpoint = 16384`); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// BareLookups is the bulk-provision benchmark's baseline: bare SQLite reading, in one
// read transaction with one prepared statement, the stored row of each code by its
// blind index (computed with keys) from the database at path, with no decryption,
// checks or sorting. It returns the time the reads took and the rows found.
func BareLookups(path string, keys *Keys, codes []string) (time.Duration, int, error) {
	db, err := bareDB(path)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	blinds := make([][]byte, len(codes))
	for i, c := range codes {
		blinds[i] = keys.blind(ixCode, c)
	}
	start := time.Now()
	tx, err := db.Begin()
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	st, err := tx.Prepare(`SELECT person_id, update_seq, data FROM persons WHERE code_idx = ?`)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	found := 0
	for _, b := range blinds {
		rows, err := st.Query(b)
		if err != nil {
			return 0, 0, err
		}
		for rows.Next() {
			var id, seq int64
			var data []byte
			if err := rows.Scan(&id, &seq, &data); err != nil {
				rows.Close()
				return 0, 0, err
			}
			found++
		}
		rows.Close()
	}
	return time.Since(start), found, nil
}
