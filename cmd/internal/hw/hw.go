// Package hw wires the hardware the configuration names: the HSM token and the TPM,
// real or simulated (hw_sim.go, left out of the packaged build), and the storage key
// they guard. Both commands use it: `jukiterm init` to provision, jukitermd to open.
package hw

import (
	"errors"
	"fmt"
	"os"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"

	"jukiterm/daemon/atomicfile"
	"jukiterm/daemon/config"
	"jukiterm/hsm"
)

// Keys are the open HSM token and TPM.
type Keys struct {
	Token *hsm.Token
	TPM   transport.TPM // one command at a time (hsm.Serialized): goroutines share it
	close []func() error
}

// Close releases the token and the TPM (and stops a simulator).
func (k *Keys) Close() error {
	var errs []error
	for i := len(k.close) - 1; i >= 0; i-- {
		errs = append(errs, k.close[i]())
	}
	return errors.Join(errs...)
}

// startSim, set by hw_sim.go, opens the simulated TPM and points SoftHSM2 at the state
// directory's token; create also makes them.
var startSim func(cfg config.Config, create bool) (transport.TPM, func() error, error)

// Open opens the HSM token and the TPM the configuration names.
func Open(cfg config.Config) (*Keys, error) { return open(cfg, false) }

func open(cfg config.Config, create bool) (*Keys, error) {
	k := &Keys{}
	switch {
	case cfg.Hardware == "sim" && startSim == nil:
		return nil, errors.New("this build has no simulators (built with -tags nohwsim): set hardware = \"real\"")
	case cfg.Hardware == "sim":
		tpm, stop, err := startSim(cfg, create)
		if err != nil {
			return nil, err
		}
		k.TPM, k.close = hsm.Serialized(tpm), append(k.close, stop)
	default:
		if _, err := os.Stat(cfg.TPM); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrNoTPM, cfg.TPM, err)
		}
		tpm, err := linuxtpm.Open(cfg.TPM)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrNoTPM, cfg.TPM, err)
		}
		k.TPM, k.close = hsm.Serialized(tpm), append(k.close, tpm.Close)
	}
	tok, err := hsm.Open(cfg.HSM)
	if err != nil {
		k.Close()
		return nil, err
	}
	k.Token, k.close = tok, append(k.close, tok.Close)
	return k, nil
}

// ErrNoTPM says the TPM could not be reached.
var ErrNoTPM = errors.New("the TPM is not available")

// ErrNoKeyFile says the storage key file is missing.
var ErrNoKeyFile = errors.New("the storage key file is missing")

// Provision creates the terminal's keys in the HSM (unless it holds them), a new
// storage key sealed to the TPM, and the key file. It returns the recovery secret,
// to be shown once and kept nowhere on the machine.
func Provision(cfg config.Config) (string, error) {
	if _, err := os.Stat(cfg.KeyFile); err == nil {
		return "", fmt.Errorf("%s already exists: refusing to replace the storage key", cfg.KeyFile)
	}
	k, err := open(cfg, true)
	if err != nil {
		return "", err
	}
	defer k.Close()
	if _, err := k.Token.Signer(); errors.Is(err, hsm.ErrKeyMissing) {
		if err := k.Token.GenerateKeys(); err != nil {
			return "", err
		}
	}
	kf, dek, secret, err := hsm.CreateKey(k.Token, k.TPM, cfg.PCRs)
	if err != nil {
		return "", err
	}
	dek.Destroy()
	if err := WriteKeyFile(cfg.KeyFile, kf); err != nil {
		return "", err
	}
	return secret, nil
}

// WriteKeyFile replaces the key file atomically (temporary file, fsync, rename): a
// crash leaves the old file or the new one, never half of one.
func WriteKeyFile(path string, kf *hsm.KeyFile) error {
	b, err := kf.Marshal()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o600)
}

// ReadKeyFile reads and parses the key file.
func ReadKeyFile(cfg config.Config) (*hsm.KeyFile, error) {
	b, err := os.ReadFile(cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoKeyFile, err)
	}
	kf, err := hsm.ParseKeyFile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.KeyFile, err)
	}
	return kf, nil
}

// LoadKey reads the key file and opens the storage key with the HSM and the TPM, and
// the new key of a rotation under way (nil when none is).
func LoadKey(cfg config.Config, k *Keys) (kf *hsm.KeyFile, cur, next *hsm.DEK, err error) {
	if kf, err = ReadKeyFile(cfg); err != nil {
		return nil, nil, nil, err
	}
	if cur, err = hsm.OpenKey(k.Token, k.TPM, kf); err != nil {
		return nil, nil, nil, err
	}
	if next, err = hsm.OpenNext(k.Token, k.TPM, kf); err != nil {
		cur.Destroy()
		return nil, nil, nil, fmt.Errorf("the new key of the key rotation under way: %w", err)
	}
	return kf, cur, next, nil
}

// WhatToDo returns ". What to do: …" for a failure to open the keys, to follow the
// error in a message, or "" when it has nothing to add.
func WhatToDo(err error) string {
	if a := advice(err); a != "" {
		return ". What to do: " + a
	}
	return ""
}

func advice(err error) string {
	switch {
	case errors.Is(err, hsm.ErrPCRChanged):
		return "the machine's boot state has changed since the storage key was sealed: if the change was planned, an administrator restores access with `jukiterm keys recover` and the recovery secret; if not, report it as a possible tampering"
	case errors.Is(err, hsm.ErrOtherTPM):
		return "the TPM was replaced or cleared: an administrator restores access with `jukiterm keys recover` and the recovery secret"
	case errors.Is(err, hsm.ErrPINFile):
		return "put the HSM token's user PIN, alone on one line, in the file named by pin-source in the hsm key of the configuration, owned by the user jukitermd runs as and mode 0600 (`chmod 0600 FILE`)"
	case errors.Is(err, hsm.ErrPIN):
		return "the HSM refused the PIN: check the file named by pin-source in the hsm key of the configuration"
	case errors.Is(err, hsm.ErrNoToken):
		return "the HSM token is not present: connect the HSM, or check the token name in the hsm key of the configuration"
	case errors.Is(err, hsm.ErrKeyMissing):
		return "the HSM does not hold the terminal's keys: connect the right HSM, or restore access with the recovery secret"
	case errors.Is(err, hsm.ErrUnwrap):
		return "the storage key does not open with this HSM: connect the HSM the terminal was set up with, or restore access with the recovery secret"
	case errors.Is(err, ErrNoTPM):
		return "the TPM is not available: check the tpm key of the configuration and the device"
	case errors.Is(err, ErrNoKeyFile):
		return "restore the key file from the backup; `jukiterm init` is only for a new terminal with no identity file yet"
	}
	return ""
}
