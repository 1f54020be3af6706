package provision

import (
	"crypto/ecdsa"
	"fmt"
	"os"

	"filippo.io/age"
)

// Summary is what Verify and Open checked: the manifest, the key its signature
// verified with, and the files Open wrote.
type Summary struct {
	Manifest
	Dir               string `json:"dir"`
	SignerFingerprint string `json:"signer_fingerprint"`
	// TrustedKey is true when the signature verified with a key the caller gave;
	// false when only with the key the manifest carries, which proves nothing about
	// who made it until SignerFingerprint is compared with the prefecture's.
	TrustedKey bool     `json:"trusted_key"`
	Written    []string `json:"written,omitempty"`
}

// Verify checks the provision directory dir (jukiterm/ID on a medium) without
// decrypting anything: manifest.json's signature against trusted (nil: against the
// key the manifest carries, whose fingerprint the Summary reports), then that the
// directory holds exactly the files the manifest lists with their sizes and SHA-256.
// Every failure wraps ErrRefused and names the file and what did not match.
func Verify(dir string, trusted *ecdsa.PublicKey) (Summary, error) {
	root, s, _, err := verifyDir(dir, trusted)
	if root != nil {
		root.Close()
	}
	return s, err
}

// verifyDir opens dir and verifies it; the caller closes root when it is not nil.
func verifyDir(dir string, trusted *ecdsa.PublicKey) (*os.Root, Summary, *verified, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, Summary{}, nil, fmt.Errorf("open the provision directory: %w", err)
	}
	v, err := verify(rootSource{root}, trusted)
	if err != nil {
		return root, Summary{}, nil, err
	}
	return root, Summary{Manifest: v.m, Dir: dir, SignerFingerprint: v.fp, TrustedKey: trusted != nil}, v, nil
}

// Open verifies dir as Verify does and only then decrypts its results and not-found
// list with ids into the directory out (created if needed) as results.csv and
// not-found.csv. It never overwrites a file, and writes each under a temporary name
// first: on any failure neither file is left in out. A decrypted file must have the
// columns and the number of rows the manifest says. After the signature verified, a
// failure returns the Summary so far with the error.
func Open(dir string, ids []age.Identity, trusted *ecdsa.PublicKey, out string) (Summary, error) {
	root, s, v, err := verifyDir(dir, trusted)
	if root != nil {
		defer root.Close()
	}
	if err != nil {
		return s, err
	}
	s.Written, err = decryptAll(root, &v.m, ids, out)
	return s, err
}
