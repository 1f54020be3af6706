package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon/config"
)

// backupIdentityFile is the demo backup identity `init --state` makes in the state
// directory (sim only: on a terminal the identity is kept off the machine).
const backupIdentityFile = "backup-identity.txt"

// initBackupKeys writes what a new sim state directory needs for backups: the demo
// backup identity (whose recipient the configuration names) and signing.pub.
func initBackupKeys(cfg config.Config, id *age.X25519Identity) error {
	text := fmt.Sprintf("# jukiterm demo backup identity (hardware = \"sim\"): it decrypts the backups of %s.\n"+
		"# On a terminal this secret key is kept off the machine; only its recipient is configured.\n"+
		"# created: %s\n# public key: %s\n%s\n", cfg.StateDir, time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
	path := filepath.Join(cfg.StateDir, backupIdentityFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write the demo backup identity: %w", err)
	}
	_, err = f.WriteString(text)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the demo backup identity: %w", err)
	}
	pub, err := hw.SigningPublicKey(cfg)
	if err != nil {
		return fmt.Errorf("read the signing key's public half: %w%s", err, hw.WhatToDo(err))
	}
	if err := hw.WritePublicKey(hw.PublicKeyFile(cfg), pub); err != nil {
		return fmt.Errorf("write %s: %w", hw.PublicKeyFile(cfg), err)
	}
	return nil
}

// writeSigningPub writes signing.pub beside the key file of an installed terminal. A
// failure does not undo the set-up (its recovery secret is still to be shown): it
// says how to write the file later.
func writeSigningPub(cfg config.Config) {
	path := hw.PublicKeyFile(cfg)
	pub, err := hw.SigningPublicKey(cfg)
	if err == nil {
		err = hw.WritePublicKey(path, pub)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "jukiterm: warning: %s was not written (%v). Write it later with `jukiterm keys public --config FILE > %s`.\n", path, err, path)
		return
	}
	fmt.Printf("Wrote the signing key's public half to %s (others check this terminal's backups with it).\n", path)
}
