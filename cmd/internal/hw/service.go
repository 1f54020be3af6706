package hw

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"jukiterm/daemon/config"
	"jukiterm/hsm"
)

// TPMState reports whether the TPM answers, and PCR 7's value, for the service status.
func (k *Keys) TPMState(cfg config.Config) (state, pcr7 string) {
	v, err := hsm.PCR7(k.TPM)
	if err != nil {
		return fmt.Sprintf("not answering (%s): %v", cfg.TPM, err), ""
	}
	return "present (" + cfg.TPM + ")", v
}

// HSMState names the token (its label, from the URI) and lists its keys.
func (k *Keys) HSMState(cfg config.Config) (token string, keys []string) {
	token = "?"
	if rest, ok := strings.CutPrefix(cfg.HSM, "pkcs11:"); ok {
		path, _, _ := strings.Cut(rest, "?")
		for _, attr := range strings.Split(path, ";") {
			if v, ok := strings.CutPrefix(attr, "token="); ok {
				if u, err := url.PathUnescape(v); err == nil {
					token = u
				}
			}
		}
	}
	return token, k.Token.Inventory()
}

// SelfTest opens the reader with the pairing key (an authenticated exchange) and
// reports what it says about itself.
func (r *Reader) SelfTest(ctx context.Context) string {
	d, err := r.open()
	if err != nil {
		return "failed: " + err.Error()
	}
	defer d.Close()
	in := d.Info()
	return fmt.Sprintf("ok: %s, %d template slots, paired (answers authenticated)", in.Model, in.Slots)
}
