package hsm

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/ThalesGroup/crypto11"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// Inventory lists the terminal's keys on the token by label, then the type, size and
// CKA_ID (hex) read from the token, without anything secret, for the service status:
// "jukiterm-signing: EC P-256 key pair, id 7369676e2d31".
func (t *Token) Inventory() []string {
	var out []string
	if s, err := t.ctx.FindKeyPair(nil, []byte(SigningKeyLabel)); err == nil && s != nil {
		out = append(out, SigningKeyLabel+": "+t.describe(s, "key pair"))
	} else {
		out = append(out, SigningKeyLabel+": missing")
	}
	if k, err := t.wrappingKey(); err == nil && k != nil {
		out = append(out, WrappingKeyLabel+": "+t.describe(k, "secret key"))
	} else {
		out = append(out, WrappingKeyLabel+": missing")
	}
	if s, err := t.ctx.FindKeyPair(nil, []byte(TLSKeyLabel)); err == nil && s != nil {
		out = append(out, TLSKeyLabel+": "+t.describe(s, "key pair"))
	} else {
		out = append(out, TLSKeyLabel+": not made yet (jukitermd makes it at its first start with links)")
	}
	return out
}

// PKCS#11 key types (CKK_*) and the DER of P-256's curve OID, as the token gives them.
const (
	ckkEC  = 0x3
	ckkAES = 0x1f
)

var p256OID = []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}

// describe reads a key's type, size and CKA_ID from the token (the private half of a
// key pair): none of them is secret.
func (t *Token) describe(key any, what string) string {
	attr := func(a crypto11.AttributeType) ([]byte, error) {
		x, err := t.ctx.GetAttribute(key, a)
		if err != nil || x == nil {
			return nil, err
		}
		return x.Value, nil
	}
	b, err := attr(crypto11.CkaKeyType)
	if err != nil {
		return what + ", its type unreadable: " + err.Error()
	}
	kind := "unknown type"
	if kt, ok := ulong(b); ok {
		switch kt {
		case ckkEC:
			kind = "EC"
			if p, _ := attr(crypto11.CkaEcParams); bytes.Equal(p, p256OID) {
				kind = "EC P-256"
			}
		case ckkAES:
			kind = "AES"
			if b, _ := attr(crypto11.CkaValueLen); b != nil {
				if n, ok := ulong(b); ok {
					kind = fmt.Sprintf("AES-%d", n*8)
				}
			}
		default:
			kind = fmt.Sprintf("key type 0x%x", kt)
		}
	}
	id := "none"
	if b, err := attr(crypto11.CkaId); err != nil {
		id = "unreadable"
	} else if len(b) > 0 {
		id = hex.EncodeToString(b)
	}
	return fmt.Sprintf("%s %s, id %s", kind, what, id)
}

// ulong reads a CK_ULONG attribute (the platform's unsigned long, native order).
func ulong(b []byte) (uint64, bool) {
	switch len(b) {
	case 8:
		return binary.NativeEndian.Uint64(b), true
	case 4:
		return uint64(binary.NativeEndian.Uint32(b)), true
	}
	return 0, false
}

// PCR7 reads PCR 7 (SHA-256 bank), which measures the Secure Boot state the storage
// key is sealed to.
func PCR7(tpm transport.TPM) (string, error) {
	rsp, err := tpm2.PCRRead{PCRSelectionIn: selection([]uint{7})}.Execute(tpm)
	if err != nil {
		return "", fmt.Errorf("read PCR 7: %w", err)
	}
	if len(rsp.PCRValues.Digests) == 0 {
		return "", fmt.Errorf("read PCR 7: the TPM returned no value")
	}
	return hex.EncodeToString(rsp.PCRValues.Digests[0].Buffer), nil
}
