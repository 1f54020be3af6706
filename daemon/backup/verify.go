package backup

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"jukiterm/hsm"
	"jukiterm/store"
)

// Verified is a backup whose signature verified against a trusted key: its manifest
// can be believed, and its payload is the one that was signed (Decrypt checks it again
// as it reads, in case the file changes in between).
type Verified struct {
	Path       string
	Manifest   Manifest
	payloadOff int64
	payloadLen int64
	payloadSHA [32]byte
}

// Verify checks a backup file against the trusted signing key, reading it once and
// decrypting nothing: the layout, the signature over the manifest and the payload's
// SHA-256, then the manifest (format, payload hash and length, signer). Every failure
// wraps ErrRefused and says what is wrong.
func Verify(path string, trusted *ecdsa.PublicKey) (*Verified, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open the backup: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, refused("%s is not a regular file", path)
	}
	size := fi.Size()
	r := bufio.NewReaderSize(f, 1<<20)
	var off int64
	read := func(n int, what string) ([]byte, error) {
		if int64(n) > size-off {
			return nil, refused("it is truncated: it ends inside its %s (%d bytes, at least %d expected); the copy is incomplete or damaged, use another copy", what, size, off+int64(n))
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("read the backup: %w", err)
		}
		off += int64(n)
		return b, nil
	}
	head, err := read(len(magic), "header")
	if err != nil {
		if errors.Is(err, ErrRefused) {
			return nil, refused("%s is not a jukiterm backup (too short for its header)", filepath.Base(path))
		}
		return nil, err
	}
	if string(head) != magic {
		return nil, refused("%s is not a jukiterm backup (its first bytes are not the backup header)", filepath.Base(path))
	}
	b, err := read(4, "manifest length")
	if err != nil {
		return nil, err
	}
	mlen := binary.BigEndian.Uint32(b)
	if mlen == 0 || mlen > maxManifest {
		return nil, refused("its manifest length (%d bytes) is impossible: the file is damaged or altered", mlen)
	}
	mb, err := read(int(mlen), "manifest")
	if err != nil {
		return nil, err
	}
	if b, err = read(8, "payload length"); err != nil {
		return nil, err
	}
	plen := binary.BigEndian.Uint64(b)
	if plen > uint64(size-off) {
		return nil, refused("it is truncated or altered: its payload should have %d bytes, only %d follow", plen, size-off)
	}
	v := &Verified{Path: path, payloadOff: off, payloadLen: int64(plen)}
	h := sha256.New()
	if _, err := io.CopyN(h, r, int64(plen)); err != nil {
		return nil, fmt.Errorf("read the backup: %w", err)
	}
	off += int64(plen)
	v.payloadSHA = hashOf(h)
	if b, err = read(2, "signature length"); err != nil {
		return nil, err
	}
	slen := binary.BigEndian.Uint16(b)
	if slen == 0 || slen > maxSignature {
		return nil, refused("its signature length (%d bytes) is impossible: the file is damaged or altered", slen)
	}
	sig, err := read(int(slen), "signature")
	if err != nil {
		return nil, err
	}
	if off != size {
		return nil, refused("it has %d bytes after its signature: the file is damaged or altered", size-off)
	}

	if !ecdsa.VerifyASN1(trusted, SignedDigest(mb, v.payloadSHA), sig) {
		return nil, signatureError(mb, trusted)
	}
	m, err := parseManifest(mb)
	if err != nil {
		return nil, err
	}
	switch {
	case m.PayloadSHA256 != hex.EncodeToString(v.payloadSHA[:]) || m.PayloadBytes != int64(plen):
		return nil, refused("its manifest does not describe its payload (signed, so made that way by the terminal): do not use it")
	case m.Signer.Fingerprint != hsm.Fingerprint(trusted):
		return nil, refused("its manifest names signer %s, but it verifies with %s: do not use it", m.Signer.Fingerprint, hsm.Fingerprint(trusted))
	case len(m.StorageKey.Recovery) == 0 || m.StorageKey.RecoveryRecipient == "" || len(m.StorageKey.RecoveryIdentity) == 0:
		return nil, refused("its manifest lacks the storage key's recovery copy")
	}
	v.Manifest = m
	return v, nil
}

// signatureError says why the signature does not verify: another key signed it (as
// far as the unverified manifest tells), or the file was changed.
func signatureError(mb []byte, trusted *ecdsa.PublicKey) error {
	want := hsm.Fingerprint(trusted)
	var m Manifest
	if json.Unmarshal(mb, &m) == nil && m.Signer.Fingerprint != "" && m.Signer.Fingerprint != want {
		who := ""
		if m.TerminalID != "" {
			who = fmt.Sprintf(" of terminal %q", m.TerminalID)
		}
		return refused("its signature does not verify with the trusted key %s. The backup says (unverified) it was signed by the key %s%s. "+
			"If that terminal made it, give that terminal's public key with --signer (its signing.pub, or `jukiterm keys public` run there); otherwise do not use this file", want, m.Signer.Fingerprint, who)
	}
	return refused("its signature does not verify with the trusted key %s: the file was altered or damaged after it was signed. Nothing was decrypted; use another copy of the backup", want)
}

// LoadIdentities reads an age identity file (AGE-SECRET-KEY-… lines, # comments).
func LoadIdentities(path string) ([]age.Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the identity file: %w", err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		return nil, fmt.Errorf("%s is not an age identity file (lines AGE-SECRET-KEY-…): %v", path, err)
	}
	return ids, nil
}

// Decrypt decrypts the payload into w. It reads the payload again and checks that it
// is the one that was signed: until Decrypt returns nil, what it wrote is not to be
// trusted. An identity that is not one of the recipients is refused with the list of
// those the backup is encrypted to.
func (v *Verified) Decrypt(w io.Writer, ids []age.Identity) error {
	f, err := os.Open(v.Path)
	if err != nil {
		return fmt.Errorf("open the backup: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(v.payloadOff, io.SeekStart); err != nil {
		return err
	}
	h := sha256.New()
	src := io.TeeReader(io.LimitReader(f, v.payloadLen), h)
	ar, err := age.Decrypt(bufio.NewReaderSize(src, 1<<20), ids...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return refused("the identity file holds no key of the backup's recipients (%s): give the identity file of one of them with --identity", strings.Join(v.Manifest.Recipients, ", "))
		}
		return refused("its payload does not decrypt: %v", err)
	}
	if _, err := io.Copy(w, ar); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("write the decrypted copy: %w", err)
		}
		return refused("its payload does not decrypt: %v", err)
	}
	if _, err := io.Copy(io.Discard, src); err != nil {
		return err
	}
	if hashOf(h) != v.payloadSHA {
		return refused("the file changed while it was read (its payload is no longer the one that was signed); nothing was used")
	}
	return nil
}

// Extract decrypts the payload into a new file dst (mode 0600) and checks the copy:
// SQLite's integrity check, and the counts and 更新順番号 of the manifest. On any
// failure dst is removed.
func (v *Verified) Extract(ctx context.Context, dst string, ids []age.Identity) (info store.BackupInfo, err error) {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return info, fmt.Errorf("create the decrypted copy: %w", err)
	}
	defer func() {
		if err != nil {
			for _, s := range []string{"", "-journal", "-wal", "-shm"} {
				os.Remove(dst + s)
			}
		}
	}()
	err = v.Decrypt(f, ids)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return info, err
	}
	info, integrity, err := store.Inspect(ctx, dst)
	switch {
	case err != nil:
		return info, refused("the decrypted copy is not a sound identity file: %v", err)
	case integrity != "ok":
		return info, refused("the decrypted copy fails SQLite's integrity check: %s", firstLine(integrity))
	}
	m := v.Manifest
	if info.UpdateSeq != m.UpdateSeq || info.Persons != m.Persons || info.Removed != m.Removed || info.SchemaVersion != m.SchemaVersion {
		return info, refused("the decrypted copy holds other counts than its manifest (update_seq %d, persons %d; manifest: %d, %d)",
			info.UpdateSeq, info.Persons, m.UpdateSeq, m.Persons)
	}
	return info, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
