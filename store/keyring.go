package store

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"strings"

	"jukiterm/store/record"
)

// keyring holds the keys a file is read and written with. Outside a key rotation it
// is one set; during one, writes use the new keys and reads accept rows under either,
// so that searches keep working while rows move from the old keys to the new.
type keyring struct {
	cur *Keys // every write
	old *Keys // the keys being rotated away from; nil outside a rotation
}

// keys returns the keyring in force now.
func (s *Store) keys() *keyring { return s.kr.Load() }

// readKeys returns the keyring for a search, which must call done when it has read
// its rows: a rotation begins only once no search holds the keys from before it
// (which would miss rows re-encrypted meanwhile).
func (s *Store) readKeys() (kr *keyring, done func()) {
	s.readers.RLock()
	return s.keys(), s.readers.RUnlock
}

// blinds returns the blind index of value under each key, as query arguments.
func (kr *keyring) blinds(kind, value string) []any {
	if kr.old == nil {
		return []any{kr.cur.blind(kind, value)}
	}
	return []any{kr.cur.blind(kind, value), kr.old.blind(kind, value)}
}

// eq is the condition that col holds one of blinds' values.
func (kr *keyring) eq(col string) string {
	if kr.old == nil {
		return col + " = ?"
	}
	return col + " IN (?, ?)"
}

// open decrypts with the current keys, or the old ones during a rotation.
func (kr *keyring) open(sealed, aad []byte) ([]byte, error) {
	p, err := kr.cur.open(sealed, aad)
	if err != nil && kr.old != nil {
		return kr.old.open(sealed, aad)
	}
	return p, err
}

// openRecord decrypts a row's data; the row's person id and 更新順番号 must match the
// ones sealed in, or it does not open.
func (kr *keyring) openRecord(table string, id, seq int64, data []byte) (record.Record, error) {
	p, err := kr.open(data, rowAAD(table, id, seq))
	if err != nil {
		return record.Record{}, fmt.Errorf("%s row of person %d: %w", table, id, err)
	}
	var s stored
	if err := json.Unmarshal(p, &s); err != nil {
		return record.Record{}, fmt.Errorf("%s row of person %d: %w", table, id, err)
	}
	return s.record(id), nil
}

// scanPerson reads person_id, update_seq, data and decrypts.
func (kr *keyring) scanPerson(table string, s scanner) (record.Record, error) {
	var id, seq int64
	var data []byte
	if err := s.Scan(&id, &seq, &data); err != nil {
		return record.Record{}, err
	}
	return kr.openRecord(table, id, seq, data)
}

func (kr *keyring) openRejection(muni, id string, line int, at string, data []byte) (rejected, error) {
	var r rejected
	p, err := kr.open(data, rejectionAAD(muni, id, line, at))
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(p, &r)
}

// A notification's content digest (SHA-256 of its canonical form) is kept encrypted,
// bound to its municipality and id, so a resend can be recognised without the file
// holding a value that identifies the content, and a key rotation can re-encrypt it.
func notificationAAD(muni, id string) []byte {
	return fmt.Appendf(nil, "jukiterm notification %q %q", muni, id)
}

func (k *Keys) sealDigest(muni, id string, canonical []byte) []byte {
	d := sha256.Sum256(canonical)
	return k.seal(d[:], notificationAAD(muni, id))
}

// sameContent tells whether the sealed digest of an applied notification is that of
// canonical.
func (kr *keyring) sameContent(sealed []byte, muni, id string, canonical []byte) (bool, error) {
	d, err := kr.open(sealed, notificationAAD(muni, id))
	if err != nil {
		return false, fmt.Errorf("notification %s from %s: %w", id, muni, err)
	}
	want := sha256.Sum256(canonical)
	return subtle.ConstantTimeCompare(d, want[:]) == 1, nil
}

// inList is "?, ?, …" for n arguments.
func inList(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }
