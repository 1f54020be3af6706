package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon/config"
	"jukiterm/hsm"
	"jukiterm/store"
)

// keysPublicCmd prints the public half of the HSM's signing key.
func (a *app) keysPublicCmd() *cobra.Command {
	var confFile string
	var asNote bool
	c := &cobra.Command{
		Use:   "public --config FILE [--note]",
		Short: "Print the public half of the terminal's signing key (PEM), read from the HSM",
		Long: "Print the public half of the HSM's signing key as PEM on standard output, and its\n" +
			"fingerprint on standard error. Other terminals check this terminal's backups with it\n" +
			"(jukiterm backup verify|restore --signer FILE). It may run while jukitermd runs.\n" +
			"With --note it prints the key as the operation log's checkpoint verifier key\n" +
			"(NAME+HASH+KEY), the form a log_verifiers file and checkpoint checkers take.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := config.Load(confFile)
			if err != nil {
				return withCode(exitUsage, err)
			}
			pub, err := hw.SigningPublicKey(cfg)
			if err != nil {
				return fmt.Errorf("read the signing key from the HSM: %w%s", err, hw.WhatToDo(err))
			}
			if asNote {
				v, err := store.NewNoteVerifier(hw.LogKeyName(cfg.TerminalID), pub)
				if err != nil {
					return err
				}
				fmt.Println(v.VerifierKey())
				return nil
			}
			b, err := hsm.PublicKeyPEM(pub)
			if err != nil {
				return err
			}
			os.Stdout.Write(b)
			fmt.Fprintln(os.Stderr, "fingerprint", hsm.Fingerprint(pub))
			return nil
		},
	}
	c.Flags().StringVar(&confFile, "config", "/etc/jukiterm/jukiterm.conf", "the daemon's configuration")
	c.Flags().BoolVar(&asNote, "note", false, "print the checkpoint verifier key of the operation log instead of PEM")
	return c
}
