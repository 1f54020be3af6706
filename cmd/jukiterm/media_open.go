package main

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"jukiterm/daemon/backup"
	"jukiterm/daemon/provision"
)

// mediaOpenCmd is the recipient's side: check a provision on a medium, then decrypt it.
// It needs no jukitermd.
func (a *app) mediaOpenCmd() *cobra.Command {
	var identityFile, signerFile, out string
	c := &cobra.Command{
		Use:   "open --identity KEYFILE [--signer PEMFILE] [--out DIR] DIR",
		Short: "Check a provision on a medium and decrypt it (for the recipient; no jukitermd needed)",
		Long: "DIR is the provision's directory (jukiterm/P…) or the medium's mount point when it\n" +
			"holds one provision. The manifest's signature is checked (against --signer, the\n" +
			"prefecture terminal's signing.pub, or else against the key the manifest carries, whose\n" +
			"fingerprint is printed for you to compare), then every file against the manifest;\n" +
			"only then are the results decrypted with the age identity in KEYFILE, into --out\n" +
			"(default: a new directory named after the provision). Anything that does not verify\n" +
			"is refused and nothing is decrypted. Exit status 4: refused.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if identityFile == "" {
				return withCode(exitUsage, errors.New("give --identity KEYFILE: your age identity (AGE-SECRET-KEY-…), whose public key the prefecture encrypted to"))
			}
			ids, err := backup.LoadIdentities(identityFile)
			if err != nil {
				return withCode(exitUsage, err)
			}
			var trusted *ecdsa.PublicKey
			if signerFile != "" {
				if trusted, err = readSigner(signerFile); err != nil {
					return err
				}
			}
			dir, err := provisionDir(args[0])
			if err != nil {
				return withCode(exitUsage, err)
			}
			if out == "" {
				out = filepath.Base(dir)
			}
			s, err := provision.Open(dir, ids, trusted, out)
			if err != nil {
				if errors.Is(err, provision.ErrRefused) {
					return withCode(exitRefused, err)
				}
				return withCode(exitUsage, err)
			}
			if a.json {
				return printJSON(s)
			}
			fmt.Printf("Provision %s verified and decrypted into %s:\n", s.ID, out)
			fmt.Printf("  application %s, recipient %s (%s, %s)\n", s.Application, s.Recipient.ID, s.Recipient.Name, s.Recipient.Basis)
			fmt.Printf("  %d queries: %d result rows, %d not found; made %s by %s on %s (更新順番号 %d)\n",
				s.Counts.Queries, s.Counts.MatchedRows, s.Counts.NotFound, s.Time.Local().Format("2006-01-02 15:04"), s.Operator, s.TerminalID, s.UpdateSeq)
			for _, w := range s.Written {
				fmt.Printf("  wrote %s\n", w)
			}
			if !s.TrustedKey {
				fmt.Fprintf(os.Stderr, "The signature verified with the key the medium carries, %s. Compare it with the prefecture's published key (or give --signer signing.pub): until then, who made it is not proven.\n", s.SignerFingerprint)
			}
			return nil
		},
	}
	c.Flags().StringVar(&identityFile, "identity", "", "your age identity file (AGE-SECRET-KEY-…)")
	c.Flags().StringVar(&signerFile, "signer", "", "the prefecture terminal's public key (signing.pub, PEM)")
	c.Flags().StringVar(&out, "out", "", "where to put the decrypted files (a new directory; default: the provision's id)")
	return a.addJSON(c)
}

// provisionDir finds the provision directory in path: path itself when it holds a
// manifest, else the only provision under path/jukiterm.
func provisionDir(path string) (string, error) {
	if _, err := os.Stat(filepath.Join(path, provision.ManifestFile)); err == nil {
		return path, nil
	}
	ents, err := os.ReadDir(filepath.Join(path, provision.MediaDir))
	if err != nil {
		return "", fmt.Errorf("%s holds no provision (no %s, no %s directory): give the provision's directory", path, provision.ManifestFile, provision.MediaDir)
	}
	var found []string
	for _, e := range ents {
		if e.IsDir() && provision.ValidID(e.Name()) {
			found = append(found, e.Name())
		}
	}
	switch len(found) {
	case 1:
		return filepath.Join(path, provision.MediaDir, found[0]), nil
	case 0:
		return "", fmt.Errorf("%s holds no provision directory", filepath.Join(path, provision.MediaDir))
	}
	return "", fmt.Errorf("%s holds %d provisions (%v): give the one to open, e.g. %s", path, len(found), found, filepath.Join(path, provision.MediaDir, found[0]))
}

// mediaVerifyCmd checks a provision on a medium without decrypting it: for the staff at
// the terminal (the terminal's own key) before a medium is handed over.
func (a *app) mediaVerifyCmd() *cobra.Command {
	var signerFile, confFile string
	c := &cobra.Command{
		Use:   "verify [--signer PEMFILE | --config FILE] DIR",
		Short: "Check a provision on a medium (signature, every file) without decrypting it",
		Long: "DIR is the provision's directory or the medium's mount point when it holds one\n" +
			"provision. The key is --signer, else this terminal's (--config). Exit status 4: refused.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			trusted, from, err := trustedKey(signerFile, confFile, c.Flags().Changed("config"))
			if err != nil {
				return err
			}
			dir, err := provisionDir(args[0])
			if err != nil {
				return withCode(exitUsage, err)
			}
			s, err := provision.Verify(dir, trusted)
			if err != nil {
				if errors.Is(err, provision.ErrRefused) {
					return withCode(exitRefused, err)
				}
				return withCode(exitUsage, err)
			}
			if a.json {
				return printJSON(s)
			}
			fmt.Printf("Provision %s verifies (signed by %s, the key of %s): application %s, recipient %s, %d queries, %d result rows, %d not found.\n",
				s.ID, s.SignerFingerprint, from, s.Application, s.Recipient.ID, s.Counts.Queries, s.Counts.MatchedRows, s.Counts.NotFound)
			return nil
		},
	}
	c.Flags().StringVar(&signerFile, "signer", "", "the terminal's public key (signing.pub, PEM)")
	c.Flags().StringVar(&confFile, "config", "/etc/jukiterm/jukiterm.conf", "this terminal's configuration (its signing key)")
	return a.addJSON(c)
}
