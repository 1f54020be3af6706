package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sync"
)

// Keys encrypt the personal items of every stored row (AES-256-GCM, the additional
// data binding each ciphertext to its row and version) and compute the blind indexes
// (HMAC-SHA-256) that exact searches use. Each purpose has its own key, derived from
// the storage key.
type Keys struct {
	aead  cipher.AEAD
	index map[string][]byte
	pool  map[string]*sync.Pool
}

// Blind index kinds, each with its own key.
const (
	ixCode        = "index resident code"
	ixNumber      = "index my number"
	ixKana        = "index kana name"
	ixKanaSurname = "index kana surname"
	ixName        = "index name"
	ixNameSurname = "index name surname"
	ixBirth       = "index birth"
	ixSource      = "ingest source"
	ixKeyCheck    = "key check"
)

// NewKeys derives the store's keys; derive returns 32 bytes for a purpose (the storage
// key's HKDF, hsm.DEK.Derive).
func NewKeys(derive func(purpose string) []byte) (*Keys, error) {
	block, err := aes.NewCipher(derive("records"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	k := &Keys{aead: aead, index: map[string][]byte{}, pool: map[string]*sync.Pool{}}
	for _, kind := range []string{ixCode, ixNumber, ixKana, ixKanaSurname, ixName, ixNameSurname, ixBirth, ixSource, ixKeyCheck} {
		key := derive(kind)
		k.index[kind] = key
		k.pool[kind] = &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}
	}
	return k, nil
}

// ErrNoKeys is returned by Open without keys: the file is never served in the clear.
var ErrNoKeys = errors.New("no storage key: the identity file is encrypted and cannot be opened without it")

// ErrWrongKey says the identity file was made under another storage key.
var ErrWrongKey = errors.New("the identity file belongs to another storage key: it cannot be served with this one")

// ErrOldFormat says the file was made by a build that stored records in the clear.
var ErrOldFormat = errors.New("the identity file was made by an earlier development build whose layout cannot be carried over: make a new identity file (jukiterm init) and ingest the notifications again")

// checkKey binds the file to its storage key: the first open of an empty file records
// a check value; every later open must match it, so that no file is served (or
// written) under a key it was not made with. During a key rotation the file also
// records the new key's check value, and the key file must hold that key too.
func (s *Store) checkKey() error {
	var cols int
	if err := s.w.QueryRow(`SELECT COUNT(*) FROM pragma_table_info('persons') WHERE name = 'data'`).Scan(&cols); err != nil {
		return err
	}
	if cols == 0 {
		return ErrOldFormat
	}
	cur, next := s.opt.Keys, s.opt.NextKeys
	have, err := s.metaValue("key_check")
	if err != nil {
		return err
	}
	to, err := s.metaValue("rotation_to")
	if err != nil {
		return err
	}
	switch {
	case have != nil && hmac.Equal(have, cur.check()):
		if to == nil {
			s.kr.Store(&keyring{cur: cur})
			return nil
		}
		if next == nil || !hmac.Equal(to, next.check()) {
			return ErrRotationKey
		}
		s.kr.Store(&keyring{cur: next, old: cur})
		s.rotating = true
		return nil
	case have != nil && next != nil && hmac.Equal(have, next.check()):
		s.kr.Store(&keyring{cur: next})
		s.rotated = true
		return nil
	case have != nil:
		return ErrWrongKey
	}
	var rows int
	if err := s.w.QueryRow(`SELECT (SELECT COUNT(*) FROM persons) + (SELECT COUNT(*) FROM rejections)`).Scan(&rows); err != nil {
		return err
	}
	if rows > 0 {
		return ErrWrongKey
	}
	if _, err := s.w.Exec(`INSERT INTO meta (name, value) VALUES ('key_check', ?)`, cur.check()); err != nil {
		return err
	}
	s.kr.Store(&keyring{cur: cur})
	return nil
}

// check is the value that names these keys in the file's meta table.
func (k *Keys) check() []byte { return k.blind(ixKeyCheck, "jukiterm identity file") }

// metaValue reads a meta row; nil when absent.
func (s *Store) metaValue(name string) ([]byte, error) {
	var v []byte
	err := s.w.QueryRow(`SELECT value FROM meta WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return v, err
}

// ErrRotationKey says a key rotation is under way in the file but the key file does
// not hold its new key.
var ErrRotationKey = errors.New("a key rotation is under way in the identity file, but the key file does not hold its new key")

// ErrUndecryptable says a row does not open with these keys (another storage key, or
// a changed row).
var ErrUndecryptable = errors.New("a record does not open with this storage key (wrong key, or the file was altered)")

// blind computes the blind index of value for kind.
func (k *Keys) blind(kind, value string) []byte {
	p := k.pool[kind]
	h := p.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(value))
	sum := h.Sum(nil)
	p.Put(h)
	return sum
}

// seal encrypts plaintext for the row named by aad: nonce || ciphertext.
func (k *Keys) seal(plaintext, aad []byte) []byte {
	out := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return k.aead.Seal(out, out, plaintext, aad)
}

func (k *Keys) open(sealed, aad []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, ErrUndecryptable
	}
	p, err := k.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrUndecryptable
	}
	return p, nil
}

// rowAAD names a stored version: its table, person and 更新順番号.
func rowAAD(table string, personID, seq int64) []byte {
	return fmt.Appendf(nil, "jukiterm %s %d %d", table, personID, seq)
}

// rejected is the plaintext of a rejection: its message (which may name a code) and
// the line as received.
type rejected struct {
	Message string
	Line    []byte
}

func rejectionAAD(muni, id string, line int, at string) []byte {
	return fmt.Appendf(nil, "jukiterm rejection %q %q %d %s", muni, id, line, at)
}

func (k *Keys) sealRejection(muni, id string, line int, at, message string, text []byte) []byte {
	b, err := json.Marshal(rejected{message, text})
	if err != nil {
		panic(err)
	}
	return k.seal(b, rejectionAAD(muni, id, line, at))
}

// EphemeralKeys returns keys from a random storage key that nobody keeps: for
// benchmarks and tests, whose files are thrown away.
func EphemeralKeys() *Keys {
	root := make([]byte, 32)
	rand.Read(root)
	k, err := NewKeys(func(purpose string) []byte {
		m := hmac.New(sha256.New, root)
		m.Write([]byte(purpose))
		return m.Sum(nil)
	})
	if err != nil {
		panic(err)
	}
	return k
}
