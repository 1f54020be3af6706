package provision

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The medium's layout (docs/provision.md).
const (
	// MediaDir is the directory on the volume that holds provisions, one directory each.
	MediaDir = "jukiterm"

	ResultsFile  = "results.csv.age"
	NotFoundFile = "not-found.csv.age"
	LogFile      = "provision.log"
	ManifestFile = "manifest.json"
	SigFile      = "manifest.json.sig"

	// ResultsPlain and NotFoundPlain are the files Open writes.
	ResultsPlain  = "results.csv"
	NotFoundPlain = "not-found.csv"

	// FormatVersion is the manifest's format; Kind names what it describes.
	FormatVersion = 1
	Kind          = "jukiterm-provision"

	maxManifest  = 1 << 20
	maxSignature = 1024
)

// listedFiles are the files a manifest lists, in the order they are written.
var listedFiles = []string{ResultsFile, NotFoundFile, LogFile}

// Manifest describes a provision on a medium. It holds no personal data. It is signed
// (manifest.json.sig: ECDSA P-256, ASN.1, over the SHA-256 of manifest.json's exact
// bytes) by the terminal's HSM key.
type Manifest struct {
	Kind          string            `json:"kind"`
	Format        int               `json:"format"`
	ID            string            `json:"id"`
	Application   string            `json:"application"`
	Recipient     ManifestRecipient `json:"recipient"`
	Items         []string          `json:"items"`
	Operator      string            `json:"operator"`
	TerminalID    string            `json:"terminal_id"`
	Time          time.Time         `json:"time"`
	UpdateSeq     int64             `json:"update_seq"`
	RequestSHA256 string            `json:"request_sha256"`
	Counts        Counts            `json:"counts"`
	Files         []FileInfo        `json:"files"`
	Signer        Signer            `json:"signer"`
}

// ManifestRecipient names the recipient and the age key the results are encrypted to.
type ManifestRecipient struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Basis        string `json:"basis"`
	AgeRecipient string `json:"age_recipient"`
}

// Counts are the provision's numbers: queries in the request, rows of results.csv
// (one per person matched by a query), rows of not-found.csv.
type Counts struct {
	Queries     int `json:"queries"`
	MatchedRows int `json:"matched_rows"`
	NotFound    int `json:"not_found"`
	// NationalRows counts the rows of results.csv that the national server answered for
	// queries this prefecture's file matched nobody for (absent when none).
	NationalRows int `json:"national_rows,omitempty"`
}

// FileInfo is one file of the provision directory as written.
type FileInfo struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Signer is the key that signed the manifest: PKIX DER (base64 in JSON) and its
// fingerprint ("sha256:" and the hex SHA-256 of the DER).
type Signer struct {
	PublicKey   []byte `json:"public_key"`
	Fingerprint string `json:"fingerprint"`
}

// marshal gives the manifest's bytes as stored: indented JSON, non-ASCII as is, and a
// final line feed.
func (m *Manifest) marshal() ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	e.SetIndent("", "  ")
	if err := e.Encode(m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ErrRefused is wrapped by every error of Open that says the provision on the medium
// must not be used: it is incomplete, changed, signed by another key, or does not
// decrypt. Nothing is written to the output directory then.
var ErrRefused = errors.New("provision refused")

func refused(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, a...))
}
