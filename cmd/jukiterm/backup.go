package main

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon/backup"
	"jukiterm/daemon/config"
	"jukiterm/hsm"
)

// exitRefused: backup verify or restore refused the backup (signature, manifest,
// decryption, hash or integrity).
const exitRefused = 4

func (a *app) backupCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "backup (create | verify | restore)",
		Short: "Encrypted, signed backups of the identity file",
		Long: "Backups of the identity file: an online copy, encrypted with age to the configured\n" +
			"backup_recipients and signed by the terminal's HSM key (docs/backup.md).\n" +
			"  create   ask jukitermd to make a backup now (it also makes one daily at backup_time)\n" +
			"  verify   check a backup's signature and manifest; with --identity also its contents;\n" +
			"           without BACKUP, ask jukitermd to check the newest one (signed in)\n" +
			"  restore  put a backup in place of the identity file (jukitermd stopped)",
	}
	c.AddCommand(a.backupCreateCmd(), a.backupVerifyCmd(), a.backupRestoreCmd())
	return c
}

func (a *app) backupCreateCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "create",
		Short: "Make a backup now (jukitermd makes it; prints its path, size and counts)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			res, err := a.client().Backup(c.Context())
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(res)
			}
			t := &table{}
			t.add("backup", res.Path)
			t.add("size", fmt.Sprintf("%s (%d bytes)", mib(res.Bytes), res.Bytes))
			t.add("persons", fmt.Sprintf("%d current, %d removed", res.Persons, res.Removed))
			t.add("更新順番号 update_seq", fmt.Sprint(res.UpdateSeq))
			t.add("created", res.Created.Format(time.RFC3339))
			t.add("signed by", res.SignerFingerprint)
			t.print(os.Stdout)
			return nil
		},
	}
	return a.addJSON(c)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// verifyReport is `backup verify --json`.
type verifyReport struct {
	Path              string    `json:"path"`
	TerminalID        string    `json:"terminal_id"`
	Prefecture        string    `json:"prefecture"`
	Created           time.Time `json:"created"`
	SchemaVersion     int       `json:"schema_version"`
	UpdateSeq         int64     `json:"update_seq"`
	Persons           int64     `json:"persons"`
	Removed           int64     `json:"persons_removed"`
	PayloadBytes      int64     `json:"payload_bytes"`
	PayloadSHA256     string    `json:"payload_sha256"`
	Recipients        []string  `json:"recipients"`
	SignerFingerprint string    `json:"signer_fingerprint"`
	TrustedKey        string    `json:"trusted_key"`
	ContentsChecked   bool      `json:"contents_checked"`
}

func (a *app) backupVerifyCmd() *cobra.Command {
	var confFile, signerFile, identityFile string
	c := &cobra.Command{
		Use:   "verify [[--config FILE] [--signer PEMFILE] [--identity AGEFILE] BACKUP]",
		Short: "Check a backup's signature and manifest; with --identity also decrypt and check its contents",
		Long: "Check a backup without changing anything.\n" +
			"Without BACKUP, jukitermd checks the newest backup of this terminal with its signing key\n" +
			"and decrypts nothing (signed in as a vendor in a service session, an administrator or an\n" +
			"auditor; the same as `jukiterm service backup-verify`).\n" +
			"With BACKUP, jukiterm checks that file itself, without jukitermd. The signature must verify with a trusted\n" +
			"key: --signer PEMFILE (another terminal's signing.pub), or else this terminal's signing\n" +
			"key, from its HSM or its signing.pub (found through --config). Nothing is decrypted\n" +
			"before the signature verifies. With --identity (an age identity file of one of the\n" +
			"backup's recipients) the payload is decrypted into a temporary file, its hash checked\n" +
			"and SQLite's integrity check run on it; the file is removed after.\n" +
			"Exit status: 0 the backup is sound; 4 it is refused (the message says why); 2 usage.",
		Args: maxOneArg("BACKUP (the backup file to check), or none to have jukitermd check the newest backup"),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				for _, f := range []string{"config", "signer", "identity"} {
					if c.Flags().Changed(f) {
						return withCode(exitUsage, fmt.Errorf("--%s is for checking a backup file: give the file too (`jukiterm backup verify --%s … BACKUP`), or leave --%s out to have jukitermd check the newest backup", f, f, f))
					}
				}
				return a.newestBackupVerify(c.Context(), true)
			}
			var ids []age.Identity
			if identityFile != "" {
				var err error
				if ids, err = backup.LoadIdentities(identityFile); err != nil {
					return withCode(exitUsage, err)
				}
			}
			trusted, source, err := trustedKey(signerFile, confFile, c.Flags().Changed("config"))
			if err != nil {
				return err
			}
			v, err := backup.Verify(args[0], trusted)
			if err != nil {
				return refused(err, false)
			}
			if ids != nil {
				dir, err := os.MkdirTemp("", "jukiterm-verify-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				if _, err := v.Extract(c.Context(), filepath.Join(dir, "copy.db"), ids); err != nil {
					return refused(err, false)
				}
			}
			m := v.Manifest
			rep := verifyReport{Path: args[0], TerminalID: m.TerminalID, Prefecture: m.Prefecture, Created: m.Created,
				SchemaVersion: m.SchemaVersion, UpdateSeq: m.UpdateSeq, Persons: m.Persons, Removed: m.Removed,
				PayloadBytes: m.PayloadBytes, PayloadSHA256: m.PayloadSHA256, Recipients: m.Recipients,
				SignerFingerprint: m.Signer.Fingerprint, TrustedKey: source, ContentsChecked: ids != nil}
			if a.json {
				return printJSON(rep)
			}
			t := &table{}
			t.add("backup", args[0])
			t.add("signature", "good: "+m.Signer.Fingerprint+" ("+source+")")
			t.add("terminal", m.TerminalID+" ("+m.Prefecture+")")
			t.add("created", m.Created.Format(time.RFC3339))
			t.add("persons", fmt.Sprintf("%d current, %d removed", m.Persons, m.Removed))
			t.add("更新順番号 update_seq", fmt.Sprint(m.UpdateSeq))
			t.add("payload", fmt.Sprintf("%s, sha256 %s", mib(m.PayloadBytes), m.PayloadSHA256))
			t.add("recipients", strings.Join(m.Recipients, ", "))
			if ids != nil {
				t.add("contents", "decrypted with "+identityFile+": hash as signed, SQLite integrity ok, counts as in the manifest")
			} else {
				t.add("contents", "not decrypted (give --identity AGEFILE to check them too)")
			}
			t.print(os.Stdout)
			fmt.Println("The backup is sound.")
			return nil
		},
	}
	c.Flags().StringVar(&confFile, "config", "/etc/jukiterm/jukiterm.conf", "this terminal's configuration (for its signing key), when --signer is not given")
	c.Flags().StringVar(&signerFile, "signer", "", "the trusted public key (PEM) of the terminal that made the backup, e.g. its signing.pub")
	c.Flags().StringVar(&identityFile, "identity", "", "an age identity file of one of the backup's recipients: also decrypt and check the contents")
	return a.addJSON(c)
}

// exactArgs is cobra.ExactArgs with a message that names what is missing.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return withCode(exitUsage, fmt.Errorf("give exactly one argument: %s. See `%s --help`", what, c.CommandPath()))
		}
		return nil
	}
}

// maxOneArg allows no argument or one, with a message that names it.
func maxOneArg(what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) > 1 {
			return withCode(exitUsage, fmt.Errorf("give at most one argument: %s. See `%s --help`", what, c.CommandPath()))
		}
		return nil
	}
}

// refused gives a refused backup its exit status; the restore adds that nothing was
// changed.
func refused(err error, changedNothing bool) error {
	if !errors.Is(err, backup.ErrRefused) {
		return err
	}
	if changedNothing {
		err = fmt.Errorf("%w. Nothing was changed", err)
	}
	return withCode(exitRefused, err)
}

// trustedKey is the key a backup's signature must verify with: --signer, or else this
// terminal's signing key, from its HSM or, when the HSM does not open, signing.pub.
// It returns where the key came from, for the report.
// readSigner reads a terminal's public key (PEM) given with --signer.
func readSigner(path string) (*ecdsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("read --signer: %w", err))
	}
	pub, err := hsm.ParsePublicKeyPEM(b)
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("--signer %s: %w", path, err))
	}
	return pub, nil
}

func trustedKey(signerFile, confFile string, confGiven bool) (*ecdsa.PublicKey, string, error) {
	if signerFile != "" {
		pub, err := readSigner(signerFile)
		return pub, "--signer " + signerFile, err
	}
	cfg, err := config.Load(confFile)
	if err != nil {
		hint := "give --signer PEMFILE (the signing.pub of the terminal that made the backup)"
		if !confGiven {
			hint += ", or --config FILE of this terminal"
		}
		return nil, "", withCode(exitUsage, fmt.Errorf("no trusted signing key: %v. What to do: %s", err, hint))
	}
	pub, herr := hw.SigningPublicKey(cfg)
	if herr == nil {
		return pub, "this terminal's HSM", nil
	}
	path := hw.PublicKeyFile(cfg)
	b, ferr := os.ReadFile(path)
	if ferr == nil {
		if pub, ferr = hsm.ParsePublicKeyPEM(b); ferr == nil {
			return pub, path, nil
		}
	}
	return nil, "", fmt.Errorf("no trusted signing key: the HSM does not open (%v) and %s cannot be read (%v). What to do: give --signer PEMFILE, the signing.pub of the terminal that made the backup", herr, path, ferr)
}
