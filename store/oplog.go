package store

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"
)

// The operation log (操作履歴, docs/oplog.md): every operation appends an entry in the
// same transaction as its effect. Entries are the leaves of an RFC 6962 Merkle tree
// (golang.org/x/mod/sumdb/tlog); each row keeps the tree hashes that tlog stores for
// it, so that proofs and checkpoints need only O(log n) rows. A leaf commits to a
// digest of the entry's payload, not to the payload itself, so that retention can
// erase payloads and the tree still verifies.

// Entry is one operation to log. Personal values go in Keyed, never in Detail: the
// log keeps only their keyed HMACs (audit lookup finds them again).
type Entry struct {
	At       time.Time      // when; zero: the store's clock at append
	Operator string         // who: an operator's name, "jukitermd" or "system"
	Action   string         // what: e.g. "signin.success", "search", "view", "ingest.batch"
	Detail   map[string]any // not personal: counts, rules, ids of applications, reasons
	Keyed    []Keyed        // personal values (search keys, codes), stored as HMACs
}

// Keyed is a personal value in an entry: Field names it ("resident_code"), Value is
// the value itself, as searched or shown (normalised by the caller as it searches).
type Keyed struct {
	Field string
	Value string
}

// ErrBadEntry says an entry cannot be logged as given (a bug in the caller).
var ErrBadEntry = errors.New("operation log entry refused")

// ErrLogClosed says the log (and its identity file) is closed.
var ErrLogClosed = errors.New("the operation log is closed: the operation is refused (restart jukitermd)")

var actionName = regexp.MustCompile(`^[a-z][a-z0-9._-]{0,63}$`)

// MaxPayload bounds an entry's stored payload (detail and HMACs).
const MaxPayload = 64 << 10

// payload is the stored form of an entry's detail and keyed values.
type payload struct {
	Detail map[string]any `json:"detail,omitempty"`
	Keyed  []keyedMAC     `json:"keyed,omitempty"`
}

type keyedMAC struct {
	Field string `json:"field"`
	MAC   string `json:"mac"` // base64 (standard) of HMAC-SHA-256 under the lookup key
}

// prepared is an entry ready to append: everything but its index and tree hashes,
// computed outside the writer's lock.
type prepared struct {
	at       int64 // Unix nanoseconds, UTC
	operator string
	action   string
	payload  []byte
	macs     []byte // the distinct HMACs, sorted, 32 bytes each
	digest   [sha256.Size]byte
}

// prepare checks e and computes its stored form.
func (s *Store) prepare(e Entry) (*prepared, error) {
	if !validText(e.Operator, 64) {
		return nil, fmt.Errorf("%w: operator %q must be 1–64 printable characters", ErrBadEntry, e.Operator)
	}
	if !actionName.MatchString(e.Action) {
		return nil, fmt.Errorf("%w: action %q must be lower-case letters, digits, '.', '_' or '-'", ErrBadEntry, e.Action)
	}
	at := e.At
	if at.IsZero() {
		at = s.now()
	}
	p := payload{Detail: e.Detail}
	var macs [][]byte
	for _, k := range e.Keyed {
		if !validText(k.Field, 64) {
			return nil, fmt.Errorf("%w: keyed field name %q", ErrBadEntry, k.Field)
		}
		m := s.logKey.mac(k.Value)
		p.Keyed = append(p.Keyed, keyedMAC{Field: k.Field, MAC: base64.StdEncoding.EncodeToString(m)})
		macs = append(macs, m)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("%w: detail: %w", ErrBadEntry, err)
	}
	if len(b) > MaxPayload {
		return nil, fmt.Errorf("%w: payload of %d bytes, more than %d", ErrBadEntry, len(b), MaxPayload)
	}
	slices.SortFunc(macs, bytes.Compare)
	macs = slices.CompactFunc(macs, bytes.Equal)
	pr := &prepared{at: at.UnixNano(), operator: e.Operator, action: e.Action, payload: b, macs: bytes.Join(macs, nil)}
	pr.digest = payloadDigest(pr.payload, pr.macs)
	return pr, nil
}

func validText(s string, max int) bool {
	if s == "" || len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// payloadDigest is SHA-256(uvarint(len(payload)) || payload || macs): what the leaf
// commits to, so that both columns can be erased and the leaf still checked.
func payloadDigest(payload, macs []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write(binary.AppendUvarint(nil, uint64(len(payload))))
	h.Write(payload)
	h.Write(macs)
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}

// leafVersion is the first byte of every leaf's canonical bytes.
const leafVersion = 1

// leafBytes is an entry's canonical form, whose RFC 6962 leaf hash
// (SHA-256(0x00 || bytes), tlog.RecordHash) is the tree's leaf:
//
//	0x01 || idx (8 bytes, big-endian) || at (8 bytes, big-endian Unix ns)
//	     || uvarint(len(operator)) || operator || uvarint(len(action)) || action
//	     || payload digest (32 bytes)
func leafBytes(idx, at int64, operator, action string, digest []byte) []byte {
	b := make([]byte, 0, 1+8+8+2+len(operator)+2+len(action)+len(digest))
	b = append(b, leafVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(idx))
	b = binary.BigEndian.AppendUint64(b, uint64(at))
	b = binary.AppendUvarint(b, uint64(len(operator)))
	b = append(b, operator...)
	b = binary.AppendUvarint(b, uint64(len(action)))
	b = append(b, action...)
	return append(b, digest...)
}

// logState is what the writer knows of the tree: the next index and, at each level,
// the last complete subtree's hash (all that tlog needs to store the next record's
// hashes and to hash the whole tree). Guarded by s.mu; a copy taken before a write
// transaction is put back if that transaction does not commit.
type logState struct {
	n     int64
	front frontier
}

// logMark returns the log's state before a write transaction; logUndo puts it back
// when the transaction did not commit, so its indexes are given back.
func (s *Store) logMark() logState  { return s.log }
func (s *Store) logUndo(m logState) { s.log = m }

const insertEntry = `INSERT INTO oplog (idx, at, operator, action, payload, macs, digest, hashes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
const insertLookup = `INSERT INTO oplog_lookup (mac, idx) VALUES (?, ?)`

// appendInTx appends e inside tx, the caller's write transaction, and returns its
// index. The caller holds s.mu, and if tx does not commit it puts the log's state
// back (logUndo with the logMark taken before tx began); writeTx and the ingest
// batches do this.
func (s *Store) appendInTx(tx *sql.Tx, e Entry) (int64, error) {
	p, err := s.prepare(e)
	if err != nil {
		return 0, err
	}
	return s.insertPrepared(tx, p)
}

func (s *Store) insertPrepared(tx *sql.Tx, p *prepared) (int64, error) {
	if s.logKey == nil {
		return 0, ErrLogClosed
	}
	idx := s.log.n
	leaf := leafBytes(idx, p.at, p.operator, p.action, p.digest[:])
	hs, err := tlog.StoredHashes(idx, leaf, &s.log.front)
	if err != nil {
		return 0, fmt.Errorf("operation log entry %d: %w", idx, err)
	}
	var pl, macs any = p.payload, nil
	if len(p.macs) > 0 {
		macs = p.macs
	}
	if _, err := tx.Stmt(s.logStmt.entry).Exec(idx, p.at, p.operator, p.action, pl, macs, p.digest[:], joinHashes(hs)); err != nil {
		return 0, fmt.Errorf("write operation log entry %d: %w", idx, err)
	}
	if len(p.macs) > 0 {
		st := tx.Stmt(s.logStmt.lookup)
		for m := range slices.Chunk(p.macs, sha256.Size) {
			if _, err := st.Exec(m, idx); err != nil {
				return 0, fmt.Errorf("write operation log lookup of entry %d: %w", idx, err)
			}
		}
	}
	s.log.front.add(idx, hs)
	s.log.n++
	return idx, nil
}

func joinHashes(hs []tlog.Hash) []byte {
	b := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// now is the store's clock (Options.Now, which tests move).
func (s *Store) now() time.Time {
	if s.opt.Now != nil {
		return s.opt.Now().UTC()
	}
	return time.Now().UTC()
}
