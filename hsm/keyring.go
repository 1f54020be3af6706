package hsm

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"github.com/google/go-tpm/tpm2/transport"
)

// dekAAD binds a wrapped storage key to its purpose.
var dekAAD = []byte("jukiterm storage key v1")

// KeyFile is what the state directory keeps of the storage key: the key wrapped by the
// HSM and sealed by the TPM, and the same key encrypted to the terminal's recovery key.
// The recovery key's private half is itself encrypted to the recovery secret, which is
// shown once at init and kept nowhere on the machine; its public half lets a new
// storage key (rotation, restore) be encrypted to the same secret without knowing it.
// During a rotation Next holds the new storage key beside the current one.
type KeyFile struct {
	Sealed            *Sealed `json:"sealed"`
	Recovery          []byte  `json:"recovery"`
	Next              *Stored `json:"next,omitempty"`
	RecoveryRecipient string  `json:"recovery_recipient"`
	RecoveryIdentity  []byte  `json:"recovery_identity"`
}

// Stored is one storage key as the key file keeps it.
type Stored struct {
	Sealed   *Sealed `json:"sealed"`
	Recovery []byte  `json:"recovery"`
}

// CreateKey makes a new storage key, seals it (HSM wrap, then TPM seal to pcrs) and
// encrypts it to a new recovery key. It returns the key file, the key, and the
// recovery secret to show the administrator once.
func CreateKey(tok *Token, tpm transport.TPM, pcrs []uint) (*KeyFile, *DEK, string, error) {
	dek, err := NewDEK()
	if err != nil {
		return nil, nil, "", err
	}
	kf, secret, err := newKeyFile()
	if err != nil {
		return nil, nil, "", err
	}
	if err := kf.adopt(tok, tpm, dek, pcrs); err != nil {
		return nil, nil, "", err
	}
	return kf, dek, secret, nil
}

// newKeyFile makes a key file with a new recovery key and no storage key yet.
func newKeyFile() (*KeyFile, string, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, "", err
	}
	secret := newRecoverySecret()
	rcpt, err := age.NewScryptRecipient(normalizeSecret(secret))
	if err != nil {
		return nil, "", err
	}
	rcpt.SetWorkFactor(15) // the secret is 160 random bits: the work factor only slows guessing further
	kf := &KeyFile{RecoveryRecipient: id.Recipient().String()}
	if kf.RecoveryIdentity, err = encrypt([]byte(id.String()), rcpt); err != nil {
		return nil, "", err
	}
	return kf, secret, nil
}

// adopt makes dek the file's storage key: sealed to this HSM and TPM, and encrypted
// to the recovery key.
func (kf *KeyFile) adopt(tok *Token, tpm transport.TPM, dek *DEK, pcrs []uint) error {
	s, err := kf.store(tok, tpm, dek, pcrs)
	if err != nil {
		return err
	}
	kf.Sealed, kf.Recovery, kf.Next = s.Sealed, s.Recovery, nil
	return nil
}

func (kf *KeyFile) store(tok *Token, tpm transport.TPM, dek *DEK, pcrs []uint) (*Stored, error) {
	rcpt, err := age.ParseX25519Recipient(kf.RecoveryRecipient)
	if err != nil {
		return nil, fmt.Errorf("the key file's recovery recipient: %w", err)
	}
	s := &Stored{}
	if s.Sealed, err = sealDEK(tok, tpm, dek, pcrs); err != nil {
		return nil, err
	}
	if s.Recovery, err = encrypt(dek.key, rcpt); err != nil {
		return nil, err
	}
	return s, nil
}

// BeginRotation draws a new storage key and keeps it in Next beside the current one
// (write the key file before re-encrypting anything). It returns the new key.
func (kf *KeyFile) BeginRotation(tok *Token, tpm transport.TPM, pcrs []uint) (*DEK, error) {
	if kf.Next != nil {
		return nil, errors.New("a key rotation is already under way")
	}
	dek, err := NewDEK()
	if err != nil {
		return nil, err
	}
	if kf.Next, err = kf.store(tok, tpm, dek, pcrs); err != nil {
		return nil, err
	}
	return dek, nil
}

// OpenNext opens the new storage key of a rotation under way (nil when none is).
func OpenNext(tok *Token, tpm transport.TPM, kf *KeyFile) (*DEK, error) {
	if kf.Next == nil {
		return nil, nil
	}
	return OpenKey(tok, tpm, &KeyFile{Sealed: kf.Next.Sealed})
}

// FinishRotation makes the new key the only one: the old one is gone from the file.
func (kf *KeyFile) FinishRotation() {
	if kf.Next != nil {
		kf.Sealed, kf.Recovery, kf.Next = kf.Next.Sealed, kf.Next.Recovery, nil
	}
}

// AbandonRotation drops the new key (a rotation that re-encrypted nothing yet).
func (kf *KeyFile) AbandonRotation() { kf.Next = nil }

func sealDEK(tok *Token, tpm transport.TPM, dek *DEK, pcrs []uint) (*Sealed, error) {
	wrapped, err := tok.Wrap(dek.key, dekAAD)
	if err != nil {
		return nil, err
	}
	return Seal(tpm, wrapped, pcrs)
}

// OpenKey unseals the storage key: the TPM must be in the sealed state and the HSM
// must hold the wrapping key. Errors say which half failed (ErrPCRChanged, ErrUnwrap,
// ErrKeyMissing, …).
func OpenKey(tok *Token, tpm transport.TPM, kf *KeyFile) (*DEK, error) {
	wrapped, err := Unseal(tpm, kf.Sealed)
	if err != nil {
		return nil, err
	}
	raw, err := tok.Unwrap(wrapped, dekAAD)
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	return dekFrom(raw)
}

// Reseal seals the storage key again to the current PCR values (after a planned
// change, such as a firmware update, while the key is open). The new key of a
// rotation under way is sealed again too; it must open (it is sealed like the other).
func Reseal(tok *Token, tpm transport.TPM, kf *KeyFile, dek *DEK, pcrs []uint) error {
	s, err := sealDEK(tok, tpm, dek, pcrs)
	if err != nil {
		return err
	}
	if kf.Next != nil {
		next, err := OpenNext(tok, tpm, kf)
		if err != nil {
			return fmt.Errorf("the new key of the rotation under way does not open, so it cannot be re-sealed: %w (use `jukiterm keys recover` with the recovery secret)", err)
		}
		ns, err := sealDEK(tok, tpm, next, pcrs)
		next.Destroy()
		if err != nil {
			return err
		}
		kf.Next.Sealed = ns
	}
	kf.Sealed = s
	return nil
}

// Recover opens the storage key with the recovery secret and seals it to a new TPM and
// HSM (which must hold the terminal's keys already).
func Recover(tok *Token, tpm transport.TPM, kf *KeyFile, secret string, pcrs []uint) (*DEK, error) {
	dek, err := kf.RecoveryKey(secret, kf.Recovery)
	if err != nil {
		return nil, err
	}
	s, err := sealDEK(tok, tpm, dek, pcrs)
	if err != nil {
		dek.Destroy()
		return nil, err
	}
	if kf.Next != nil { // the new key of a rotation under way: recovered the same way
		next, err := kf.RecoveryKey(secret, kf.Next.Recovery)
		if err != nil {
			dek.Destroy()
			return nil, fmt.Errorf("the new key of the rotation under way: %w", err)
		}
		ns, err := sealDEK(tok, tpm, next, pcrs)
		next.Destroy()
		if err != nil {
			dek.Destroy()
			return nil, err
		}
		kf.Next.Sealed = ns
	}
	kf.Sealed = s
	return dek, nil
}

// RecoveryKey opens a storage key encrypted to this key file's recovery key (the
// file's own Recovery, or a backup's copy) with the recovery secret.
func (kf *KeyFile) RecoveryKey(secret string, copy []byte) (*DEK, error) {
	pw, err := age.NewScryptIdentity(normalizeSecret(secret))
	if err != nil {
		return nil, err
	}
	idText, err := decrypt(kf.RecoveryIdentity, pw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRecovery, err)
	}
	id, err := age.ParseX25519Identity(string(idText))
	clear(idText)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRecovery, err)
	}
	raw, err := decrypt(copy, id)
	if err != nil {
		return nil, fmt.Errorf("%w: the storage key copy does not open with this recovery key: %v", ErrRecovery, err)
	}
	defer clear(raw)
	return dekFrom(raw)
}

// Adopt seals an existing storage key (from a backup) to this HSM and TPM as the key
// file's only key.
func (kf *KeyFile) Adopt(tok *Token, tpm transport.TPM, dek *DEK, pcrs []uint) error {
	return kf.adopt(tok, tpm, dek, pcrs)
}

// ErrRecovery says the recovery secret does not open the key file.
var ErrRecovery = errors.New("the recovery secret does not open this key file (check it letter by letter)")

func encrypt(plain []byte, r age.Recipient) ([]byte, error) {
	var b bytes.Buffer
	w, err := age.Encrypt(&b, r)
	if err != nil {
		return nil, err
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func decrypt(sealed []byte, id age.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(sealed), id)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// newRecoverySecret returns 160 random bits in groups of four base32 letters, easy to
// write down and type: e.g. ABCD-EFGH-…
func newRecoverySecret() string {
	b := make([]byte, 20)
	rand.Read(b)
	s := base32.StdEncoding.EncodeToString(b)
	var groups []string
	for i := 0; i < len(s); i += 4 {
		groups = append(groups, s[i:i+4])
	}
	return strings.Join(groups, "-")
}

func normalizeSecret(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(s)))
}

// Marshal writes the key file (no secret in it is readable without the TPM and HSM,
// or the recovery secret).
func (kf *KeyFile) Marshal() ([]byte, error) { return json.MarshalIndent(kf, "", " ") }

// ParseKeyFile reads a key file written by Marshal.
func ParseKeyFile(b []byte) (*KeyFile, error) {
	var kf KeyFile
	if err := json.Unmarshal(b, &kf); err != nil || kf.Sealed == nil || len(kf.Recovery) == 0 ||
		kf.RecoveryRecipient == "" || len(kf.RecoveryIdentity) == 0 || (kf.Next != nil && kf.Next.Sealed == nil) {
		return nil, fmt.Errorf("not a storage key file (%v)", err)
	}
	return &kf, nil
}
