package store

import (
	"database/sql"
	"fmt"
)

// migrations bring the schema from version i to i+1; PRAGMA user_version holds the
// version reached. Append only: a released migration never changes.
var migrations = []string{
	// 1: the identity file, its history, applied and rejected notifications. Personal
	// items are only in data (encrypted, see crypt.go) and in blind indexes.
	`CREATE TABLE persons (person_id INTEGER PRIMARY KEY, code_idx BLOB NOT NULL,
		number_idx BLOB NOT NULL, kana_idx BLOB NOT NULL, kana_surname_idx BLOB NOT NULL,
		name_idx BLOB NOT NULL, name_surname_idx BLOB NOT NULL, birth_idx BLOB NOT NULL,
		municipality TEXT NOT NULL, removed INTEGER NOT NULL, update_seq INTEGER NOT NULL,
		data BLOB NOT NULL);
	CREATE UNIQUE INDEX persons_code ON persons(code_idx);
	CREATE INDEX persons_number ON persons(number_idx);
	CREATE INDEX persons_kana ON persons(kana_idx, birth_idx);
	CREATE INDEX persons_kana_surname ON persons(kana_surname_idx, birth_idx);
	CREATE INDEX persons_name ON persons(name_idx, birth_idx);
	CREATE INDEX persons_name_surname ON persons(name_surname_idx, birth_idx);
	CREATE INDEX persons_birth ON persons(birth_idx);
	CREATE TABLE history (history_id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL,
		update_seq INTEGER NOT NULL, data BLOB NOT NULL);
	CREATE INDEX history_person ON history(person_id);
	CREATE TABLE former_codes (code_idx BLOB PRIMARY KEY, person_id INTEGER NOT NULL) WITHOUT ROWID;
	CREATE TABLE notifications (municipality TEXT NOT NULL, id TEXT NOT NULL,
		hash BLOB NOT NULL, update_seq INTEGER NOT NULL, person_id INTEGER NOT NULL,
		applied_at TEXT NOT NULL, PRIMARY KEY (municipality, id)) WITHOUT ROWID;
	CREATE TABLE rejections (rejection_id INTEGER PRIMARY KEY, received_at TEXT NOT NULL,
		municipality TEXT NOT NULL, id TEXT NOT NULL, line INTEGER NOT NULL,
		rule TEXT NOT NULL, data BLOB NOT NULL, ingest_id INTEGER);
	CREATE INDEX rejections_ingest ON rejections(ingest_id) WHERE ingest_id IS NOT NULL;
	CREATE TABLE ingests (ingest_id INTEGER PRIMARY KEY, source BLOB NOT NULL,
		lines_done INTEGER NOT NULL, applied INTEGER NOT NULL, duplicates INTEGER NOT NULL,
		rejected INTEGER NOT NULL, started_at TEXT NOT NULL, finished_at TEXT);
	CREATE INDEX ingests_source ON ingests(source);
	CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;`,

	// 2: operators (staff, not residents: kept in the clear), their rights, and the
	// rights ledger (every grant, revocation, reset, enrolment and inventory).
	`CREATE TABLE operators (operator_id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
		display TEXT NOT NULL, slot INTEGER UNIQUE, failures INTEGER NOT NULL DEFAULT 0,
		last_failure TEXT, disabled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
		last_login TEXT, removed_at TEXT);
	CREATE TABLE rights (right_id INTEGER PRIMARY KEY, operator_id INTEGER NOT NULL REFERENCES operators,
		role TEXT NOT NULL, granted_at TEXT NOT NULL, granted_by TEXT NOT NULL, reason TEXT NOT NULL,
		expires_at TEXT, revoked_at TEXT, revoked_by TEXT, revoke_reason TEXT, last_used TEXT);
	CREATE INDEX rights_operator ON rights(operator_id);
	CREATE TABLE rights_ledger (entry_id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL,
		action TEXT NOT NULL, operator TEXT NOT NULL, role TEXT NOT NULL, reason TEXT NOT NULL,
		detail TEXT NOT NULL);`,

	// 3: the operation log (docs/oplog.md): one row per entry with the tree hashes
	// stored for it; payload and macs are NULL once erased by retention. The HMACs of
	// personal values are indexed for audit lookup; signed checkpoints by tree size.
	`CREATE TABLE oplog (idx INTEGER PRIMARY KEY, at INTEGER NOT NULL, operator TEXT NOT NULL,
		action TEXT NOT NULL, payload BLOB, macs BLOB, digest BLOB NOT NULL, hashes BLOB NOT NULL);
	CREATE TABLE oplog_lookup (mac BLOB NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (mac, idx)) WITHOUT ROWID;
	CREATE TABLE oplog_checkpoints (size INTEGER PRIMARY KEY, note BLOB NOT NULL);`,

	// 4: applications (申請): the requests under which searches and provisions are
	// done, with their requesting body, purpose, legal basis, expected count, validity.
	`CREATE TABLE applications (app_id TEXT PRIMARY KEY, body TEXT NOT NULL, purpose TEXT NOT NULL,
		legal_basis TEXT NOT NULL, expected INTEGER NOT NULL, valid_from TEXT NOT NULL,
		valid_to TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
		closed_at TEXT, closed_by TEXT, close_reason TEXT) WITHOUT ROWID;`,

	// 5: the operation log by time, for reconcile, export and retention over a period
	// (entries come in time order, so the index only grows at its right edge).
	`CREATE INDEX oplog_at ON oplog (at);`,

	// 6: bulk provision (一括提供): the issued-media ledger (貸与), the recipients
	// (other executive bodies and departments, with the items each may receive), an
	// application's recipient, and each provision made.
	`CREATE TABLE media (serial TEXT PRIMARY KEY, vendor_id INTEGER NOT NULL, product_id INTEGER NOT NULL,
		label TEXT NOT NULL, state TEXT NOT NULL, holder TEXT, issued_at TEXT, due TEXT, reason TEXT,
		registered_at TEXT NOT NULL, registered_by TEXT NOT NULL) WITHOUT ROWID;
	CREATE TABLE media_ledger (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, serial TEXT NOT NULL,
		change TEXT NOT NULL, actor TEXT NOT NULL, holder TEXT, reason TEXT);
	CREATE TABLE recipients (recipient_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
		legal_basis TEXT NOT NULL, age_recipient TEXT NOT NULL, items TEXT NOT NULL,
		created_at TEXT NOT NULL, created_by TEXT NOT NULL) WITHOUT ROWID;
	ALTER TABLE applications ADD COLUMN recipient_id TEXT;
	CREATE TABLE provisions (prov_id TEXT PRIMARY KEY, at TEXT NOT NULL, application TEXT NOT NULL,
		recipient TEXT NOT NULL, kind TEXT NOT NULL, operator TEXT NOT NULL, medium TEXT NOT NULL, queries INTEGER NOT NULL,
		matched INTEGER NOT NULL, not_found INTEGER NOT NULL, update_seq INTEGER NOT NULL,
		request_sha256 TEXT NOT NULL, outcome TEXT NOT NULL, manifest_sha256 TEXT, message TEXT) WITHOUT ROWID;`,

	// 7: an ingest is streamed and named by the SHA-256 its sender declares, so a
	// resumed one is checked against the (keyed) digest of the lines already durable.
	// An ingest interrupted before this version has no such digest and cannot be
	// checked: it is closed, and its file, sent again, is read afresh.
	`ALTER TABLE ingests ADD COLUMN prefix_sha256 BLOB;
	UPDATE ingests SET source = X'', finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE finished_at IS NULL;`,

	// 8: links (docs/links.md): the outbox of applied updates for the national server,
	// written in each update's transaction and trimmed on its acknowledgement (the
	// version itself is read from persons or history when sent), and each CS link's
	// sequence number reached, kept in the transaction of the notifications it brought;
	// the pinned peers (a removed one keeps its row, with removed_at). And the service
	// sessions' entries of the operation log by time (a partial index: only those rows),
	// so a transcript reads them alone.
	`CREATE INDEX oplog_service ON oplog (at) WHERE action LIKE 'service.%';
	CREATE TABLE peers (peer_id INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
		municipality TEXT NOT NULL, address TEXT NOT NULL, spki_sha256 TEXT NOT NULL,
		not_after TEXT NOT NULL, reason TEXT NOT NULL, added_at TEXT NOT NULL, added_by TEXT NOT NULL,
		removed_at TEXT, removed_by TEXT);
	CREATE TABLE outbox (update_seq INTEGER PRIMARY KEY, person_id INTEGER NOT NULL, queued_at TEXT NOT NULL);
	CREATE TABLE link_cs (municipality TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, updated_at TEXT NOT NULL) WITHOUT ROWID;`,
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
	if v == 1 {
		// Files of schema 1 made before notification digests were encrypted hold a
		// keyed hash there, which no key rotation could carry over.
		var old bool
		if err := db.QueryRow(`SELECT EXISTS (SELECT 1 FROM notifications)`).Scan(&old); err != nil {
			return err
		}
		if old {
			return ErrOldFormat
		}
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
