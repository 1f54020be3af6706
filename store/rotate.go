package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// A key rotation re-encrypts every row under new keys, in batches, while searches go
// on: from its first batch, reads accept rows under either key (keyring), so each
// search finds every person whichever batch they are in. Its state is in the meta
// table (rotation_to: the new keys' check value; rotate_*: how far each table got),
// written in the same transaction as each batch, so a rotation stopped at any point
// continues where it stopped. No ingest runs while a rotation is under way.

// ErrRotating is returned by Ingest during a key rotation.
var ErrRotating = errors.New("a storage key rotation is under way: notifications are accepted again when it has finished (`jukiterm keys rotate` shows its progress); send the file again then")

// ErrIngestRunning is returned by Rotate while an ingest runs.
var ErrIngestRunning = errors.New("an ingest is running: start the key rotation when it has finished")

// RotationBatch is the number of rows re-encrypted in one transaction.
var RotationBatch = 500

// RotationProgress says how far a rotation got: rows re-encrypted of the rows to do.
type RotationProgress struct {
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
}

// Rotating tells whether a key rotation is under way.
func (s *Store) Rotating() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rotating
}

// Rotated tells whether the file was found entirely under Options.NextKeys: a
// rotation finished before the key file dropped the old key, which it can do now.
func (s *Store) Rotated() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rotated
}

func (s *Store) beginIngest() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rotating {
		return ErrRotating
	}
	s.ingesting++
	return nil
}

func (s *Store) endIngest() {
	s.mu.Lock()
	s.ingesting--
	s.mu.Unlock()
}

// Rotate re-encrypts the whole file under next, or continues the rotation to next
// that is under way. It returns when every row is under next and the file names next
// as its key; the old keys are then of no use for it. progress, if set, is called
// after each batch. A cancelled ctx stops it between batches; it continues later.
func (s *Store) Rotate(ctx context.Context, next *Keys, progress func(RotationProgress)) error {
	if err := s.beginRotation(next); err != nil {
		return err
	}
	p, err := s.rotationTotals()
	if err != nil {
		return err
	}
	for _, step := range []func(*keyring) (int, error){s.rotatePersons, s.rotateNotifications, s.rotateRejections} {
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			n, err := s.rotationStep(step)
			if err != nil {
				return fmt.Errorf("key rotation: %w", err)
			}
			if n == 0 {
				break
			}
			p.Done += int64(n)
			if progress != nil {
				progress(p)
			}
		}
	}
	return s.finishRotation(next)
}

// BeginRotation records that the file is rotating to next (the key file must hold next
// already): from then on reads accept rows under either key and ingests are refused.
// It fails, changing nothing, while an ingest runs. Rotate then does the work.
func (s *Store) BeginRotation(next *Keys) error { return s.beginRotation(next) }

func (s *Store) beginRotation(next *Keys) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errors.New("the identity file is closed")
	case s.rotating && s.keys().cur != next:
		return errors.New("another key rotation is under way: it must finish first")
	case s.rotating:
		return s.secureDelete(true)
	case s.ingesting > 0:
		return ErrIngestRunning
	}
	tx, err := s.w.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`DELETE FROM meta WHERE name LIKE 'rotate\_%' ESCAPE '\'`); err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT OR REPLACE INTO meta (name, value) VALUES ('rotation_to', ?)`, next.check()); err != nil {
		return err
	}
	// Finished ingests need no source; an interrupted one cannot be resumed under new
	// keys (its source is keyed): sending its file again re-applies it line by line.
	if _, err := tx.Exec(`UPDATE ingests SET source = X'' WHERE source <> X''`); err != nil {
		return err
	}
	// The log's lookup key is sealed under the new key but stays the same, so lookups
	// of values logged before the rotation still find them.
	if err := s.resealLogKey(tx, next); err != nil {
		return fmt.Errorf("re-seal the operation log's lookup key: %w", err)
	}
	mark := s.logMark()
	if _, err := s.appendInTx(tx, Entry{Operator: "jukitermd", Action: "key.rotation.begin"}); err != nil {
		s.logUndo(mark)
		return err
	}
	if err := tx.Commit(); err != nil {
		s.logUndo(mark)
		return err
	}
	s.kr.Store(&keyring{cur: next, old: s.keys().cur})
	s.readers.Lock() // wait for searches that began with the old keys alone
	s.readers.Unlock()
	s.rotating = true
	return s.secureDelete(true)
}

// secureDelete makes SQLite overwrite what it deletes, so that no row under the old
// keys lingers in free pages after a rotation.
func (s *Store) secureDelete(on bool) error {
	_, err := s.w.Exec(fmt.Sprintf(`PRAGMA secure_delete = %t`, on))
	return err
}

// rotationTotals counts the rows to re-encrypt and those done before (by an earlier,
// interrupted run of the same rotation).
func (s *Store) rotationTotals() (RotationProgress, error) {
	var p RotationProgress
	err := s.r.QueryRow(`SELECT (SELECT COUNT(*) FROM persons) + (SELECT COUNT(*) FROM notifications) + (SELECT COUNT(*) FROM rejections)`).Scan(&p.Total)
	if err != nil {
		return p, err
	}
	var person, rejection int64
	muni, id, err := s.notificationCursor()
	if err != nil {
		return p, err
	}
	if person, err = s.cursor("rotate_persons"); err != nil {
		return p, err
	}
	if rejection, err = s.cursor("rotate_rejections"); err != nil {
		return p, err
	}
	err = s.r.QueryRow(`SELECT (SELECT COUNT(*) FROM persons WHERE person_id <= ?)
		+ (SELECT COUNT(*) FROM notifications WHERE (municipality, id) <= (?, ?))
		+ (SELECT COUNT(*) FROM rejections WHERE rejection_id <= ?)`, person, muni, id, rejection).Scan(&p.Done)
	return p, err
}

// rotationStep runs one batch of a table's re-encryption in a transaction.
func (s *Store) rotationStep(step func(*keyring) (int, error)) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errors.New("the identity file is closed")
	}
	tx, err := s.w.Begin()
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	s.rtx = tx
	defer func() { s.rtx = nil }()
	n, err := step(s.keys())
	if err != nil || n == 0 {
		return 0, err
	}
	return n, tx.Commit()
}

// cursor reads how far a table's rotation got, inside the batch's transaction when
// one runs.
func (s *Store) cursor(name string) (int64, error) {
	var v int64
	err := s.query().QueryRow(`SELECT CAST(value AS INTEGER) FROM meta WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

func (s *Store) notificationCursor() (string, string, error) {
	var muni, id string
	err := s.query().QueryRow(`SELECT CAST(a.value AS TEXT), CAST(b.value AS TEXT) FROM meta a, meta b
		WHERE a.name = 'rotate_notifications_municipality' AND b.name = 'rotate_notifications_id'`).Scan(&muni, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	return muni, id, err
}

// query is the rotation batch's transaction when one runs, else the write connection.
func (s *Store) query() interface {
	QueryRow(string, ...any) *sql.Row
} {
	if s.rtx != nil {
		return s.rtx
	}
	return s.w
}

func (s *Store) setCursor(name string, v any) error {
	_, err := s.rtx.Exec(`INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)`, name, v)
	return err
}

// finishRotation names next as the file's key once every row is under it.
func (s *Store) finishRotation(next *Keys) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.w.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`UPDATE meta SET value = ? WHERE name = 'key_check'`, next.check()); err != nil {
		return err
	}
	if _, err := tx.Exec(`DELETE FROM meta WHERE name = 'rotation_to' OR name LIKE 'rotate\_%' ESCAPE '\'`); err != nil {
		return err
	}
	mark := s.logMark()
	if _, err := s.appendInTx(tx, Entry{Operator: "jukitermd", Action: "key.rotation.finish"}); err != nil {
		s.logUndo(mark)
		return err
	}
	if err := tx.Commit(); err != nil {
		s.logUndo(mark)
		return err
	}
	s.kr.Store(&keyring{cur: next})
	s.rotating, s.rotated = false, true
	// Free space inside pages and free pages may still hold bytes written under the old
	// keys, and the WAL page images from before: VACUUM rewrites the file from its live
	// rows only, and a truncating checkpoint ends the WAL.
	if _, err := s.w.Exec(`VACUUM`); err != nil {
		return fmt.Errorf("the rotation finished, but rewriting the file without the old keys' leftovers failed: %w", err)
	}
	if err := s.truncateWAL(); err != nil {
		return err
	}
	return s.secureDelete(false)
}

// truncateWAL checkpoints the WAL and truncates it to nothing, waiting for readers
// that still hold older snapshots (a long bulk search): each try waits up to the busy
// timeout, for about ten minutes in all.
func (s *Store) truncateWAL() error {
	for try := 0; try < 60; try++ {
		var busy, logPages, done int
		if err := s.w.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logPages, &done); err != nil {
			return err
		}
		if busy == 0 {
			return nil
		}
	}
	return errors.New("the rotation finished, but readers kept the WAL from being truncated for ten minutes: it still holds page images under the old keys until the next checkpoint; restart jukitermd when it is quiet")
}
