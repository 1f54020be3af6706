package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon/config"
	"jukiterm/hsm"
	"jukiterm/store"
)

// The offline administrator commands (jukitermd stopped) record what they did in the
// operation log themselves.

// openOffline opens the identity file with the storage key the key file holds now.
func openOffline(cfg config.Config, k *hw.Keys) (*store.Store, error) {
	_, dek, next, err := hw.LoadKey(cfg, k)
	if err != nil {
		return nil, err
	}
	keys, err := store.NewKeys(dek.Derive)
	dek.Destroy()
	if next != nil {
		next.Destroy()
	}
	if err != nil {
		return nil, err
	}
	return store.Open(cfg.Database, store.Options{TerminalID: cfg.TerminalID, CacheMiB: 16, Keys: keys})
}

// recordOffline appends one entry for an offline command; the Unix user who ran it is
// in its detail.
func recordOffline(ctx context.Context, cfg config.Config, k *hw.Keys, command, action string, detail map[string]any) error {
	st, err := openOffline(cfg, k)
	if err != nil {
		return fmt.Errorf("record %s in the operation log: %w", command, err)
	}
	defer st.Close()
	if u, err := user.Current(); err == nil {
		detail["unix_user"] = u.Username
	}
	if _, err := st.Log(ctx, store.Entry{Operator: "jukiterm " + command, Action: action, Detail: detail}); err != nil {
		return fmt.Errorf("record %s in the operation log: %w", command, err)
	}
	return nil
}

// newHSMKeys makes the terminal's keys in an HSM that holds none (a replacement), writes
// the new signing.pub, and trusts the former signing key (from the signing.pub it
// replaces) for the checkpoints it signed. It returns the former key it trusted ("" if
// none), as a verifier key.
func newHSMKeys(cfg config.Config, k *hw.Keys) (string, error) {
	var former *ecdsa.PublicKey
	if b, err := os.ReadFile(hw.PublicKeyFile(cfg)); err == nil {
		former, _ = hsm.ParsePublicKeyPEM(b)
	}
	if err := k.Token.GenerateKeys(); err != nil {
		return "", fmt.Errorf("create the terminal's keys in the new HSM: %w", err)
	}
	if err := writeNewSigningPub(cfg, k); err != nil {
		return "", err
	}
	// The reader's pairing key was wrapped by the former HSM: set it aside, so that the
	// reader is paired again (after its reset) when an administrator is re-enrolled.
	if _, err := os.Stat(cfg.ReaderKey); err == nil {
		aside := cfg.ReaderKey + ".former-hsm-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(cfg.ReaderKey, aside); err != nil {
			return "", fmt.Errorf("set aside the reader's pairing key, which the new HSM cannot open: %w", err)
		}
		fmt.Fprintf(os.Stderr, "The fingerprint reader was paired through the former HSM (its key is set aside as %s): reset the reader "+
			"(its reset procedure; simulated: jukiterm sim reader reset), then pair it and enrol an administrator again with "+
			"`jukiterm operator reenrol ADMIN --config FILE`, start jukitermd, and re-enrol the other operators.\n", aside)
	}
	if former == nil {
		fmt.Fprintf(os.Stderr, "No former signing.pub was found: if the operation log holds checkpoints of the former HSM key, add that key (`keys public --note` of it) to %s.\n", cfg.LogVerifiers)
		return "", nil
	}
	v, err := store.NewNoteVerifier(hw.LogKeyName(cfg.TerminalID), former)
	if err != nil {
		return "", err
	}
	hsmKey, err := k.Token.Signer()
	if err != nil {
		return "", err
	}
	added, err := store.AddTrustedKey(cfg.LogVerifiers, v, "former HSM signing key of this terminal, replaced at "+time.Now().UTC().Format(time.RFC3339), hsmKey, former)
	if err != nil {
		return "", err
	}
	if added {
		fmt.Fprintf(os.Stderr, "The former signing key stays trusted for the operation log's checkpoints it signed (%s).\n", cfg.LogVerifiers)
	}
	return v.VerifierKey(), nil
}

// hsmHasKeys tells whether the HSM holds the terminal's signing key.
func hsmHasKeys(k *hw.Keys) (bool, error) {
	_, err := k.Token.Signer()
	if errors.Is(err, hsm.ErrKeyMissing) {
		return false, nil
	}
	return err == nil, err
}
