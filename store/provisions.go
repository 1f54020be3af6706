package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ProvisionRecord is one bulk provision (提供) or transfer (移転) as the terminal keeps
// it: what was asked, what was written, to which medium, and how it ended.
type ProvisionRecord struct {
	ID             string    `json:"id"`
	At             time.Time `json:"at"`
	Application    string    `json:"application"`
	Recipient      string    `json:"recipient"`
	Kind           string    `json:"kind"` // "provision" (提供) or "transfer" (移転)
	Operator       string    `json:"operator"`
	Medium         string    `json:"medium"`
	Queries        int       `json:"queries"`
	Matched        int       `json:"matched"` // result rows (a 4情報 query may match several)
	NotFound       int       `json:"not_found"`
	Outcome        string    `json:"outcome"` // ProvisionWritten or ProvisionFailed
	ManifestSHA256 string    `json:"manifest_sha256,omitempty"`
	RequestSHA256  string    `json:"request_sha256,omitempty"`
	UpdateSeq      int64     `json:"update_seq"`
	Message        string    `json:"message,omitempty"` // why it failed
}

// The outcomes of a provision.
const (
	ProvisionWritten    = "written"
	ProvisionFailed     = "failed"
	ProvisionUnverified = "unverified" // written whole, not read back (the medium was pulled)
)

// RecordProvision keeps a provision's row and its operation-log entry ("provision" or
// "transfer", or "provision.failed") in one transaction.
func (s *Store) RecordProvision(ctx context.Context, p ProvisionRecord) error {
	action := p.Kind
	switch p.Outcome {
	case ProvisionFailed:
		action = "provision.failed"
	case ProvisionUnverified:
		action = "provision.unverified"
	}
	return s.writeTx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO provisions (prov_id, at, application, recipient, kind, operator, medium, queries, matched,
			not_found, update_seq, request_sha256, outcome, manifest_sha256, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, stamp(p.At), p.Application, p.Recipient, p.Kind, p.Operator, p.Medium, p.Queries, p.Matched, p.NotFound,
			p.UpdateSeq, p.RequestSHA256, p.Outcome, nullable(p.ManifestSHA256), nullable(p.Message)); err != nil {
			return fmt.Errorf("record the provision: %w", err)
		}
		d := map[string]any{"provision": p.ID, "kind": p.Kind, "application": p.Application, "recipient": p.Recipient,
			"medium": p.Medium, "queries": p.Queries, "matched": p.Matched, "not_found": p.NotFound,
			"update_seq": p.UpdateSeq, "request_sha256": p.RequestSHA256}
		if p.ManifestSHA256 != "" {
			d["manifest_sha256"] = p.ManifestSHA256
		}
		if p.Message != "" {
			d["why"] = p.Message
		}
		_, err := s.appendInTx(tx, Entry{At: p.At, Operator: p.Operator, Action: action, Detail: d})
		return err
	})
}

// Provisions lists the provisions made, newest first ("" application: all).
func (s *Store) Provisions(ctx context.Context, application string) ([]ProvisionRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT prov_id, at, application, recipient, kind, operator, medium, queries, matched,
		not_found, update_seq, request_sha256, outcome, COALESCE(manifest_sha256, ''), COALESCE(message, '') FROM provisions
		WHERE ? = '' OR application = ? ORDER BY at DESC, prov_id`, application, application)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ProvisionRecord{}
	for rows.Next() {
		var p ProvisionRecord
		var at sql.NullString
		if err := rows.Scan(&p.ID, &at, &p.Application, &p.Recipient, &p.Kind, &p.Operator, &p.Medium, &p.Queries, &p.Matched,
			&p.NotFound, &p.UpdateSeq, &p.RequestSHA256, &p.Outcome, &p.ManifestSHA256, &p.Message); err != nil {
			return nil, err
		}
		if t := parseStamp(at); t != nil {
			p.At = *t
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
