//go:build !nohwsim

package hw

import (
	"path/filepath"

	"github.com/google/go-tpm/tpm2/transport"

	"jukiterm/daemon/config"
	"jukiterm/hwsim/softhsm"
	"jukiterm/hwsim/swtpm"
)

func init() { startSim = simulators }

// simulators start swtpm with its state in cfg.TPM and point SoftHSM2 at the state
// directory's token (made first when create is set).
func simulators(cfg config.Config, create bool) (transport.TPM, func() error, error) {
	dir := filepath.Join(cfg.StateDir, "hsm")
	var tok softhsm.Token
	var err error
	if create {
		tok, err = softhsm.Create(dir, "jukiterm")
	} else {
		tok, err = softhsm.Open(dir, "jukiterm")
	}
	if err != nil {
		return nil, nil, err
	}
	if err := tok.Use(); err != nil {
		return nil, nil, err
	}
	t, err := swtpm.Start(cfg.TPM)
	if err != nil {
		return nil, nil, err
	}
	return t, t.Stop, nil
}
