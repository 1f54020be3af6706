// Package archive writes and reads the operation log's archives: the entries as JSON
// lines, encrypted with age to the configured recipients, and signed by the
// terminal's HSM key (a detached ECDSA signature over the SHA-256 of the encrypted
// file, in FILE.sig). A file appears under its name only once complete.
package archive

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"filippo.io/age"

	"jukiterm/daemon/atomicfile"
)

// Write encrypts entries (each marshalled as one JSON line) to recipients, signs the
// result with signer, and writes dir/name and dir/name.sig (temporary file, fsync,
// rename; the signature last). It refuses to replace an existing archive.
func Write[T any](dir, name string, entries []T, recipients []string, signer crypto.Signer) (string, error) {
	if len(recipients) == 0 {
		return "", errors.New("no recipient to encrypt the archive to: configure backup_recipients")
	}
	var rs []age.Recipient
	for _, r := range recipients {
		rc, err := age.ParseX25519Recipient(r)
		if err != nil {
			return "", fmt.Errorf("archive recipient %q: %w", r, err)
		}
		rs = append(rs, rc)
	}
	var enc bytes.Buffer
	w, err := age.Encrypt(&enc, rs...)
	if err != nil {
		return "", err
	}
	je := json.NewEncoder(w)
	for _, e := range entries {
		if err := je.Encode(e); err != nil {
			return "", err
		}
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	sum := sha256.Sum256(enc.Bytes())
	sig, err := signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("sign the archive with the HSM key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	if _, err := os.Lstat(path); err == nil {
		return "", fmt.Errorf("%s exists already: an archive is never replaced", path)
	}
	if err := atomicfile.Write(path, enc.Bytes(), 0o640); err != nil {
		return "", err
	}
	if err := atomicfile.Write(path+".sig", sig, 0o640); err != nil {
		os.Remove(path)
		return "", err
	}
	return path, nil
}

// ErrBadSignature says an archive's signature does not verify with the trusted key.
var ErrBadSignature = errors.New("the archive's signature does not verify with the terminal's public key: it was changed, or made by another terminal; it was not decrypted")

// Read verifies path against its signature with trusted, then decrypts it with ids and
// returns its JSON lines.
func Read(path string, trusted *ecdsa.PublicKey, ids ...age.Identity) ([]json.RawMessage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sig, err := os.ReadFile(path + ".sig")
	if err != nil {
		return nil, fmt.Errorf("the archive's signature: %w", err)
	}
	sum := sha256.Sum256(b)
	if !ecdsa.VerifyASN1(trusted, sum[:], sig) {
		return nil, ErrBadSignature
	}
	r, err := age.Decrypt(bytes.NewReader(b), ids...)
	if err != nil {
		return nil, fmt.Errorf("decrypt the archive: %w", err)
	}
	var out []json.RawMessage
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		out = append(out, json.RawMessage(append([]byte(nil), sc.Bytes()...)))
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return out, nil
}
