package store

import (
	"database/sql"
	"fmt"
)

// recordCols are the 28 items of a record version as stored, in the order of
// recordArgs and scanRecord. kana_surname_seion is derived, for surname searches.
const recordCols = `resident_code, name, name_gaiji, name_kana, birth, sex, address,
	address_gaiji, my_number, reason, changed_on, retention_flag, name_kana_seion,
	municipality, district_code, operator_id, terminal_id, ts, notified_on, gaiji_flag,
	removed, update_seq, name_gaiji_seq, address_gaiji_seq, former_surname,
	former_surname_gaiji, former_surname_kana, former_surname_seq, kana_surname_seion`

const recordColDefs = `
	resident_code TEXT NOT NULL, name TEXT NOT NULL, name_gaiji INTEGER NOT NULL,
	name_kana TEXT NOT NULL, birth TEXT NOT NULL, sex INTEGER NOT NULL, address TEXT NOT NULL,
	address_gaiji INTEGER NOT NULL, my_number TEXT NOT NULL, reason TEXT NOT NULL,
	changed_on TEXT NOT NULL, retention_flag INTEGER NOT NULL, name_kana_seion TEXT NOT NULL,
	municipality TEXT NOT NULL, district_code TEXT NOT NULL, operator_id TEXT NOT NULL,
	terminal_id TEXT NOT NULL, ts TEXT NOT NULL, notified_on TEXT NOT NULL,
	gaiji_flag INTEGER NOT NULL, removed INTEGER NOT NULL, update_seq INTEGER NOT NULL,
	name_gaiji_seq INTEGER NOT NULL, address_gaiji_seq INTEGER NOT NULL,
	former_surname TEXT NOT NULL, former_surname_gaiji INTEGER NOT NULL,
	former_surname_kana TEXT NOT NULL, former_surname_seq INTEGER NOT NULL,
	kana_surname_seion TEXT NOT NULL`

// migrations bring the schema from version i to i+1; PRAGMA user_version holds the
// version reached. Append only: a released migration never changes.
var migrations = []string{
	// 1: the identity file, its history, applied and rejected notifications.
	`CREATE TABLE persons (person_id INTEGER PRIMARY KEY,` + recordColDefs + `);
	CREATE UNIQUE INDEX persons_code ON persons(resident_code);
	CREATE INDEX persons_number ON persons(my_number);
	CREATE INDEX persons_kana ON persons(name_kana_seion, birth);
	CREATE INDEX persons_name ON persons(name);
	CREATE TABLE history (history_id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL,` + recordColDefs + `);
	CREATE INDEX history_person ON history(person_id);
	CREATE TABLE former_codes (code TEXT PRIMARY KEY, person_id INTEGER NOT NULL) WITHOUT ROWID;
	CREATE TABLE notifications (municipality TEXT NOT NULL, id TEXT NOT NULL,
		hash BLOB NOT NULL, update_seq INTEGER NOT NULL, person_id INTEGER NOT NULL,
		applied_at TEXT NOT NULL, PRIMARY KEY (municipality, id)) WITHOUT ROWID;
	CREATE TABLE rejections (rejection_id INTEGER PRIMARY KEY, received_at TEXT NOT NULL,
		municipality TEXT NOT NULL, id TEXT NOT NULL, line INTEGER NOT NULL,
		rule TEXT NOT NULL, message TEXT NOT NULL, content BLOB NOT NULL, ingest_id INTEGER);
	CREATE INDEX rejections_ingest ON rejections(ingest_id) WHERE ingest_id IS NOT NULL;
	CREATE TABLE ingests (ingest_id INTEGER PRIMARY KEY, source TEXT NOT NULL,
		lines_done INTEGER NOT NULL, applied INTEGER NOT NULL, duplicates INTEGER NOT NULL,
		rejected INTEGER NOT NULL, started_at TEXT NOT NULL, finished_at TEXT);
	CREATE INDEX ingests_source ON ingests(source);`,
}

// SchemaVersion is the schema version this build writes.
var SchemaVersion = len(migrations)

func migrate(db *sql.DB) error {
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("the database has schema version %d, newer than this jukiterm (%d): install the newer jukiterm", v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
	}
	return nil
}
