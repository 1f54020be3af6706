package link

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"jukiterm/store/record"
)

// Role is what a pinned peer is to this end.
type Role string

const (
	// RoleCS is a municipality's CS, which sends notifications to the terminal.
	RoleCS Role = "cs"
	// RoleNational is the national server the terminal sends updates and queries to.
	RoleNational Role = "national"
	// RoleTerminal is a prefecture's terminal, as the simulators of a CS and of the
	// national server pin it.
	RoleTerminal Role = "terminal"
)

// Pin is one peer this end accepts: named for people, with its role, its 市町村コード
// when it is a CS, and the SHA-256 of its certificate's SubjectPublicKeyInfo.
type Pin struct {
	Name         string
	Role         Role
	Municipality string
	SPKISHA256   [32]byte
}

// ErrBadPin wraps every reason a pin set is not accepted.
var ErrBadPin = errors.New("peer pin not accepted")

// PinSet is a checked, immutable set of pins, looked up by key.
type PinSet struct {
	pins  []Pin
	byKey map[[32]byte]Pin
}

// NewPinSet checks the pins: each has a name (unique), a known role, a valid 市町村コード
// exactly when it is a CS, and a key no other pin has.
func NewPinSet(pins []Pin) (*PinSet, error) {
	s := &PinSet{byKey: map[[32]byte]Pin{}}
	names := map[string]bool{}
	for _, p := range pins {
		switch {
		case p.Name == "" || len(p.Name) > 64 || strings.IndexFunc(p.Name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
			return nil, fmt.Errorf("%w: a peer needs a name of 1 to 64 printable characters", ErrBadPin)
		case names[p.Name]:
			return nil, fmt.Errorf("%w: two peers are named %q; give each its own name", ErrBadPin, p.Name)
		case p.Role != RoleCS && p.Role != RoleNational && p.Role != RoleTerminal:
			return nil, fmt.Errorf("%w: peer %q has role %q; the role is cs, national or terminal", ErrBadPin, p.Name, p.Role)
		case p.Role == RoleCS && !record.ValidMunicipalityCode(p.Municipality):
			return nil, fmt.Errorf("%w: CS %q needs its 市町村コード, 6 digits with a valid check digit (e.g. 052019)", ErrBadPin, p.Name)
		case p.Role != RoleCS && p.Municipality != "":
			return nil, fmt.Errorf("%w: peer %q is not a CS and cannot have a 市町村コード", ErrBadPin, p.Name)
		case p.SPKISHA256 == [32]byte{}:
			return nil, fmt.Errorf("%w: peer %q has no key fingerprint", ErrBadPin, p.Name)
		}
		if other, ok := s.byKey[p.SPKISHA256]; ok {
			return nil, fmt.Errorf("%w: peers %q and %q have the same key (%s); one key identifies one peer", ErrBadPin, other.Name, p.Name, FormatFingerprint(p.SPKISHA256))
		}
		names[p.Name] = true
		s.byKey[p.SPKISHA256] = p
		s.pins = append(s.pins, p)
	}
	return s, nil
}

// Pins lists the pins in the order given.
func (s *PinSet) Pins() []Pin { return append([]Pin(nil), s.pins...) }

// Lookup finds the pin of a key fingerprint.
func (s *PinSet) Lookup(spki [32]byte) (Pin, bool) {
	p, ok := s.byKey[spki]
	return p, ok
}

// SPKIFingerprint is the SHA-256 of a certificate's SubjectPublicKeyInfo: what a pin
// holds.
func SPKIFingerprint(cert *x509.Certificate) [32]byte {
	return sha256.Sum256(cert.RawSubjectPublicKeyInfo)
}

// FormatFingerprint writes a fingerprint for reading aloud by telephone: lower-case hex
// in 16 groups of 4 (3f2a 9c1b …).
func FormatFingerprint(fp [32]byte) string {
	h := hex.EncodeToString(fp[:])
	var b strings.Builder
	for i := 0; i < len(h); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(h[i : i+4])
	}
	return b.String()
}

// ParseFingerprint reads a fingerprint as FormatFingerprint writes it, or as 64 hex
// digits with or without spaces or colons, optionally after "sha256:".
func ParseFingerprint(s string) ([32]byte, error) {
	var fp [32]byte
	t := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "sha256:")
	t = strings.NewReplacer(" ", "", ":", "", "\t", "").Replace(t)
	b, err := hex.DecodeString(t)
	if err != nil || len(b) != len(fp) {
		return fp, fmt.Errorf("%w: a fingerprint is 64 hex digits (SHA-256 of the certificate's public key), as `openssl x509 -in CERT.pem -pubkey -noout | openssl pkey -pubin -outform der | sha256sum` prints it", ErrBadPin)
	}
	copy(fp[:], b)
	return fp, nil
}

// CertificateFingerprint is the pin of a certificate given as DER.
func CertificateFingerprint(der []byte) ([32]byte, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return [32]byte{}, fmt.Errorf("%w: not a certificate (%w)", ErrBadPin, err)
	}
	return SPKIFingerprint(c), nil
}
