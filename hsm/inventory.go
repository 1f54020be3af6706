package hsm

import (
	"encoding/hex"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// Inventory lists the terminal's keys on the token by label, type and handle (CKA_ID),
// without anything secret, for the service status.
func (t *Token) Inventory() []string {
	var out []string
	if s, err := t.ctx.FindKeyPair(nil, []byte(SigningKeyLabel)); err == nil && s != nil {
		out = append(out, SigningKeyLabel+": ECDSA P-256 key pair, id sign-1")
	} else {
		out = append(out, SigningKeyLabel+": missing")
	}
	if k, err := t.wrappingKey(); err == nil && k != nil {
		out = append(out, WrappingKeyLabel+": AES-256 secret key, id wrap-1")
	} else {
		out = append(out, WrappingKeyLabel+": missing")
	}
	return out
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
