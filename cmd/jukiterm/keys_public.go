package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon/config"
	"jukiterm/hsm"
)

// keysPublicCmd prints the public half of the HSM's signing key.
func (a *app) keysPublicCmd() *cobra.Command {
	var confFile string
	c := &cobra.Command{
		Use:   "public --config FILE",
		Short: "Print the public half of the terminal's signing key (PEM), read from the HSM",
		Long: "Print the public half of the HSM's signing key as PEM on standard output, and its\n" +
			"fingerprint on standard error. Other terminals check this terminal's backups with it\n" +
			"(jukiterm backup verify|restore --signer FILE). It may run while jukitermd runs.",
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
	return c
}
