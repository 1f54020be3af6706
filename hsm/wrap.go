package hsm

import (
	"crypto/rand"
	"errors"
	"fmt"
)

// ErrUnwrap says a wrapped key does not open with this HSM's wrapping key.
var ErrUnwrap = errors.New("the wrapped key does not open with this HSM's wrapping key")

// Wrap encrypts a small secret (the storage key) with AES-256-GCM inside the token
// under the wrapping key; aad binds it to its purpose. The result is nonce || sealed.
func (t *Token) Wrap(secret, aad []byte) (out []byte, err error) {
	k, err := t.wrappingKey()
	if err != nil {
		return nil, err
	}
	aead, err := k.NewGCM()
	if err != nil {
		return nil, fmt.Errorf("HSM GCM: %w", err)
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	defer func() { // crypto11's Seal panics on a PKCS#11 error
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("HSM wrap: %v", r)
		}
	}()
	return aead.Seal(nonce, nonce, secret, aad), nil
}

// Unwrap reverses Wrap inside the token.
func (t *Token) Unwrap(wrapped, aad []byte) ([]byte, error) {
	k, err := t.wrappingKey()
	if err != nil {
		return nil, err
	}
	aead, err := k.NewGCM()
	if err != nil {
		return nil, fmt.Errorf("HSM GCM: %w", err)
	}
	if len(wrapped) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrUnwrap
	}
	n := aead.NonceSize()
	secret, err := aead.Open(nil, wrapped[:n], wrapped[n:], aad)
	if err != nil { // SoftHSM2 answers CKR_GENERAL_ERROR to a bad tag
		return nil, fmt.Errorf("%w (%v)", ErrUnwrap, err)
	}
	return secret, nil
}
