package hw

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"jukiterm/daemon/atomicfile"
	"jukiterm/daemon/config"
	"jukiterm/hsm"
)

// useSimToken, set by token_sim.go, points SoftHSM2 at the state directory's token.
var useSimToken func(cfg config.Config) error

// OpenToken opens only the HSM token the configuration names, not the TPM: enough for
// the signing key's public half, also while jukitermd runs.
func OpenToken(cfg config.Config) (*hsm.Token, error) {
	if cfg.Hardware == "sim" {
		if useSimToken == nil {
			return nil, errors.New("this build has no simulators (built with -tags nohwsim): set hardware = \"real\"")
		}
		if err := useSimToken(cfg); err != nil {
			return nil, err
		}
	}
	return hsm.Open(cfg.HSM)
}

// SigningPublicKey returns the public half of the terminal's signing key, from the HSM.
func SigningPublicKey(cfg config.Config) (*ecdsa.PublicKey, error) {
	tok, err := OpenToken(cfg)
	if err != nil {
		return nil, err
	}
	defer tok.Close()
	s, err := tok.Signer()
	if err != nil {
		return nil, err
	}
	pub, ok := s.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("the HSM's %s is not an ECDSA key", hsm.SigningKeyLabel)
	}
	return pub, nil
}

// PublicKeyFile is where `jukiterm init` puts the signing key's public half (PEM):
// signing.pub beside the key file. Other terminals check this one's backups with it.
func PublicKeyFile(cfg config.Config) string {
	return filepath.Join(filepath.Dir(cfg.KeyFile), "signing.pub")
}

// WritePublicKey writes the signing key's public half to path (PEM, mode 0644),
// atomically.
func WritePublicKey(path string, pub *ecdsa.PublicKey) error {
	b, err := hsm.PublicKeyPEM(pub)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o644)
}

// PrepareKeyFile writes kf to a new temporary file beside path (mode 0600, synced) and
// returns its name, for a caller that renames it over path as the last step of a
// change made of several files (backup restore). The caller removes it on failure.
func PrepareKeyFile(path string, kf *hsm.KeyFile) (string, error) {
	b, err := kf.Marshal()
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".storage.key-")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}
