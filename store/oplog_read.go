package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// LogEntry is a stored entry as an auditor sees it.
type LogEntry struct {
	Index    int64          `json:"index"`
	At       time.Time      `json:"at"`
	Operator string         `json:"operator"`
	Action   string         `json:"action"`
	Detail   map[string]any `json:"detail,omitempty"`
	Keyed    []KeyedMAC     `json:"keyed,omitempty"`
	Erased   bool           `json:"erased,omitempty"` // payload erased by retention (archived before)
}

// KeyedMAC is a personal value's field and its HMAC (base64) in a stored entry.
type KeyedMAC struct {
	Field string `json:"field"`
	MAC   string `json:"mac"`
}

// row is an oplog row as stored.
type row struct {
	idx              int64
	at               int64
	operator, action string
	payload, macs    []byte // nil once erased
	digest, hashes   []byte
}

const rowCols = `idx, at, operator, action, payload, macs, digest, hashes`

func scanRow(sc scanner, r *row) error {
	return sc.Scan(&r.idx, &r.at, &r.operator, &r.action, &r.payload, &r.macs, &r.digest, &r.hashes)
}

// intact tells whether the row's payload and HMACs match its digest (erased rows have
// none to match).
func (r *row) intact() bool {
	if r.payload == nil {
		return r.macs == nil
	}
	d := payloadDigest(r.payload, r.macs)
	return bytes.Equal(d[:], r.digest)
}

func (r *row) leaf() []byte { return leafBytes(r.idx, r.at, r.operator, r.action, r.digest) }

func (r *row) entry() (LogEntry, error) {
	e := LogEntry{Index: r.idx, At: time.Unix(0, r.at).UTC(), Operator: r.operator, Action: r.action, Erased: r.payload == nil}
	if r.payload == nil {
		return e, nil
	}
	var p payload
	if err := json.Unmarshal(r.payload, &p); err != nil {
		return e, fmt.Errorf("%w: entry %d: payload: %w", ErrLogTampered, r.idx, err)
	}
	e.Detail = p.Detail
	for _, k := range p.Keyed {
		e.Keyed = append(e.Keyed, KeyedMAC(k))
	}
	return e, nil
}

// ReadLog returns up to limit entries from index from on, each checked against its
// digest (a changed row is an error: run VerifyLog).
func (s *Store) ReadLog(ctx context.Context, from int64, limit int) ([]LogEntry, error) {
	return s.readEntries(ctx, `WHERE idx >= ? ORDER BY idx LIMIT ?`, from, limit)
}

// readEntries returns the entries that the clause (after FROM oplog) selects, each
// checked against its digest.
func (s *Store) readEntries(ctx context.Context, clause string, args ...any) ([]LogEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+rowCols+` FROM oplog `+clause, args...)
	if err != nil {
		return nil, fmt.Errorf("read the operation log: %w", err)
	}
	defer rows.Close()
	out := []LogEntry{}
	for rows.Next() {
		var r row
		if err := scanRow(rows, &r); err != nil {
			return nil, err
		}
		if !r.intact() {
			return nil, fmt.Errorf("%w: entry %d does not match its digest (run jukiterm audit verify)", ErrLogTampered, r.idx)
		}
		e, err := r.entry()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// LookupHit is an entry in which a looked-up value appears, and in which fields.
type LookupHit struct {
	Index    int64     `json:"index"`
	At       time.Time `json:"at"`
	Operator string    `json:"operator"`
	Action   string    `json:"action"`
	Fields   []string  `json:"fields"`
}

// Lookup tells whether and when value appears in the log (as a personal value of an
// entry not yet erased), without the log holding it: it looks up the value's HMAC
// under the log's lookup key. Each hit is checked against its entry's digest.
func (s *Store) Lookup(ctx context.Context, value string) ([]LookupHit, error) {
	if s.logKey == nil {
		return nil, ErrLogClosed
	}
	mac := s.logKey.mac(value)
	rows, err := s.r.QueryContext(ctx, `SELECT `+rowCols+` FROM oplog WHERE idx IN
		(SELECT idx FROM oplog_lookup WHERE mac = ?) ORDER BY idx`, mac)
	if err != nil {
		return nil, fmt.Errorf("audit lookup: %w", err)
	}
	defer rows.Close()
	want := base64.StdEncoding.EncodeToString(mac)
	hits := []LookupHit{}
	for rows.Next() {
		var r row
		if err := scanRow(rows, &r); err != nil {
			return nil, err
		}
		e, err := r.entry()
		if err != nil {
			return nil, err
		}
		if !r.intact() || !containsMAC(r.macs, mac) {
			return nil, fmt.Errorf("%w: entry %d does not hold the value its lookup row says (run jukiterm audit verify)", ErrLogTampered, r.idx)
		}
		h := LookupHit{Index: e.Index, At: e.At, Operator: e.Operator, Action: e.Action}
		for _, k := range e.Keyed {
			if k.MAC == want {
				h.Fields = append(h.Fields, k.Field)
			}
		}
		hits = append(hits, h)
	}
	return hits, rows.Err()
}

func containsMAC(macs, mac []byte) bool {
	for i := 0; i+sha256.Size <= len(macs); i += sha256.Size {
		if bytes.Equal(macs[i:i+sha256.Size], mac) {
			return true
		}
	}
	return false
}

// InclusionProof proves that an entry is in the tree of a given size (RFC 6962
// audit path, as tlog computes it). LeafBytes is the entry's canonical form, so a
// checker recomputes the leaf hash (SHA-256(0x00 ‖ LeafBytes)) from the entry itself;
// Root is the tree's root as the stored hashes give it, to be compared with a signed
// checkpoint's. In JSON, bytes and hashes are standard base64.
type InclusionProof struct {
	Index     int64            `json:"index"`
	TreeSize  int64            `json:"tree_size"`
	LeafBytes []byte           `json:"leaf_bytes"`
	LeafHash  tlog.Hash        `json:"leaf_hash"`
	Proof     tlog.RecordProof `json:"proof"`
	Root      tlog.Hash        `json:"root"`
}

// ProveInclusion returns the proof that entry idx is in the tree of treeSize entries
// (the size of a checkpoint, typically).
func (s *Store) ProveInclusion(ctx context.Context, idx, treeSize int64) (InclusionProof, error) {
	p := InclusionProof{Index: idx, TreeSize: treeSize}
	tx, n, err := s.readTree(ctx)
	if err != nil {
		return p, err
	}
	defer tx.Rollback()
	if idx < 0 || idx >= treeSize || treeSize > n {
		return p, fmt.Errorf("entry %d is not in a tree of %d entries (the log has %d): give an index below the tree size", idx, treeSize, n)
	}
	var r row
	err = scanRow(tx.QueryRowContext(ctx, `SELECT `+rowCols+` FROM oplog WHERE idx = ?`, idx), &r)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("%w: entry %d is missing (run jukiterm audit verify)", ErrLogTampered, idx)
	}
	if err != nil {
		return p, err
	}
	p.LeafBytes = r.leaf()
	p.LeafHash = tlog.RecordHash(p.LeafBytes)
	if p.Proof, err = tlog.ProveRecord(treeSize, idx, dbHashes{ctx, tx}); err != nil {
		return p, fmt.Errorf("prove entry %d: %w", idx, err)
	}
	if p.Root, err = tlog.TreeHash(treeSize, dbHashes{ctx, tx}); err != nil {
		return p, fmt.Errorf("the root of the tree of %d entries: %w", treeSize, err)
	}
	return p, nil
}

// CheckInclusion checks p against a tree root (from a verified checkpoint of
// p.TreeSize entries).
func CheckInclusion(p InclusionProof, root tlog.Hash) error {
	if err := tlog.CheckRecord(p.Proof, p.TreeSize, root, p.Index, tlog.RecordHash(p.LeafBytes)); err != nil {
		return fmt.Errorf("entry %d is not proved in the tree of %d entries: %w", p.Index, p.TreeSize, err)
	}
	if len(p.LeafBytes) < 9 || p.LeafBytes[0] != leafVersion || int64(binary.BigEndian.Uint64(p.LeafBytes[1:9])) != p.Index {
		return fmt.Errorf("the proof's leaf is not entry %d", p.Index)
	}
	return nil
}

// readTree begins a read transaction over the log and returns it with the log's size
// as that transaction sees it (the caller rolls it back).
func (s *Store) readTree(ctx context.Context) (*sql.Tx, int64, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(idx) + 1, 0) FROM oplog`).Scan(&n); err != nil {
		tx.Rollback()
		return nil, 0, err
	}
	return tx, n, nil
}
