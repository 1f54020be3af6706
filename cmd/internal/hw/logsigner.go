package hw

import (
	"crypto"
	"crypto/ecdsa"

	"jukiterm/daemon/config"
	"jukiterm/store"
)

// LogKeyName names a terminal's checkpoint key in its signed notes.
func LogKeyName(terminalID string) string { return "jukiterm-" + terminalID }

// LogSigner makes the operation log's checkpoint signer from the HSM's signing key,
// trusting besides it the keys listed in log_verifiers.
func LogSigner(cfg config.Config, token interface{ Signer() (crypto.Signer, error) }) (*store.NoteSigner, error) {
	key, err := token.Signer()
	if err != nil {
		return nil, err
	}
	s, err := store.NewNoteSigner(LogKeyName(cfg.TerminalID), key)
	if err != nil {
		return nil, err
	}
	pub, _ := key.Public().(*ecdsa.PublicKey)
	trusted, err := store.ReadTrustedKeys(cfg.LogVerifiers, pub)
	if err != nil {
		return nil, err
	}
	s.Trust(trusted...)
	return s, nil
}
