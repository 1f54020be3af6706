package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"jukiterm/daemon/api"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon/config"
	"jukiterm/hsm"
	"jukiterm/store"
)

func (a *app) keysCmd() *cobra.Command {
	var confFile string
	c := &cobra.Command{
		Use:   "keys (rotate | recover | reseal | public)",
		Short: "Rotate, restore or re-seal the storage key",
		Long: "Key custody on this terminal, run by an administrator.\n" +
			"  rotate   (jukitermd running) draw a new storage key and re-encrypt every record under\n" +
			"           it, in batches, while searches go on; the recovery secret stays the same.\n" +
			"The others run while jukitermd is stopped:\n" +
			"  recover  after the TPM or the HSM was replaced, or the boot state changed: open the\n" +
			"           storage key with the recovery secret (typed, never on the command line) and\n" +
			"           seal it to this TPM, HSM and boot state.\n" +
			"  reseal   while the key still opens: seal it again to the PCRs the configuration names\n" +
			"           now (after changing pcrs).\n" +
			"  public   print the signing key's public half (PEM): may run while jukitermd runs.",
	}
	// withKeys reads the configuration and key file, opens the HSM and TPM, runs fn,
	// writes the key file back (atomically) when fn succeeds, and then runs after (the
	// operation log's entry, with the key file in place).
	withKeys := func(command string, fn func(cfg config.Config, kf *hsm.KeyFile, k *hw.Keys) error, after func(cfg config.Config, k *hw.Keys) error) (config.Config, error) {
		cfg, err := config.Load(confFile)
		if err != nil {
			return cfg, withCode(exitUsage, err)
		}
		lock, err := lockState(cfg, command)
		if err != nil {
			return cfg, err
		}
		defer lock.Release()
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
		if err := hw.WriteKeyFile(cfg.KeyFile, kf); err != nil {
			return cfg, err
		}
		return cfg, after(cfg, k)
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
			newHSM, trusted := false, ""
			cfg, err := withKeys("keys recover", func(cfg config.Config, kf *hsm.KeyFile, k *hw.Keys) error {
				has, err := hsmHasKeys(k)
				if err != nil {
					return err
				}
				if newHSM = !has; newHSM { // a replacement HSM
					if trusted, err = newHSMKeys(cfg, k); err != nil {
						return err
					}
				}
				dek, err := hsm.Recover(k.Token, k.TPM, kf, secret, cfg.PCRs)
				if err != nil {
					return err
				}
				dek.Destroy()
				return nil
			}, func(cfg config.Config, k *hw.Keys) error {
				return recordOffline(c.Context(), cfg, k, "keys recover", "key.recovered",
					map[string]any{"pcrs": cfg.PCRs, "new_hsm_keys": newHSM, "former_key_trusted": trusted})
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
			cfg, err := withKeys("keys reseal", func(cfg config.Config, kf *hsm.KeyFile, k *hw.Keys) error {
				dek, err := hsm.OpenKey(k.Token, k.TPM, kf)
				if err != nil {
					return fmt.Errorf("the storage key does not open, so it cannot be re-sealed: %w (use `jukiterm keys recover` with the recovery secret)", err)
				}
				defer dek.Destroy()
				return hsm.Reseal(k.Token, k.TPM, kf, dek, cfg.PCRs)
			}, func(cfg config.Config, k *hw.Keys) error {
				return recordOffline(c.Context(), cfg, k, "keys reseal", "key.resealed", map[string]any{"pcrs": cfg.PCRs})
			})
			if err != nil {
				return err
			}
			fmt.Printf("The storage key is sealed to PCRs %v in their current state.\n", cfg.PCRs)
			return nil
		},
	}
	var why string
	trust := &cobra.Command{
		Use:   "trust --config FILE --reason TEXT VERIFIER-KEY",
		Short: "Trust another key's operation-log checkpoints (a former HSM's key), with jukitermd stopped",
		Long: "Add a checkpoint verifier key (NAME+HASH+KEY, as `jukiterm keys public --note` printed it\n" +
			"for the key concerned) to log_verifiers, signed by this terminal's HSM key, and record it in\n" +
			"the operation log. jukitermd then accepts the checkpoints that key signed. `keys recover`\n" +
			"onto a new HSM and `backup restore` do this themselves; this is for a former key whose\n" +
			"signing.pub was lost.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			v, err := store.ParseNoteVerifier(args[0])
			if err != nil {
				return withCode(exitUsage, err)
			}
			if why == "" {
				return withCode(exitUsage, errors.New("give --reason: whose key it is and why it is trusted"))
			}
			added := false
			_, err = withKeys("keys trust", func(cfg config.Config, _ *hsm.KeyFile, k *hw.Keys) error {
				key, err := k.Token.Signer()
				if err != nil {
					return err
				}
				added, err = store.AddTrustedKey(cfg.LogVerifiers, v, why, key, nil)
				return err
			}, func(cfg config.Config, k *hw.Keys) error {
				return recordOffline(c.Context(), cfg, k, "keys trust", "key.trusted", map[string]any{"key": v.VerifierKey(), "added": added})
			})
			if err != nil {
				return err
			}
			if added {
				fmt.Printf("The checkpoints signed by %s are accepted from now on.\n", v.Name())
			} else {
				fmt.Printf("%s was trusted already.\n", v.Name())
			}
			return nil
		},
	}
	trust.Flags().StringVar(&why, "reason", "", "whose key it is and why it is trusted")
	for _, sc := range []*cobra.Command{recover, reseal, trust} {
		sc.Flags().StringVar(&confFile, "config", "/etc/jukiterm/jukiterm.conf", "the daemon's configuration")
	}
	c.AddCommand(a.rotateCmd(), recover, reseal, trust, a.keysPublicCmd())
	return c
}

func (a *app) rotateCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "rotate",
		Short: "Re-encrypt every record under a new storage key while jukitermd serves",
		Long: "Ask jukitermd to draw a new storage key (sealed to this TPM and HSM, and encrypted to\n" +
			"the same recovery key) and to re-encrypt every record under it, in batches. Searches\n" +
			"keep working throughout; ingests wait until it has finished. If a rotation is under\n" +
			"way already, this follows it. Stopping this command does not stop the rotation; if\n" +
			"jukitermd stops, the rotation continues when it starts again.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var bar *progressbar.ProgressBar
			if !a.json && term.IsTerminal(int(os.Stderr.Fd())) {
				bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(os.Stderr),
					progressbar.OptionSetDescription("re-encrypting"), progressbar.OptionShowCount(),
					progressbar.OptionSetItsString("rows"), progressbar.OptionShowIts(),
					progressbar.OptionClearOnFinish())
			}
			st, err := a.client().RotateKeys(c.Context(), func(r api.Rotation) {
				if bar != nil && r.Total > 0 {
					bar.ChangeMax64(r.Total)
					bar.Set64(r.Done)
				}
			})
			if bar != nil {
				bar.Finish()
			}
			if a.json && st.StartedAt != "" {
				enc := json.NewEncoder(os.Stdout)
				enc.Encode(st)
			}
			if err != nil {
				return err
			}
			if !a.json {
				fmt.Printf("Storage key rotated: %d rows re-encrypted; the old key is gone from the key file.\n"+
					"The recovery secret is unchanged.\n", st.Total)
			}
			return nil
		},
	}
	return a.addJSON(c)
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
