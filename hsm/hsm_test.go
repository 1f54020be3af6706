package hsm

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"

	"jukiterm/hwsim/softhsm"
)

// newToken creates a SoftHSM2 token in a temporary directory with the terminal's keys.
func newToken(t *testing.T) (*Token, softhsm.Token) {
	t.Helper()
	st, err := softhsm.Create(t.TempDir(), "jukiterm-test")
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
	if err := tok.GenerateKeys(); err != nil {
		t.Fatal(err)
	}
	return tok, st
}

func TestSignAndWrap(t *testing.T) {
	tok, _ := newToken(t)
	if err := tok.GenerateKeys(); err == nil {
		t.Fatal("GenerateKeys made a second set of keys")
	}
	s, err := tok.Signer()
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("checkpoint"))
	sig, err := s.Sign(nil, d[:], nil)
	if err != nil || !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), d[:], sig) {
		t.Fatalf("signature does not verify: %v", err)
	}
	dek := bytes.Repeat([]byte{7}, 32)
	w, err := tok.Wrap(dek, []byte("dek v1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(w, dek) {
		t.Fatal("the wrapped key holds the key in the clear")
	}
	got, err := tok.Unwrap(w, []byte("dek v1"))
	if err != nil || !bytes.Equal(got, dek) {
		t.Fatalf("unwrap: %x %v", got, err)
	}
	if _, err := tok.Unwrap(w, []byte("dek v2")); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("unwrap with other aad: %v", err)
	}
	w[len(w)-1] ^= 1
	if _, err := tok.Unwrap(w, []byte("dek v1")); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("unwrap of a tampered key: %v", err)
	}
}

// TestKeysCannotBeExported tries to read each key's value and to wrap it out with
// another key: the token refuses every time.
func TestKeysCannotBeExported(t *testing.T) {
	tok, _ := newToken(t)
	signer, _ := tok.Signer()
	wrapping, err := tok.wrappingKey()
	if err != nil {
		t.Fatal(err)
	}
	tlsKey, err := tok.TLSSigner()
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]any{"signing": signer, "wrapping": wrapping, "tls": tlsKey} {
		if a, err := tok.ctx.GetAttribute(key, crypto11.CkaValue); err == nil && a != nil && len(a.Value) > 0 {
			t.Errorf("%s key: CKA_VALUE readable (%d bytes)", name, len(a.Value))
		}
		for attr, want := range map[crypto11.AttributeType]byte{crypto11.CkaSensitive: 1, crypto11.CkaExtractable: 0} {
			a, err := tok.ctx.GetAttribute(key, attr)
			if err != nil || len(a.Value) != 1 || a.Value[0] != want {
				t.Errorf("%s key: attribute %#x = %v (%v), want %d", name, attr, a, err, want)
			}
		}
	}
	// C_WrapKey with the wrapping key itself as the wrapper, of the signing key.
	p := pkcs11.New(softhsm.Module)
	if err := p.Initialize(); err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		t.Fatal(err)
	}
	slots, _ := p.GetSlotList(true)
	for _, slot := range slots {
		info, _ := p.GetTokenInfo(slot)
		if info.Label != "jukiterm-test" {
			continue
		}
		se, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
		if err != nil {
			t.Fatal(err)
		}
		defer p.CloseSession(se)
		find := func(class uint, label string) pkcs11.ObjectHandle {
			p.FindObjectsInit(se, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, class), pkcs11.NewAttribute(pkcs11.CKA_LABEL, label)})
			hs, _, _ := p.FindObjects(se, 1)
			p.FindObjectsFinal(se)
			if len(hs) != 1 {
				t.Fatalf("find %s", label)
			}
			return hs[0]
		}
		wrapper := find(pkcs11.CKO_SECRET_KEY, WrappingKeyLabel)
		priv := find(pkcs11.CKO_PRIVATE_KEY, SigningKeyLabel)
		tlsPriv := find(pkcs11.CKO_PRIVATE_KEY, TLSKeyLabel)
		for name, h := range map[string]pkcs11.ObjectHandle{"signing": priv, "wrapping": wrapper, "tls": tlsPriv} {
			if out, err := p.WrapKey(se, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_WRAP_PAD, nil)}, wrapper, h); err == nil {
				t.Errorf("C_WrapKey exported the %s key (%d bytes)", name, len(out))
			}
		}
		return
	}
	t.Fatal("token not found through PKCS#11")
}

func TestOpenFailsClearly(t *testing.T) {
	tok, st := newToken(t)
	tok.Close() // a token stays logged in while this process has it open
	bad := st
	bad.PINFile = t.TempDir() + "/wrong.pin"
	os.WriteFile(bad.PINFile, []byte("000000"), 0o600)
	if _, err := Open(bad.URI()); !errors.Is(err, ErrPIN) {
		t.Errorf("wrong PIN: %v", err)
	}
	missing := st
	missing.Label = "no-such-token"
	if _, err := Open(missing.URI()); !errors.Is(err, ErrNoToken) {
		t.Errorf("missing token: %v", err)
	}
	uri := strings.Replace(st.URI(), "pin-source=file:"+st.PINFile, "pin-value=1234", 1)
	if _, err := Open(uri); err == nil || !strings.Contains(err.Error(), "pin-source") {
		t.Errorf("pin-value: %v", err)
	}
}

// TestPINFileProblemsNamed: an empty, missing or unreadable PIN file is reported with
// the file and what is wrong, not as PKCS#11's CKR_ARGUMENTS_BAD.
func TestPINFileProblemsNamed(t *testing.T) {
	tok, st := newToken(t)
	tok.Close()
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		write bool
		body  string
		want  string
	}{
		"empty":         {true, "", "is empty"},
		"only newline":  {true, "\n", "is empty"},
		"missing":       {false, "", "does not exist"},
		"blank spaces":  {true, "   \n", "is empty"},
		"not absolute":  {false, "", "not an absolute file path"},
		"no pin-source": {false, "", "has no pin-source"},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".pin")
		if tc.write {
			os.WriteFile(path, []byte(tc.body), 0o600)
		}
		uri := strings.Replace(st.URI(), st.PINFile, path, 1)
		switch name {
		case "not absolute":
			uri = strings.Replace(st.URI(), st.PINFile, "relative.pin", 1)
		case "no pin-source":
			uri = strings.Replace(st.URI(), "&pin-source=file:"+st.PINFile, "", 1)
		}
		_, err := Open(uri)
		if !errors.Is(err, ErrPINFile) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "CKR_") {
			t.Errorf("%s: %v, want ErrPINFile saying %q", name, err, tc.want)
		}
		if tc.write && !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v does not name %s", name, err, path)
		}
	}
}

// TestInventoryReadsTheToken: the service status's key lines carry each key's type,
// size and CKA_ID as the token holds them, not names written in the code.
func TestInventoryReadsTheToken(t *testing.T) {
	st, err := softhsm.Create(t.TempDir(), "jukiterm-test")
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
	defer tok.Close()
	if got := strings.Join(tok.Inventory(), "\n"); strings.Count(got, ": missing") != 2 || !strings.Contains(got, TLSKeyLabel+": not made yet") {
		t.Fatalf("an empty token: %s", got)
	}
	if _, err := tok.ctx.GenerateECDSAKeyPairWithLabel([]byte{0x0b, 0x42}, []byte(SigningKeyLabel), elliptic.P256()); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.ctx.GenerateSecretKeyWithLabel([]byte{0xc0, 0xde}, []byte(WrappingKeyLabel), 128, crypto11.CipherAES); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.ctx.GenerateECDSAKeyPairWithLabel([]byte{0x71, 0x5e}, []byte(TLSKeyLabel), elliptic.P256()); err != nil {
		t.Fatal(err)
	}
	got := tok.Inventory()
	want := []string{SigningKeyLabel + ": EC P-256 key pair, id 0b42", WrappingKeyLabel + ": AES-128 secret key, id c0de",
		TLSKeyLabel + ": EC P-256 key pair, id 715e"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("inventory\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
