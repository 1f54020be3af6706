package hsm

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"crypto/sha256"
	"golang.org/x/crypto/hkdf"
)

// DEKSize is the size of the storage data-encryption key: AES-256.
const DEKSize = 32

// DEK is the storage data-encryption key. It lives only in memory; it refuses to be
// printed or serialised, so that it cannot reach a log, a file or an API answer.
type DEK struct {
	key []byte
}

// NewDEK draws a fresh random key.
func NewDEK() (*DEK, error) {
	k := make([]byte, DEKSize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return &DEK{key: k}, nil
}

func dekFrom(b []byte) (*DEK, error) {
	if len(b) != DEKSize {
		return nil, fmt.Errorf("the storage key has %d bytes, not %d", len(b), DEKSize)
	}
	return &DEK{key: append([]byte(nil), b...)}, nil
}

// ErrSecret is returned by every attempt to serialise a DEK.
var ErrSecret = errors.New("the storage key is a secret and is never serialised")

func (*DEK) String() string                  { return "DEK(secret)" }
func (*DEK) GoString() string                { return "DEK(secret)" }
func (*DEK) MarshalJSON() ([]byte, error)    { return nil, ErrSecret }
func (*DEK) MarshalText() ([]byte, error)    { return nil, ErrSecret }
func (*DEK) MarshalBinary() ([]byte, error)  { return nil, ErrSecret }
func (*DEK) GobEncode() ([]byte, error)      { return nil, ErrSecret }
func (d *DEK) Format(f fmt.State, verb rune) { io.WriteString(f, d.String()) }

// Derive returns a sub-key for one purpose (HKDF-SHA-256 with the purpose as info):
// record encryption and each blind index get keys of their own.
func (d *DEK) Derive(purpose string) []byte {
	out := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, d.key, nil, []byte("jukiterm "+purpose)), out); err != nil {
		panic(err) // HKDF-SHA-256 yields up to 8160 bytes
	}
	return out
}

// Destroy overwrites the key in memory.
func (d *DEK) Destroy() {
	for i := range d.key {
		d.key[i] = 0
	}
}
