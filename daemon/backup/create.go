package backup

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"time"

	"filippo.io/age"

	"jukiterm/hsm"
	"jukiterm/store"
)

// Options say where a backup goes, to whom it is encrypted and who signs it.
type Options struct {
	Dir        string        // backup_dir
	Recipients []string      // backup_recipients (age X25519)
	Signer     crypto.Signer // the terminal's HSM signing key (ECDSA P-256)
	TerminalID string
	Prefecture string
	KeyFile    string // the key file whose recovery part goes into the manifest
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Result describes a backup made.
type Result struct {
	Path              string    `json:"path"`
	Bytes             int64     `json:"bytes"`
	Created           time.Time `json:"created"`
	Persons           int64     `json:"persons"`
	Removed           int64     `json:"persons_removed"`
	UpdateSeq         int64     `json:"update_seq"`
	SchemaVersion     int       `json:"schema_version"`
	PayloadSHA256     string    `json:"payload_sha256"`
	SignerFingerprint string    `json:"signer_fingerprint"`
}

// Create makes one backup of st in o.Dir: an online copy of the identity file,
// encrypted to every recipient, with its manifest, signed. The file appears under its
// final name only when complete and on disk (temporary file, fsync, link); on any
// failure nothing is left but the temporary files, which are removed. Only one Create
// may run at a time in a directory (the daemon sees to it).
func Create(ctx context.Context, st *store.Store, o Options) (res Result, err error) {
	if len(o.Recipients) == 0 {
		return res, ErrNotConfigured
	}
	if o.Signer == nil {
		return res, errors.New("no signing key: jukitermd could not find the terminal's signing key in the HSM")
	}
	var rcpts []age.Recipient
	for _, s := range o.Recipients {
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return res, fmt.Errorf("backup_recipients: %q is not an age recipient", s)
		}
		rcpts = append(rcpts, r)
	}
	pub, ok := o.Signer.Public().(*ecdsa.PublicKey)
	if !ok {
		return res, errors.New("the signing key is not an ECDSA key")
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return res, err
	}
	key, err := recoveryPart(o.KeyFile)
	if err != nil {
		return res, err
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	created := now().UTC().Truncate(time.Second)
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return res, fmt.Errorf("create the backup directory: %w", err)
	}

	// 1. The SQLite copy (records encrypted already), then 2. the payload: the copy
	// encrypted with age to every recipient, hashed as it is written.
	tmpDB := tempName(o.Dir, ".db")
	defer os.Remove(tmpDB)
	info, err := st.Backup(ctx, tmpDB)
	if err != nil {
		return res, err
	}
	payload, err := os.CreateTemp(o.Dir, tempPrefix+"*.age")
	if err != nil {
		return res, fmt.Errorf("backup directory: %w", err)
	}
	defer os.Remove(payload.Name())
	defer payload.Close()
	sum, n, err := encryptFile(tmpDB, payload, rcpts)
	os.Remove(tmpDB)
	if err != nil {
		return res, fmt.Errorf("encrypt the copy: %w", err)
	}

	// 3. The manifest and the signature.
	m := Manifest{Format: formatVersion, Created: created, TerminalID: o.TerminalID, Prefecture: o.Prefecture,
		SchemaVersion: info.SchemaVersion, UpdateSeq: info.UpdateSeq, Persons: info.Persons, Removed: info.Removed,
		DatabaseBytes: info.Bytes, PayloadBytes: n, PayloadSHA256: hex.EncodeToString(sum[:]),
		Recipients: o.Recipients, Signer: Signer{PublicKey: pubDER, Fingerprint: hsm.Fingerprint(pub)}, StorageKey: key}
	mb, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return res, err
	}
	digest := SignedDigest(mb, sum)
	sig, err := o.Signer.Sign(rand.Reader, digest, crypto.SHA256)
	if err != nil {
		return res, fmt.Errorf("sign the backup with the HSM: %w", err)
	}
	if !ecdsa.VerifyASN1(pub, digest, sig) {
		return res, errors.New("the HSM's signature does not verify with its own public key: the backup was not written")
	}

	// 4. The file: temporary, synced, then linked to its final name (never replacing one).
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("backup stopped: %w", err)
	}
	tmp, err := os.CreateTemp(o.Dir, tempPrefix+"*.tmp")
	if err != nil {
		return res, fmt.Errorf("backup directory: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := payload.Seek(0, io.SeekStart); err != nil {
		tmp.Close()
		return res, err
	}
	size, err := writeFile(tmp, mb, payload, n, sig)
	if err != nil {
		return res, fmt.Errorf("write the backup file: %w", err)
	}
	path, err := linkNew(tmp.Name(), o.Dir, FileName(o.TerminalID, created))
	if err != nil {
		return res, fmt.Errorf("name the backup file: %w", err)
	}
	syncDir(o.Dir)
	return Result{Path: path, Bytes: size, Created: created, Persons: info.Persons, Removed: info.Removed,
		UpdateSeq: info.UpdateSeq, SchemaVersion: info.SchemaVersion, PayloadSHA256: m.PayloadSHA256,
		SignerFingerprint: m.Signer.Fingerprint}, nil
}

// recoveryPart reads the key file's recovery part for the manifest.
func recoveryPart(path string) (StorageKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return StorageKey{}, fmt.Errorf("read the key file for its recovery copy: %w", err)
	}
	kf, err := hsm.ParseKeyFile(b)
	if err != nil {
		return StorageKey{}, fmt.Errorf("%s: %w", path, err)
	}
	if kf.Next != nil {
		return StorageKey{}, ErrRotating
	}
	return StorageKey{Recovery: kf.Recovery, RecoveryRecipient: kf.RecoveryRecipient, RecoveryIdentity: kf.RecoveryIdentity}, nil
}

// encryptFile encrypts the file at src with age to rcpts into w and returns the SHA-256
// and length of what it wrote.
func encryptFile(src string, w io.Writer, rcpts []age.Recipient) (sum [32]byte, n int64, err error) {
	in, err := os.Open(src)
	if err != nil {
		return sum, 0, err
	}
	defer in.Close()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	aw, err := age.Encrypt(cw, rcpts...)
	if err != nil {
		return sum, 0, err
	}
	if _, err := io.Copy(aw, in); err != nil {
		return sum, 0, err
	}
	if err := aw.Close(); err != nil {
		return sum, 0, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeFile lays out the backup in f (see format.go), syncs and closes it.
func writeFile(f *os.File, manifest []byte, payload io.Reader, n int64, sig []byte) (int64, error) {
	w := &countWriter{w: f}
	var err error
	put := func(b []byte) {
		if err == nil {
			_, err = w.Write(b)
		}
	}
	put([]byte(magic))
	put(binary.BigEndian.AppendUint32(nil, uint32(len(manifest))))
	put(manifest)
	put(binary.BigEndian.AppendUint64(nil, uint64(n)))
	if err == nil {
		var copied int64
		copied, err = io.Copy(w, payload)
		if err == nil && copied != n {
			err = fmt.Errorf("the payload changed size while it was copied (%d of %d bytes)", copied, n)
		}
	}
	put(binary.BigEndian.AppendUint16(nil, uint16(len(sig))))
	put(sig)
	if err == nil {
		err = f.Chmod(0o640)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return w.n, err
}

// hashOf is a SHA-256 that can be read as an array.
func hashOf(h hash.Hash) (s [32]byte) {
	copy(s[:], h.Sum(nil))
	return s
}
