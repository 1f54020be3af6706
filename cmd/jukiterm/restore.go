package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon/atomicfile"
	"jukiterm/daemon/backup"
	"jukiterm/daemon/config"
	"jukiterm/hsm"
	"jukiterm/store"
)

func (a *app) backupRestoreCmd() *cobra.Command {
	var confFile, signerFile, identityFile string
	var replace bool
	c := &cobra.Command{
		Use:   "restore --config FILE [--signer PEMFILE] --identity AGEFILE [--replace] BACKUP",
		Short: "Put a backup in place of the identity file (with jukitermd stopped)",
		Long: "Restore a backup into the identity file the configuration names, with jukitermd\n" +
			"stopped. In order, touching nothing until the last step: the signature is checked\n" +
			"against a trusted key (--signer, or this terminal's signing key) before anything is\n" +
			"decrypted; the payload is decrypted with --identity, its hash and SQLite's integrity\n" +
			"checked; then the storage key is chosen: this terminal's key when it opens the copy\n" +
			"(a backup of this terminal), else the backup's own copy of its storage key, opened\n" +
			"with the recovery secret of the terminal that made it (typed without echo, or one line\n" +
			"on standard input) and sealed to this TPM and HSM in a new key file. Only then are the\n" +
			"identity file and, if it changes, the key file replaced (each atomically).\n" +
			"An identity file that holds records is replaced only with --replace.\n" +
			"Exit status: 0 restored; 4 the backup is refused; 2 anything else (nothing changed).",
		Args: exactArgs(1, "BACKUP (the backup file to restore)"),
		RunE: func(c *cobra.Command, args []string) error {
			if identityFile == "" {
				return withCode(exitUsage, errors.New("--identity AGEFILE is required: the age identity file of one of the backup's recipients (it decrypts the backup)"))
			}
			ids, err := backup.LoadIdentities(identityFile)
			if err != nil {
				return withCode(exitUsage, err)
			}
			cfg, err := config.Load(confFile)
			if err != nil {
				return withCode(exitUsage, err)
			}
			lock, err := lockState(cfg, "backup restore")
			if err != nil {
				return err
			}
			defer lock.Release()
			return restore(c.Context(), cfg, restoreArgs{path: args[0], signer: signerFile, conf: confFile, replace: replace, ids: ids})
		},
	}
	c.Flags().StringVar(&confFile, "config", "/etc/jukiterm/jukiterm.conf", "the daemon's configuration: the identity file, key file, HSM and TPM to restore into")
	c.Flags().StringVar(&signerFile, "signer", "", "the trusted public key (PEM) of the terminal that made the backup, e.g. its signing.pub (default: this terminal's)")
	c.Flags().StringVar(&identityFile, "identity", "", "an age identity file of one of the backup's recipients (required)")
	c.Flags().BoolVar(&replace, "replace", false, "replace an identity file that holds records")
	return c
}

type restoreArgs struct {
	path, signer, conf string
	replace            bool
	ids                []age.Identity
}

// restore runs the steps of `backup restore`; every error before the last step leaves
// everything as it was.
func restore(ctx context.Context, cfg config.Config, ra restoreArgs) error {
	// 0. jukitermd must not have the identity file open.
	_, statErr := os.Stat(cfg.Database)
	exists := statErr == nil
	if exists {
		busy, err := store.InUse(cfg.Database)
		if err != nil {
			return fmt.Errorf("check whether %s is in use: %w. Nothing was changed", cfg.Database, err)
		}
		if busy {
			return fmt.Errorf("%s is open in a running jukitermd: stop it first (systemctl stop jukitermd.socket jukitermd.service), then run the restore again. Nothing was changed", cfg.Database)
		}
	}
	// 1. The signature, against a trusted key, before anything is decrypted.
	trusted, _, err := trustedKey(ra.signer, ra.conf, true)
	if err != nil {
		return err
	}
	v, err := backup.Verify(ra.path, trusted)
	if err != nil {
		return refused(err, true)
	}
	m := v.Manifest
	switch {
	case m.Prefecture != cfg.Prefecture:
		return fmt.Errorf("the backup holds the file of %s, and this terminal keeps %s's (prefecture in %s): restore it on a terminal of %s. Nothing was changed", m.Prefecture, cfg.Prefecture, ra.conf, m.Prefecture)
	case m.SchemaVersion > store.SchemaVersion:
		return fmt.Errorf("the backup has schema version %d, newer than this jukiterm's (%d): install the jukiterm version that made it first. Nothing was changed", m.SchemaVersion, store.SchemaVersion)
	}
	// 2. What the restore would replace.
	if exists && !ra.replace {
		info, integrity, err := store.Inspect(ctx, cfg.Database)
		switch {
		case err != nil || integrity != "ok":
			return fmt.Errorf("%s exists and cannot be checked (%v %s): if it is to be replaced, run again with --replace. Nothing was changed", cfg.Database, err, integrity)
		case info.Persons+info.Removed > 0 || info.UpdateSeq > 0:
			return fmt.Errorf("%s holds records (%d persons, 更新順番号 %d), which the restore would replace: if that is intended, run again with --replace. Nothing was changed", cfg.Database, info.Persons+info.Removed, info.UpdateSeq)
		}
	}
	// 3. Decrypt, check the hash, the integrity and the counts, beside the file.
	tmp := filepath.Join(filepath.Dir(cfg.Database), fmt.Sprintf(".%s.restore-%d", filepath.Base(cfg.Database), os.Getpid()))
	removeDBFiles(tmp)
	defer removeDBFiles(tmp)
	info, err := v.Extract(ctx, tmp, ra.ids)
	if err != nil {
		return refused(err, true)
	}
	// 4. The storage key that opens the copy.
	k, err := hw.Open(cfg)
	if err != nil {
		return fmt.Errorf("open the HSM and TPM (is jukitermd stopped?): %w%s. Nothing was changed", err, hw.WhatToDo(err))
	}
	defer k.Close()
	kf, err := restoreKey(cfg, k, m, tmp)
	if err != nil {
		return err
	}
	// 5. Put the copy, and the key file if it changes, in place.
	if err := putInPlace(cfg, tmp, kf, exists); err != nil {
		return err
	}
	moved, err := settleLog(ctx, cfg, k, m, ra.path, trusted)
	if err != nil {
		return fmt.Errorf("the identity file is restored, but its operation log could not be settled with the exported checkpoints: %w; jukitermd may refuse to start: report it", err)
	}
	if moved > 0 {
		fmt.Fprintf(os.Stderr, "%d exported checkpoints of the operation log cover entries the backup does not hold (made after it, or by the replaced file): "+
			"they were moved to a superseded-… directory in %s. The entries they cover are not in this terminal's log any more "+
			"(an auditor keeps those checkpoints and the archives); the restore is the log's newest entry.\n", moved, cfg.CheckpointDir)
	}
	fmt.Printf("Restored %s into %s:\n", ra.path, cfg.Database)
	t := &table{}
	t.add("  persons", fmt.Sprintf("%d current, %d removed; 更新順番号 %d", info.Persons, info.Removed, info.UpdateSeq))
	t.add("  made by", fmt.Sprintf("terminal %s at %s", m.TerminalID, m.Created.Format(time.RFC3339)))
	if kf == nil {
		t.add("  storage key", "this terminal's, which opens the backup: the key file is unchanged")
		t.print(os.Stdout)
	} else {
		t.add("  storage key", fmt.Sprintf("the backup's, opened with the recovery secret of terminal %s, now sealed to this TPM (PCRs %v) and wrapped by this HSM in %s", m.TerminalID, cfg.PCRs, cfg.KeyFile))
		t.print(os.Stdout)
		fmt.Printf("\nThe recovery secret of this terminal is now the one of terminal %s (the one just typed):\nkeep it with this terminal's papers. The secret shown when this terminal was set up no\nlonger opens its key file.\n", m.TerminalID)
	}
	fmt.Println("\nStart jukitermd again.")
	return nil
}

// restoreKey decides the storage key for the restored copy at tmp. It returns nil when
// this terminal's key opens it (the key file stays as it is), else a new key file with
// the backup's key, opened with the source terminal's recovery secret and sealed to
// this TPM and HSM; the new key file keeps the backup's recovery part, so that same
// secret stays the way back.
func restoreKey(cfg config.Config, k *hw.Keys, m backup.Manifest, tmp string) (*hsm.KeyFile, error) {
	var why string
	b, err := os.ReadFile(cfg.KeyFile)
	if err == nil {
		var kf *hsm.KeyFile
		if kf, err = hsm.ParseKeyFile(b); err == nil {
			var dek *hsm.DEK
			if dek, err = hsm.OpenKey(k.Token, k.TPM, kf); err == nil {
				err = opens(cfg, tmp, dek)
				dek.Destroy()
				if err == nil {
					return nil, nil
				}
				if !errors.Is(err, store.ErrWrongKey) {
					return nil, fmt.Errorf("open the restored copy: %w. Nothing was changed", err)
				}
				why = "the backup was made under another storage key than this terminal's"
			}
		}
	}
	if why == "" {
		why = fmt.Sprintf("this terminal's storage key does not open (%v)", err)
	}
	fmt.Fprintf(os.Stderr, "%s: the backup's own copy of its storage key is used. It opens with the recovery\nsecret of terminal %s, the one that made the backup.\n", why, m.TerminalID)
	secret, err := readSecret(fmt.Sprintf("Recovery secret of terminal %s: ", m.TerminalID))
	if err != nil {
		return nil, err
	}
	kf := &hsm.KeyFile{RecoveryRecipient: m.StorageKey.RecoveryRecipient, RecoveryIdentity: m.StorageKey.RecoveryIdentity}
	dek, err := kf.RecoveryKey(secret, m.StorageKey.Recovery)
	if errors.Is(err, hsm.ErrRecovery) {
		return nil, fmt.Errorf("the recovery secret typed does not open the backup's storage key (check it letter by letter): the secret needed is the one shown when terminal %s was set up. Nothing was changed", m.TerminalID)
	}
	if err != nil {
		return nil, fmt.Errorf("open the backup's storage key: %w. Nothing was changed", err)
	}
	defer dek.Destroy()
	if err := opens(cfg, tmp, dek); err != nil {
		return nil, withCode(exitRefused, fmt.Errorf("%w: the storage key in the backup does not open its own copy (%v). Nothing was changed", backup.ErrRefused, err))
	}
	if has, err := hsmHasKeys(k); err == nil && !has { // a new HSM
		if _, err := newHSMKeys(cfg, k); err != nil {
			return nil, fmt.Errorf("%w. Nothing was changed", err)
		}
	}
	if err := kf.Adopt(k.Token, k.TPM, dek, cfg.PCRs); err != nil {
		return nil, fmt.Errorf("seal the backup's storage key to this TPM and HSM: %w%s. Nothing was changed", err, hw.WhatToDo(err))
	}
	return kf, nil
}

// writeNewSigningPub writes signing.pub for keys just made in a new HSM.
func writeNewSigningPub(cfg config.Config, k *hw.Keys) error {
	s, err := k.Token.Signer()
	if err != nil {
		return fmt.Errorf("the new HSM's signing key: %w. Nothing was changed", err)
	}
	pub, ok := s.Public().(*ecdsa.PublicKey)
	if !ok {
		return errors.New("the new HSM's signing key is not an ECDSA key. Nothing was changed")
	}
	if err := hw.WritePublicKey(hw.PublicKeyFile(cfg), pub); err != nil {
		return fmt.Errorf("write %s: %w. Nothing was changed", hw.PublicKeyFile(cfg), err)
	}
	fmt.Fprintf(os.Stderr, "The HSM held no terminal keys: new ones were made; the new signing key's public half is in %s.\n", hw.PublicKeyFile(cfg))
	return nil
}

// opens says whether dek opens the identity file at path (store.ErrWrongKey if not).
func opens(cfg config.Config, path string, dek *hsm.DEK) error {
	keys, err := store.NewKeys(dek.Derive)
	if err != nil {
		return err
	}
	st, err := store.Open(path, store.Options{TerminalID: cfg.TerminalID, CacheMiB: 16, Readers: 1, Keys: keys})
	if err != nil {
		return err
	}
	return st.Close()
}

// putInPlace renames the checked copy over the identity file and, when kf is not nil,
// a new key file over the old one. The identity file goes first: a crash between the
// two leaves the old key file, which refuses the new identity file (jukitermd says so),
// and the restore can run again. If the key file cannot be replaced, the old identity
// file is put back.
func putInPlace(cfg config.Config, tmp string, kf *hsm.KeyFile, exists bool) error {
	for _, s := range []string{"-wal", "-shm", "-journal"} {
		os.Remove(tmp + s)
	}
	dir := filepath.Dir(cfg.Database)
	saved := ""
	if exists {
		saved = filepath.Join(dir, fmt.Sprintf(".%s.before-restore-%d", filepath.Base(cfg.Database), os.Getpid()))
		os.Remove(saved)
		if err := os.Link(cfg.Database, saved); err != nil {
			return fmt.Errorf("keep the current identity file until the restore is complete: %w. Nothing was changed", err)
		}
		defer func() {
			for _, s := range []string{"", "-wal", "-shm", "-journal"} {
				os.Remove(saved + s)
			}
		}()
	}
	keyTmp := ""
	if kf != nil {
		var err error
		if keyTmp, err = hw.PrepareKeyFile(cfg.KeyFile, kf); err != nil {
			return fmt.Errorf("write the new key file: %w. Nothing was changed", err)
		}
		defer os.Remove(keyTmp)
	}
	sameOwner(tmp, cfg.Database)
	if keyTmp != "" {
		sameOwner(keyTmp, cfg.KeyFile)
	}
	// No process has the file open (checked), so a journal beside it belongs to the
	// replaced file and must not be applied to the restored one. It goes with the
	// saved copy of the replaced file (it may hold that file's last commits), and
	// comes back with it if the restore is undone.
	journals := []string{"-wal", "-shm", "-journal"}
	for _, s := range journals {
		if saved != "" {
			os.Rename(cfg.Database+s, saved+s)
		} else {
			os.Remove(cfg.Database + s)
		}
	}
	putBack := func() {
		if saved == "" {
			os.Remove(cfg.Database)
			return
		}
		os.Rename(saved, cfg.Database)
		for _, s := range journals {
			os.Rename(saved+s, cfg.Database+s)
		}
	}
	if err := os.Rename(tmp, cfg.Database); err != nil {
		putBack()
		return fmt.Errorf("put the restored identity file in place: %w. Nothing was changed", err)
	}
	if keyTmp != "" {
		if err := os.Rename(keyTmp, cfg.KeyFile); err != nil {
			putBack()
			return fmt.Errorf("replace the key file: %w. The identity file was put back; nothing was changed", err)
		}
		atomicfile.SyncDir(filepath.Dir(cfg.KeyFile))
	}
	atomicfile.SyncDir(dir)
	return nil
}

// sameOwner gives path the owner and group of ref (or, when ref does not exist, of
// its directory), so that a restore run as root leaves files jukitermd's user can
// open. Without the right to change owners it changes nothing: the files are then the
// caller's, who is also the owner of what they replace.
func sameOwner(path, ref string) {
	fi, err := os.Stat(ref)
	if err != nil {
		if fi, err = os.Stat(filepath.Dir(ref)); err != nil {
			return
		}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		os.Chown(path, int(st.Uid), int(st.Gid))
	}
}

func removeDBFiles(path string) {
	for _, s := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(path + s)
	}
}
