// Package hsm keeps the terminal's keys: a PKCS#11 token (crypto11) holds the signing
// key, the wrapping key and the links' TLS key, non-extractable; the TPM seals the wrapped storage key to
// the machine's boot state (tpm.go). No key leaves the token; no secret is cached on
// disk in the clear.
package hsm

import (
	"crypto"
	"crypto/elliptic"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ThalesGroup/crypto11"
	pkcs11uri "github.com/stefanberger/go-pkcs11uri"
)

// Key labels on the token.
const (
	SigningKeyLabel  = "jukiterm-signing"  // ECDSA P-256: checkpoints, manifests, forms, backups
	WrappingKeyLabel = "jukiterm-wrapping" // AES-256: wraps the storage key (DEK)
	TLSKeyLabel      = "jukiterm-tls"      // ECDSA P-256: the terminal's side of the links' TLS
)

// Errors that say what is wrong with the HSM, for STATUS lines and operators.
var (
	ErrNoToken    = errors.New("the HSM token is not present")
	ErrPIN        = errors.New("the HSM refused the PIN")
	ErrKeyMissing = errors.New("a key is missing from the HSM")
	// ErrPINFile: the PIN file pin-source names is missing, unreadable or empty.
	ErrPINFile = errors.New("the HSM PIN file cannot be used")
)

// Token is an open PKCS#11 token.
type Token struct {
	ctx   *crypto11.Context
	tlsMu sync.Mutex // one TLSSigner at a time creates the TLS key
}

// Open logs in to the token a PKCS#11 URI (RFC 7512) names, e.g.
// pkcs11:token=jukiterm?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/jukiterm/hsm.pin
// The PIN comes from pin-source (a file), never from a command line.
func Open(uri string) (*Token, error) {
	u := pkcs11uri.New()
	if err := u.Parse(uri); err != nil {
		return nil, fmt.Errorf("PKCS#11 URI %q: %w", uri, err)
	}
	u.SetAllowAnyModule(true)
	module, err := u.GetModule()
	if err != nil {
		return nil, fmt.Errorf("PKCS#11 module: %w", err)
	}
	if _, ok := u.GetQueryAttribute("pin-value", false); ok {
		return nil, errors.New("the PKCS#11 URI carries pin-value: give the PIN in a file with pin-source instead")
	}
	pin, err := readPIN(uri)
	if err != nil {
		return nil, err
	}
	label, _ := u.GetPathAttribute("token", false)
	serial, _ := u.GetPathAttribute("serial", false)
	ctx, err := crypto11.Configure(&crypto11.Config{
		Path: module, TokenLabel: label, TokenSerial: serial,
		Pin: pin, GCMIVLength: 12,
	})
	if err != nil {
		return nil, classify(err)
	}
	return &Token{ctx: ctx}, nil
}

// PINFile returns the path of the PIN file a PKCS#11 URI's pin-source names ("file:"
// URI or absolute path), or "" when the URI has no pin-source.
func PINFile(uri string) (string, error) {
	u := pkcs11uri.New()
	if err := u.Parse(uri); err != nil {
		return "", fmt.Errorf("PKCS#11 URI %q: %w", uri, err)
	}
	src, ok := u.GetQueryAttribute("pin-source", false)
	if !ok {
		return "", nil
	}
	p, err := url.ParseRequestURI(src)
	if err != nil || (p.Scheme != "" && p.Scheme != "file") || !filepath.IsAbs(p.Path) {
		return "", fmt.Errorf("%w: pin-source %q in the hsm key of the configuration is not an absolute file path (write pin-source=file:/etc/jukiterm/hsm.pin)", ErrPINFile, src)
	}
	return p.Path, nil
}

// readPIN reads the PIN from the pin-source file, saying which file and what is wrong
// with it (PKCS#11 itself would only answer CKR_ARGUMENTS_BAD to an empty PIN).
func readPIN(uri string) (string, error) {
	path, err := PINFile(uri)
	if err != nil {
		return "", err
	}
	if path == "" {
		return "", fmt.Errorf("%w: the hsm key of the configuration has no pin-source (add &pin-source=file:/etc/jukiterm/hsm.pin to it)", ErrPINFile)
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("%w: %s does not exist (it should hold the HSM token's user PIN, alone on one line)", ErrPINFile, path)
	case errors.Is(err, os.ErrPermission):
		return "", fmt.Errorf("%w: %s cannot be read by this user (uid %d): it should belong to the user jukitermd runs as, mode 0600", ErrPINFile, path, os.Getuid())
	case err != nil:
		return "", fmt.Errorf("%w: %s: %w", ErrPINFile, path, err)
	}
	pin := strings.TrimRight(string(b), "\r\n")
	if strings.TrimSpace(pin) == "" {
		return "", fmt.Errorf("%w: %s is empty (it should hold the HSM token's user PIN, alone on one line)", ErrPINFile, path)
	}
	return pin, nil
}

func classify(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "CKR_PIN_INCORRECT"), strings.Contains(msg, "CKR_PIN_LEN_RANGE"):
		return fmt.Errorf("%w: %v", ErrPIN, err)
	case strings.Contains(msg, "could not find PKCS#11 token"), strings.Contains(msg, "no slot"),
		strings.Contains(msg, "CKR_TOKEN_NOT_PRESENT"):
		return fmt.Errorf("%w: %v", ErrNoToken, err)
	}
	return fmt.Errorf("open the HSM: %w", err)
}

// Close logs out and releases the token; closing twice is harmless.
func (t *Token) Close() error {
	if t.ctx == nil {
		return nil
	}
	err := t.ctx.Close()
	t.ctx = nil
	return err
}

// GenerateKeys creates the terminal's signing key and TLS key (ECDSA P-256) and
// wrapping key (AES-256), all sensitive and non-extractable. It refuses if any exists.
func (t *Token) GenerateKeys() error {
	if s, _ := t.ctx.FindKeyPair(nil, []byte(SigningKeyLabel)); s != nil {
		return fmt.Errorf("the HSM already holds %s", SigningKeyLabel)
	}
	if k, _ := t.ctx.FindKey(nil, []byte(WrappingKeyLabel)); k != nil {
		return fmt.Errorf("the HSM already holds %s", WrappingKeyLabel)
	}
	if s, _ := t.ctx.FindKeyPair(nil, []byte(TLSKeyLabel)); s != nil {
		return fmt.Errorf("the HSM already holds %s", TLSKeyLabel)
	}
	if _, err := t.ctx.GenerateECDSAKeyPairWithLabel([]byte("sign-1"), []byte(SigningKeyLabel), elliptic.P256()); err != nil {
		return fmt.Errorf("generate the signing key: %w", err)
	}
	if _, err := t.ctx.GenerateSecretKeyWithLabel([]byte("wrap-1"), []byte(WrappingKeyLabel), 256, crypto11.CipherAES); err != nil {
		return fmt.Errorf("generate the wrapping key: %w", err)
	}
	if _, err := t.generateTLSKey(); err != nil {
		return err
	}
	return nil
}

// generateTLSKey makes the TLS key the way GenerateKeys makes the signing key:
// crypto11's key-pair template marks the private key CKA_SENSITIVE and not
// CKA_EXTRACTABLE.
func (t *Token) generateTLSKey() (crypto11.Signer, error) {
	s, err := t.ctx.GenerateECDSAKeyPairWithLabel([]byte("tls-1"), []byte(TLSKeyLabel), elliptic.P256())
	if err != nil {
		return nil, fmt.Errorf("generate the TLS key %s in the HSM: %w", TLSKeyLabel, err)
	}
	return s, nil
}

// TLSSigner returns the terminal's TLS key, the private key of its link certificate.
// A token made before the links lacks it: it is then created, once.
func (t *Token) TLSSigner() (crypto.Signer, error) {
	t.tlsMu.Lock()
	defer t.tlsMu.Unlock()
	s, err := t.ctx.FindKeyPair(nil, []byte(TLSKeyLabel))
	if err != nil && !notFound(err) {
		return nil, fmt.Errorf("find %s: %w", TLSKeyLabel, err)
	}
	if s != nil {
		return s, nil
	}
	return t.generateTLSKey()
}

// Signer returns the terminal's signing key.
func (t *Token) Signer() (crypto.Signer, error) {
	s, err := t.ctx.FindKeyPair(nil, []byte(SigningKeyLabel))
	if s == nil || notFound(err) {
		return nil, fmt.Errorf("%w: %s", ErrKeyMissing, SigningKeyLabel)
	}
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", SigningKeyLabel, err)
	}
	return s, nil
}

func (t *Token) wrappingKey() (*crypto11.SecretKey, error) {
	k, err := t.ctx.FindKey(nil, []byte(WrappingKeyLabel))
	if k == nil || notFound(err) {
		return nil, fmt.Errorf("%w: %s", ErrKeyMissing, WrappingKeyLabel)
	}
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", WrappingKeyLabel, err)
	}
	return k, nil
}

// notFound recognises crypto11's answer for a key the token does not hold.
func notFound(err error) bool {
	return err != nil && strings.Contains(err.Error(), "was not found")
}
