// Package backup makes, checks and opens the terminal's backup files: a copy of the
// identity file (records already encrypted by the storage key), encrypted with age to
// the configured recipients and signed by the terminal's HSM signing key, with a
// manifest that says what it holds. The layout is in docs/backup.md.
//
// A backup is checked in this order, and nothing is decrypted before the signature
// verifies against a key the caller trusts: layout, signature (over the manifest and
// the payload's SHA-256), manifest; then, with an identity, the payload decrypts, its
// hash is the signed one, and the copy passes SQLite's integrity check.
package backup

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Layout of a backup file (all integers big-endian):
//
//	magic        16 bytes "JUKITERM-BACKUP\n"
//	manifest     uint32 length, then that many bytes of JSON (Manifest)
//	payload      uint64 length, then the age-encrypted SQLite copy
//	signature    uint16 length, then an ASN.1 ECDSA P-256 signature of SignedDigest
//
// and nothing after the signature.
const (
	magic          = "JUKITERM-BACKUP\n"
	maxManifest    = 1 << 20
	maxSignature   = 1024
	formatVersion  = 1
	signatureLabel = "jukiterm backup signature v1\n"
)

// Manifest says what a backup holds. It carries no personal value: counts, the
// payload's hash, the signer's public key, and the storage key encrypted to the
// source terminal's recovery key (useless without its recovery secret).
type Manifest struct {
	Format        int       `json:"format"`
	Created       time.Time `json:"created"`
	TerminalID    string    `json:"terminal_id"`
	Prefecture    string    `json:"prefecture"`
	SchemaVersion int       `json:"schema_version"`
	UpdateSeq     int64     `json:"update_seq"`
	Persons       int64     `json:"persons"`
	Removed       int64     `json:"persons_removed"`
	DatabaseBytes int64     `json:"database_bytes"`
	// The payload: the SQLite copy encrypted with age to Recipients.
	PayloadBytes  int64    `json:"payload_bytes"`
	PayloadSHA256 string   `json:"payload_sha256"`
	Recipients    []string `json:"recipients"`
	Signer        Signer   `json:"signer"`
	// StorageKey lets another terminal open the copy with the source terminal's
	// recovery secret (jukiterm backup restore).
	StorageKey StorageKey `json:"storage_key"`
}

// Signer names the key that signed the backup. It is informative only: a backup is
// checked against a key the verifier trusts, never against this one.
type Signer struct {
	PublicKey   []byte `json:"public_key"` // PKIX DER (base64 in JSON)
	Fingerprint string `json:"fingerprint"`
}

// StorageKey is the source terminal's key file's recovery part: the storage key
// encrypted to its recovery key, and the recovery key encrypted to its recovery secret.
type StorageKey struct {
	Recovery          []byte `json:"recovery"`
	RecoveryRecipient string `json:"recovery_recipient"`
	RecoveryIdentity  []byte `json:"recovery_identity"`
}

// SignedDigest is what the terminal signs: SHA-256 over a label, the manifest exactly
// as stored (with its length) and the payload's SHA-256.
func SignedDigest(manifest []byte, payloadSHA [32]byte) []byte {
	h := sha256.New()
	h.Write([]byte(signatureLabel))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(manifest))))
	h.Write(manifest)
	h.Write(payloadSHA[:])
	return h.Sum(nil)
}

// ErrRefused is wrapped by every error that says a backup must not be used: it is not
// a backup, it is damaged or altered, it is signed by a key not trusted, its payload
// does not decrypt or is not sound.
var ErrRefused = errors.New("backup refused")

func refused(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, a...))
}

// ErrNotConfigured says the configuration names no backup recipients.
var ErrNotConfigured = errors.New("no backup recipients are configured: add backup_recipients (the age recipients, age1…, of those who may restore a backup) to the configuration (jukiterm.conf(5)) and restart jukitermd")

// ErrRotating says a storage key rotation is under way: a backup now could hold rows
// under two keys.
var ErrRotating = errors.New("a storage key rotation is under way: make the backup after it has finished")

func parseManifest(b []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return m, refused("its manifest is not valid JSON: %v", err)
	}
	if m.Format != formatVersion {
		return m, refused("it has format %d; this jukiterm reads format %d (use the jukiterm version that made it)", m.Format, formatVersion)
	}
	return m, nil
}
