package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon/config"
	"jukiterm/hsm"
)

func (a *app) keysCmd() *cobra.Command {
	var confFile string
	c := &cobra.Command{
		Use:   "keys (recover | reseal | public) --config FILE",
		Short: "Restore or re-seal the storage key (with jukitermd stopped)",
		Long: "Key custody on this terminal, run by an administrator while jukitermd is stopped.\n" +
			"  recover  after the TPM or the HSM was replaced, or the boot state changed: open the\n" +
			"           storage key with the recovery secret (typed, never on the command line) and\n" +
			"           seal it to this TPM, HSM and boot state.\n" +
			"  reseal   while the key still opens: seal it again to the PCRs the configuration names\n" +
			"           now (after changing pcrs).\n" +
			"  public   print the signing key's public half (PEM): may run while jukitermd runs.",
	}
	// withKeys reads the configuration and key file, opens the HSM and TPM, runs fn,
	// and writes the key file back (atomically) when fn succeeds.
	withKeys := func(fn func(cfg config.Config, kf *hsm.KeyFile, k *hw.Keys) error) (config.Config, error) {
		cfg, err := config.Load(confFile)
		if err != nil {
			return cfg, withCode(exitUsage, err)
		}
		b, err := os.ReadFile(cfg.KeyFile)
		if err != nil {
			return cfg, fmt.Errorf("read the key file: %w", err)
		}
		kf, err := hsm.ParseKeyFile(b)
		if err != nil {
			return cfg, err
		}
		k, err := hw.Open(cfg)
		if err != nil {
			return cfg, fmt.Errorf("open the HSM and TPM (is jukitermd stopped?): %w%s", err, hw.WhatToDo(err))
		}
		defer k.Close()
		if err := fn(cfg, kf, k); err != nil {
			return cfg, err
		}
		return cfg, hw.WriteKeyFile(cfg.KeyFile, kf)
	}
	recover := &cobra.Command{
		Use:   "recover --config FILE",
		Short: "Open the storage key with the recovery secret and seal it to this TPM and HSM",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			secret, err := readSecret("Recovery secret: ")
			if err != nil {
				return err
			}
			cfg, err := withKeys(func(cfg config.Config, kf *hsm.KeyFile, k *hw.Keys) error {
				if _, err := k.Token.Signer(); errors.Is(err, hsm.ErrKeyMissing) {
					if err := k.Token.GenerateKeys(); err != nil { // a replacement HSM
						return err
					}
				}
				dek, err := hsm.Recover(k.Token, k.TPM, kf, secret, cfg.PCRs)
				if err != nil {
					return err
				}
				dek.Destroy()
				return nil
			})
			if err != nil {
				return err
			}
			fmt.Printf("Access restored: the storage key is sealed to this TPM (PCRs %v) and wrapped by this HSM.\nStart jukitermd again.\n", cfg.PCRs)
			return nil
		},
	}
	reseal := &cobra.Command{
		Use:   "reseal --config FILE",
		Short: "Seal the storage key again to the PCRs the configuration names",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := withKeys(func(cfg config.Config, kf *hsm.KeyFile, k *hw.Keys) error {
				dek, err := hsm.OpenKey(k.Token, k.TPM, kf)
				if err != nil {
					return fmt.Errorf("the storage key does not open, so it cannot be re-sealed: %w (use `jukiterm keys recover` with the recovery secret)", err)
				}
				defer dek.Destroy()
				return hsm.Reseal(k.Token, k.TPM, kf, dek, cfg.PCRs)
			})
			if err != nil {
				return err
			}
			fmt.Printf("The storage key is sealed to PCRs %v in their current state.\n", cfg.PCRs)
			return nil
		},
	}
	for _, sc := range []*cobra.Command{recover, reseal} {
		sc.Flags().StringVar(&confFile, "config", "/etc/jukiterm/jukiterm.conf", "the daemon's configuration")
	}
	c.AddCommand(recover, reseal, a.keysPublicCmd())
	return c
}

// readSecret reads a line from the terminal without echo, or from standard input.
func readSecret(prompt string) (string, error) {
	if term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprint(os.Stderr, prompt)
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		return strings.TrimSpace(string(b)), err
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if strings.TrimSpace(line) == "" {
		return "", withCode(exitUsage, fmt.Errorf("no recovery secret on standard input (%v)", err))
	}
	return strings.TrimSpace(line), nil
}
