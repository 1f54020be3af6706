package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

	"jukiterm/store/record"
)

// Peer is a system the terminal links to (docs/links.md): a municipality's CS, by its
// 市町村コード, or the national server (全国サーバ), pinned by the SHA-256 of its
// certificate's public key (SubjectPublicKeyInfo).
type Peer struct {
	Name         string     `json:"name"` // cs-MUNICIPALITY or national
	Role         string     `json:"role"` // PeerCS or PeerNational
	Municipality string     `json:"municipality,omitempty"`
	Address      string     `json:"address,omitempty"`    // the national server's host:port
	SPKISHA256   string     `json:"spki_sha256"`          // hex
	NotAfter     time.Time  `json:"not_after"`            // of the certificate given when pinned
	Reason       string     `json:"reason"`               // e.g. the letter that announced it
	AddedAt      time.Time  `json:"added_at"`             //
	AddedBy      string     `json:"added_by"`             //
	RemovedAt    *time.Time `json:"removed_at,omitempty"` // a removed peer stays listed with --all
	RemovedBy    string     `json:"removed_by,omitempty"`
}

// The roles of a peer.
const (
	PeerCS       = "cs"
	PeerNational = "national"
)

// ErrPeer says a peer is not valid or not found.
var ErrPeer = errors.New("peer refused")

var (
	spkiHex  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hostPort = regexp.MustCompile(`^[A-Za-z0-9.:\[\]-]{1,253}:[0-9]{1,5}$`)
)

// PeerName is the name of a CS's peer entry, or of the national server's.
func PeerName(role, municipality string) string {
	if role == PeerNational {
		return PeerNational
	}
	return "cs-" + municipality
}

// AddPeer pins a peer (one per name and per key) and logs it.
func (s *Store) AddPeer(ctx context.Context, p Peer, actor string, now time.Time) error {
	switch {
	case p.Role == PeerCS && !record.ValidMunicipalityCode(p.Municipality):
		return fmt.Errorf("%w: a CS is named by its 市町村コード, six digits with a valid check digit (e.g. 052019)", ErrPeer)
	case p.Role == PeerNational && !hostPort.MatchString(p.Address):
		return fmt.Errorf("%w: give the national server's address as HOST:PORT", ErrPeer)
	case p.Role != PeerCS && p.Role != PeerNational:
		return fmt.Errorf("%w: a peer is a municipality's CS or the national server", ErrPeer)
	case !spkiHex.MatchString(p.SPKISHA256):
		return fmt.Errorf("%w: the key's SHA-256 is 64 hex digits", ErrPeer)
	case p.Reason == "" || !validText(p.Reason, 200):
		return fmt.Errorf("%w: give the reason (e.g. the letter or the ticket that announced the peer's certificate)", ErrPeer)
	}
	if p.Role == PeerNational {
		p.Municipality = ""
	} else {
		p.Address = ""
	}
	p.Name = PeerName(p.Role, p.Municipality)
	return s.writeTx(func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM peers WHERE removed_at IS NULL AND (name = ? OR spki_sha256 = ?)`, p.Name, p.SPKISHA256).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %s or that key is pinned already: remove the old pin first (`jukiterm peer remove %s`)", ErrPeer, p.Name, p.Name)
		}
		if _, err := tx.Exec(`INSERT INTO peers (name, role, municipality, address, spki_sha256, not_after, reason, added_at, added_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.Name, p.Role, p.Municipality, p.Address, p.SPKISHA256, stamp(p.NotAfter), p.Reason, stamp(now), actor); err != nil {
			return err
		}
		_, err := s.appendInTx(tx, Entry{At: now, Operator: actor, Action: "peer.add", Detail: map[string]any{
			"peer": p.Name, "role": p.Role, "address": p.Address, "spki_sha256": p.SPKISHA256, "not_after": stamp(p.NotAfter), "reason": p.Reason}})
		return err
	})
}

// RemovePeer unpins a peer (it stays listed as removed) and logs it.
func (s *Store) RemovePeer(ctx context.Context, name, reason, actor string, now time.Time) error {
	if reason == "" || !validText(reason, 200) {
		return fmt.Errorf("%w: give the reason", ErrPeer)
	}
	return s.writeTx(func(tx *sql.Tx) error {
		r, err := tx.Exec(`UPDATE peers SET removed_at = ?, removed_by = ? WHERE name = ? AND removed_at IS NULL`, stamp(now), actor, name)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: no pinned peer is named %q (`jukiterm peer list` shows them)", ErrPeer, name)
		}
		_, err = s.appendInTx(tx, Entry{At: now, Operator: actor, Action: "peer.remove", Detail: map[string]any{"peer": name, "reason": reason}})
		return err
	})
}

// Peers lists the pinned peers (with the removed ones when all is set), by name.
func (s *Store) Peers(ctx context.Context, all bool) ([]Peer, error) {
	cond := `removed_at IS NULL`
	if all {
		cond = `1`
	}
	rows, err := s.r.QueryContext(ctx, `SELECT name, role, municipality, address, spki_sha256, not_after, reason, added_at, added_by,
		removed_at, COALESCE(removed_by, '') FROM peers WHERE `+cond+` ORDER BY name, added_at`)
	if err != nil {
		return nil, fmt.Errorf("read the peers: %w", err)
	}
	defer rows.Close()
	out := []Peer{}
	for rows.Next() {
		var p Peer
		var notAfter, added, removed sql.NullString
		if err := rows.Scan(&p.Name, &p.Role, &p.Municipality, &p.Address, &p.SPKISHA256, &notAfter, &p.Reason, &added, &p.AddedBy, &removed, &p.RemovedBy); err != nil {
			return nil, err
		}
		if t := parseStamp(notAfter); t != nil {
			p.NotAfter = *t
		}
		if t := parseStamp(added); t != nil {
			p.AddedAt = *t
		}
		p.RemovedAt = parseStamp(removed)
		out = append(out, p)
	}
	return out, rows.Err()
}
