//go:build !nohwsim

package hw

import (
	"path/filepath"

	"jukiterm/daemon/config"
	"jukiterm/hwsim/softhsm"
)

func init() {
	useSimToken = func(cfg config.Config) error {
		tok, err := softhsm.Open(filepath.Join(cfg.StateDir, "hsm"), "jukiterm")
		if err != nil {
			return err
		}
		return tok.Use()
	}
}
