package hsm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"testing"

	"github.com/ThalesGroup/crypto11"

	"jukiterm/hwsim/softhsm"
)

// TestTLSKeyMadeWithTheOthers: a new token gets the TLS key from GenerateKeys, a P-256
// key of its own that signs, and TLSSigner finds that same key without making another.
func TestTLSKeyMadeWithTheOthers(t *testing.T) {
	tok, _ := newToken(t)
	s, err := tok.TLSSigner()
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := s.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("TLS key is %T, want ECDSA P-256", s.Public())
	}
	signing, _ := tok.Signer()
	if pub.Equal(signing.Public()) {
		t.Fatal("the TLS key is the signing key")
	}
	again, err := tok.TLSSigner()
	if err != nil || !pub.Equal(again.Public()) {
		t.Fatalf("second TLSSigner gave another key (%v)", err)
	}
	d := sha256.Sum256([]byte("CertificateVerify"))
	sig, err := s.Sign(nil, d[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(pub, d[:], sig) {
		t.Fatalf("TLS key signature does not verify: %v", err)
	}
	if n := countTLSKeys(t, tok); n != 1 {
		t.Fatalf("%d TLS keys on the token, want 1", n)
	}
}

// TestTLSKeyAddedToOlderToken: a token made before the links (signing and wrapping keys
// only) gets its TLS key from the first TLSSigner, non-extractable, and keeps it.
func TestTLSKeyAddedToOlderToken(t *testing.T) {
	st, err := softhsm.Create(t.TempDir(), "jukiterm-old")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Use(); err != nil {
		t.Fatal(err)
	}
	tok, err := Open(st.URI())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tok.Close() })
	if _, err := tok.ctx.GenerateECDSAKeyPairWithLabel([]byte("sign-1"), []byte(SigningKeyLabel), elliptic.P256()); err != nil {
		t.Fatal(err)
	}
	if n := countTLSKeys(t, tok); n != 0 {
		t.Fatalf("old token already has %d TLS keys", n)
	}
	s, err := tok.TLSSigner()
	if err != nil {
		t.Fatal(err)
	}
	for attr, want := range map[crypto11.AttributeType]byte{crypto11.CkaSensitive: 1, crypto11.CkaExtractable: 0} {
		a, err := tok.ctx.GetAttribute(s, attr)
		if err != nil || len(a.Value) != 1 || a.Value[0] != want {
			t.Errorf("created TLS key: attribute %#x = %v (%v), want %d", attr, a, err, want)
		}
	}
	again, err := tok.TLSSigner()
	if err != nil || !again.Public().(*ecdsa.PublicKey).Equal(s.Public()) {
		t.Fatalf("second TLSSigner gave another key (%v)", err)
	}
	if n := countTLSKeys(t, tok); n != 1 {
		t.Fatalf("%d TLS keys on the token after two calls, want 1", n)
	}
}

func countTLSKeys(t *testing.T, tok *Token) int {
	t.Helper()
	ks, err := tok.ctx.FindKeyPairs(nil, []byte(TLSKeyLabel))
	if err != nil {
		t.Fatal(err)
	}
	return len(ks)
}
