package store

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoints are C2SP tlog-checkpoint bodies in C2SP signed notes. The terminal's
// HSM key is ECDSA P-256, so the signature is the signed-note spec's type 0x02
// ("ECDSA signatures as implemented by github.com/transparency-dev/witness"): an
// ASN.1 DER ECDSA signature over SHA-256 of the note text, whose key ID is the first
// four bytes (big-endian) of SHA-256 of the DER-encoded SubjectPublicKeyInfo.

const algECDSA = 0x02

// NoteSigner signs notes with an ECDSA P-256 crypto.Signer (the HSM's signing key).
type NoteSigner struct {
	name string
	hash uint32
	key  crypto.Signer
	v    *NoteVerifier

	trusted []*NoteVerifier
}

// NoteVerifier checks notes signed by a NoteSigner's key.
type NoteVerifier struct {
	name string
	hash uint32
	pub  *ecdsa.PublicKey
	der  []byte
}

// NewNoteSigner returns a signer named name (e.g. "jukiterm.example/terminal-01")
// for key, which must be an ECDSA P-256 key.
func NewNoteSigner(name string, key crypto.Signer) (*NoteSigner, error) {
	v, err := NewNoteVerifier(name, key.Public())
	if err != nil {
		return nil, err
	}
	return &NoteSigner{name: name, hash: v.hash, key: key, v: v}, nil
}

// NewNoteVerifier returns a verifier for the ECDSA P-256 public key pub.
func NewNoteVerifier(name string, pub crypto.PublicKey) (*NoteVerifier, error) {
	if name == "" || strings.ContainsAny(name, "+ \n") || !validText(name, 256) {
		return nil, fmt.Errorf("checkpoint key name %q: give a name without spaces or '+', e.g. the terminal's host name", name)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("checkpoint key: want an ECDSA P-256 key, got %T", pub)
	}
	der, err := x509.MarshalPKIXPublicKey(ec)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &NoteVerifier{name: name, hash: binary.BigEndian.Uint32(sum[:4]), pub: ec, der: der}, nil
}

// ParseNoteVerifier reads a verifier key as VerifierKey writes it:
// name+keyhash(8 hex digits)+base64(0x02 || DER SubjectPublicKeyInfo).
func ParseNoteVerifier(vkey string) (*NoteVerifier, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hexHash, b64, ok2 := strings.Cut(rest, "+")
	bad := func(why string) error {
		return fmt.Errorf("checkpoint verifier key %q: %s (want NAME+HASH+KEY, as jukiterm keys public --note prints)", vkey, why)
	}
	if !ok1 || !ok2 {
		return nil, bad("not three parts")
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) < 2 || raw[0] != algECDSA {
		return nil, bad("not an ECDSA (type 0x02) key")
	}
	pub, err := x509.ParsePKIXPublicKey(raw[1:])
	if err != nil {
		return nil, bad(err.Error())
	}
	v, err := NewNoteVerifier(name, pub)
	if err != nil {
		return nil, err
	}
	if h, err := strconv.ParseUint(hexHash, 16, 32); err != nil || uint32(h) != v.hash || len(hexHash) != 8 {
		return nil, bad("the key hash does not match the key")
	}
	return v, nil
}

// Name, KeyHash and Sign implement note.Signer.
func (s *NoteSigner) Name() string    { return s.name }
func (s *NoteSigner) KeyHash() uint32 { return s.hash }
func (s *NoteSigner) Sign(msg []byte) ([]byte, error) {
	d := sha256.Sum256(msg)
	sig, err := s.key.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint with the HSM key: %w", err)
	}
	if !ecdsa.VerifyASN1(s.v.pub, d[:], sig) {
		return nil, errors.New("the HSM key's checkpoint signature does not verify: check the signing key")
	}
	return sig, nil
}

// Verifier returns the verifier of the signer's key.
func (s *NoteSigner) Verifier() *NoteVerifier { return s.v }

// Trust adds keys whose checkpoints the store accepts besides the signer's own: the
// terminal's former signing keys, or those of the terminal whose backup was restored
// here. They check checkpoints; they never sign.
// A key given twice (or the signer's own) counts once.
func (s *NoteSigner) Trust(vs ...*NoteVerifier) {
	for _, v := range vs {
		known := v.name == s.v.name && v.hash == s.v.hash
		for _, t := range s.trusted {
			known = known || (v.name == t.name && v.hash == t.hash)
		}
		if !known {
			s.trusted = append(s.trusted, v)
		}
	}
}

// Verifiers returns the signer's own key and the trusted ones.
func (s *NoteSigner) Verifiers() note.Verifiers {
	vs := []note.Verifier{s.v}
	for _, v := range s.trusted {
		vs = append(vs, v)
	}
	return note.VerifierList(vs...)
}

// Name, KeyHash and Verify implement note.Verifier.
func (v *NoteVerifier) Name() string    { return v.name }
func (v *NoteVerifier) KeyHash() uint32 { return v.hash }
func (v *NoteVerifier) Verify(msg, sig []byte) bool {
	d := sha256.Sum256(msg)
	return ecdsa.VerifyASN1(v.pub, d[:], sig)
}

// Verifier makes a NoteVerifier a list of one key (note.Verifiers).
func (v *NoteVerifier) Verifier(name string, hash uint32) (note.Verifier, error) {
	if name == v.name && hash == v.hash {
		return v, nil
	}
	return nil, &note.UnknownVerifierError{Name: name, KeyHash: hash}
}

// VerifierKey is the verifier's text form, for configuring whoever checks checkpoints.
func (v *NoteVerifier) VerifierKey() string {
	return fmt.Sprintf("%s+%08x+%s", v.name, v.hash, base64.StdEncoding.EncodeToString(append([]byte{algECDSA}, v.der...)))
}

// FormatCheckpoint is a C2SP tlog-checkpoint body: origin, tree size, base64 root.
func FormatCheckpoint(origin string, size int64, root tlog.Hash) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]))
}

// ParseCheckpoint reads a checkpoint body (extension lines after the root are allowed
// and ignored, as the format says).
func ParseCheckpoint(text string) (origin string, size int64, root tlog.Hash, err error) {
	bad := func(why string) error { return fmt.Errorf("%w: checkpoint body: %s", ErrBadCheckpoint, why) }
	if !strings.HasSuffix(text, "\n") {
		return "", 0, root, bad("does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return "", 0, root, bad("fewer than three lines")
	}
	if origin = lines[0]; origin == "" {
		return "", 0, root, bad("empty origin")
	}
	if size, err = strconv.ParseInt(lines[1], 10, 64); err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return "", 0, root, bad("tree size is not a decimal number")
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize || base64.StdEncoding.EncodeToString(h) != lines[2] {
		return "", 0, root, bad("root hash is not 32 bytes of base64")
	}
	copy(root[:], h)
	for _, l := range lines[3:] {
		if l == "" {
			return "", 0, root, bad("empty extension line")
		}
	}
	return origin, size, root, nil
}

// ErrBadCheckpoint says a checkpoint does not parse or its signature does not verify.
var ErrBadCheckpoint = errors.New("bad checkpoint")

// Checkpoint is a signed tree head of the operation log.
type Checkpoint struct {
	Origin string    `json:"origin"`
	Size   int64     `json:"size"`
	Root   tlog.Hash `json:"root"`
	Note   []byte    `json:"-"`
}

// OpenCheckpoint checks a signed checkpoint note's signature by one of v's keys (a
// *NoteVerifier is a list of one) and parses it.
func OpenCheckpoint(msg []byte, v note.Verifiers) (Checkpoint, error) {
	n, err := note.Open(msg, v)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: its signature does not verify with a trusted key: %w", ErrBadCheckpoint, err)
	}
	// base64 decoding ignores the unused low bits of a last character: accept each
	// signature only in its one canonical spelling, so every byte of a note counts.
	for _, sig := range append(n.Sigs, n.UnverifiedSigs...) {
		b, err := base64.StdEncoding.DecodeString(sig.Base64)
		if err != nil || base64.StdEncoding.EncodeToString(b) != sig.Base64 {
			return Checkpoint{}, fmt.Errorf("%w: a signature of %s is not canonical base64", ErrBadCheckpoint, sig.Name)
		}
	}
	origin, size, root, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	return Checkpoint{Origin: origin, Size: size, Root: root, Note: msg}, nil
}
