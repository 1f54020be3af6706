package store

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"hash"
	"sync"
)

// The log's lookup key: HMAC-SHA-256 of every personal value in an entry, so that
// `jukiterm audit lookup VALUE` finds where a value appears without the log holding
// it (as Vault's audit devices hash values). It is a random key of its own, made with
// the log, and kept in the meta table sealed (AES-256-GCM) under the storage key's
// record key. It is not derived from the storage key: a storage-key rotation re-seals
// it under the new key (beginRotation) but never changes it, so the HMACs of entries
// written years before still match a lookup.

const logKeyMeta = "oplog_lookup_key"

var logKeyAAD = []byte("jukiterm oplog lookup key")

type logKey struct {
	raw  []byte
	pool sync.Pool
}

func newLogKey(raw []byte) *logKey {
	k := &logKey{raw: raw}
	k.pool.New = func() any { return hmac.New(sha256.New, raw) }
	return k
}

func (k *logKey) String() string { return "logKey(secret)" }

// mac is the HMAC of a personal value under the lookup key.
func (k *logKey) mac(value string) []byte {
	h := k.pool.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(value))
	m := h.Sum(nil)
	k.pool.Put(h)
	return m
}

// loadLogKey opens the lookup key, making it on the first open of a file.
func (s *Store) loadLogKey() error {
	sealed, err := s.metaValue(logKeyMeta)
	if err != nil {
		return err
	}
	if sealed == nil {
		raw := make([]byte, 32)
		rand.Read(raw)
		if _, err := s.w.Exec(`INSERT INTO meta (name, value) VALUES (?, ?)`, logKeyMeta, s.keys().cur.seal(raw, logKeyAAD)); err != nil {
			return fmt.Errorf("store the operation log's lookup key: %w", err)
		}
		s.logKey = newLogKey(raw)
		return nil
	}
	raw, err := s.keys().open(sealed, logKeyAAD)
	if err != nil {
		return fmt.Errorf("the operation log's lookup key does not open with this storage key (the meta table was altered?): %w", err)
	}
	s.logKey = newLogKey(raw)
	return nil
}

// resealLogKey seals the lookup key under next inside a rotation's first transaction.
func (s *Store) resealLogKey(tx *sql.Tx, next *Keys) error {
	_, err := tx.Exec(`UPDATE meta SET value = ? WHERE name = ?`, next.seal(s.logKey.raw, logKeyAAD), logKeyMeta)
	return err
}
