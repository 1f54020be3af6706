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
// HSM and sealed by the TPM, and the same key encrypted to the recovery secret (which
// is shown once at init and kept nowhere on the machine). Neither opens without its
// other half.
type KeyFile struct {
	Sealed   *Sealed `json:"sealed"`
	Recovery []byte  `json:"recovery"`
}

// CreateKey makes a new storage key, seals it (HSM wrap, then TPM seal to pcrs) and
// encrypts it to a new recovery secret. It returns the key file, the key, and the
// recovery secret to show the administrator once.
func CreateKey(tok *Token, tpm transport.TPM, pcrs []uint) (*KeyFile, *DEK, string, error) {
	dek, err := NewDEK()
	if err != nil {
		return nil, nil, "", err
	}
	kf := &KeyFile{}
	if kf.Sealed, err = sealDEK(tok, tpm, dek, pcrs); err != nil {
		return nil, nil, "", err
	}
	secret := newRecoverySecret()
	if kf.Recovery, err = encryptToRecovery(dek, secret); err != nil {
		return nil, nil, "", err
	}
	return kf, dek, secret, nil
}

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
// change, such as a firmware update, while the key is open).
func Reseal(tok *Token, tpm transport.TPM, kf *KeyFile, dek *DEK, pcrs []uint) error {
	s, err := sealDEK(tok, tpm, dek, pcrs)
	if err != nil {
		return err
	}
	kf.Sealed = s
	return nil
}

// Recover opens the storage key with the recovery secret and seals it to a new TPM and
// HSM (which must hold the terminal's keys already).
func Recover(tok *Token, tpm transport.TPM, kf *KeyFile, secret string, pcrs []uint) (*DEK, error) {
	id, err := age.NewScryptIdentity(normalizeSecret(secret))
	if err != nil {
		return nil, err
	}
	r, err := age.Decrypt(bytes.NewReader(kf.Recovery), id)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRecovery, err)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRecovery, err)
	}
	defer clear(raw)
	dek, err := dekFrom(raw)
	if err != nil {
		return nil, err
	}
	if err := Reseal(tok, tpm, kf, dek, pcrs); err != nil {
		return nil, err
	}
	return dek, nil
}

// ErrRecovery says the recovery secret does not open the key file.
var ErrRecovery = errors.New("the recovery secret does not open this key file (check it letter by letter)")

func encryptToRecovery(dek *DEK, secret string) ([]byte, error) {
	rcpt, err := age.NewScryptRecipient(normalizeSecret(secret))
	if err != nil {
		return nil, err
	}
	rcpt.SetWorkFactor(15) // the secret is 160 random bits: the work factor only slows guessing further
	var b bytes.Buffer
	w, err := age.Encrypt(&b, rcpt)
	if err != nil {
		return nil, err
	}
	w.Write(dek.key)
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
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
	if err := json.Unmarshal(b, &kf); err != nil || kf.Sealed == nil || len(kf.Recovery) == 0 {
		return nil, fmt.Errorf("not a storage key file (%v)", err)
	}
	return &kf, nil
}
