package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon/config"
	"jukiterm/store"
)

func (a *app) initCmd() *cobra.Command {
	var state, confFile, adminName string
	var demo bool
	c := &cobra.Command{
		Use:   "init (--state DIR | --config FILE)",
		Short: "Create a new, empty identity file and its configuration in DIR",
		Long: "Create a new, empty identity file. With --state DIR, also DIR/jukiterm.conf for the\n" +
			"simulators (hardware = \"sim\"). With --config FILE (an installed terminal), the\n" +
			"identity file that FILE names, and nothing else.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if confFile != "" {
				if state != "" {
					return withCode(exitUsage, errors.New("give --state or --config, not both"))
				}
				cfg, err := config.Load(confFile)
				if err != nil {
					return withCode(exitUsage, err)
				}
				lock, err := lockState(cfg, "init")
				if err != nil {
					return err
				}
				defer lock.Release()
				if _, err := os.Stat(cfg.Database); err == nil {
					return fmt.Errorf("%s already exists: init sets up a new terminal only; nothing was changed (if the keys are lost, use `jukiterm keys recover`)", cfg.Database)
				}
				secret, err := hw.Provision(cfg)
				if err != nil {
					return fmt.Errorf("set up the keys: %w%s", err, hw.WhatToDo(err))
				}
				if err := store.Create(cfg.Database); err != nil {
					os.Remove(cfg.KeyFile) // its recovery secret was never shown
					return fmt.Errorf("create the identity file: %w", err)
				}
				if err := enrolFirst(cfg, adminName, demo); err != nil {
					os.Remove(cfg.Database)
					os.Remove(cfg.KeyFile)
					return err
				}
				fmt.Printf("Created the storage key %s and the identity file %s (for %s).\n", cfg.KeyFile, cfg.Database, confFile)
				writeSigningPub(cfg)
				printRecovery(secret)
				return nil
			}
			if state == "" {
				return withCode(exitUsage, errors.New("--state DIR is required (the directory that will hold the database and jukiterm.conf), or --config FILE on an installed terminal"))
			}
			dir, err := filepath.Abs(state)
			if err != nil {
				return err
			}
			conf := filepath.Join(dir, config.FileName)
			if _, err := os.Stat(conf); err == nil {
				return fmt.Errorf("%s is already initialised (%s exists); nothing was changed. To start over, stop jukitermd and remove %s", dir, conf, dir)
			}
			_, statErr := os.Stat(dir)
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return fmt.Errorf("create the state directory: %w", err)
			}
			cfg := config.Default(dir)
			lock, err := lockState(cfg, "init")
			if err != nil {
				return err
			}
			defer lock.Release()
			id, err := age.GenerateX25519Identity()
			if err != nil {
				return err
			}
			cfg.BackupRecipients = []string{id.Recipient().String()}
			secret, err := initState(cfg, conf)
			if err == nil {
				err = initBackupKeys(cfg, id)
			}
			if err == nil {
				err = enrolFirst(cfg, adminName, demo)
			}
			if err != nil {
				if os.IsNotExist(statErr) {
					os.RemoveAll(dir) // nothing half-made stays behind
				}
				return err
			}
			fmt.Printf("Initialised %s:\n  identity file  %s\n  configuration  %s (hardware = %q)\n  storage key    %s (sealed by the TPM, wrapped by the HSM)\n  socket         %s\n",
				dir, cfg.Database, conf, cfg.Hardware, cfg.KeyFile, cfg.Socket)
			fmt.Printf("  signing key    %s (public half of the HSM's signing key)\n  backups        %s, daily at %s, encrypted to the demo identity %s\n\nStart the daemon with:\n  jukitermd --config %s\n",
				hw.PublicKeyFile(cfg), cfg.BackupDir, cfg.BackupTime, filepath.Join(dir, backupIdentityFile), conf)
			printRecovery(secret)
			return nil
		},
	}
	c.Flags().StringVar(&state, "state", "", "state directory to create (database, configuration, socket)")
	c.Flags().StringVar(&confFile, "config", "", "an existing configuration: create only the identity file it names")
	c.Flags().StringVar(&adminName, "admin", "admin", "the first administrator's operator name (enrolled with a finger at init)")
	c.Flags().BoolVar(&demo, "demo", false, "simulated hardware only: also enrol the demo operators `operator` and `auditor`")
	return c
}

// enrolFirst pairs the reader and enrols the first administrator (and, with demo, the
// demo operators), printing what the person at the reader should do.
func enrolFirst(cfg config.Config, admin string, demo bool) error {
	if demo && cfg.Hardware != "sim" {
		return withCode(exitUsage, errors.New("--demo enrols simulated demo operators and is for hardware = \"sim\" only"))
	}
	ops := []hw.FirstOperator{{Name: admin, Display: "管理者 (administrator)", Roles: []store.Role{store.RoleAdministrator},
		Reason: "first administrator, enrolled at jukiterm init"}}
	if demo {
		ops = append(ops,
			hw.FirstOperator{Name: "operator", Display: "操作者 (demo operator)", Reason: "demo operator (jukiterm init --demo)",
				Roles: []store.Role{store.RoleOperator, store.RoleProvision, store.RoleDisclosure}},
			hw.FirstOperator{Name: "auditor", Display: "監査者 (demo auditor)", Reason: "demo auditor (jukiterm init --demo)",
				Roles: []store.Role{store.RoleAuditor}})
	}
	quiet := cfg.Hardware == "sim"
	if err := hw.EnrolFirst(cfg, ops, func(p string) {
		if !quiet {
			fmt.Fprintln(os.Stderr, p)
		}
	}); err != nil {
		return fmt.Errorf("enrol the first operators: %w%s", err, hw.WhatToDo(err))
	}
	for _, op := range ops {
		fmt.Printf("Enrolled operator %s (%s).\n", op.Name, rolesOf(op.Roles))
	}
	return nil
}

func rolesOf(roles []store.Role) string {
	var s []string
	for _, r := range roles {
		s = append(s, string(r))
	}
	return strings.Join(s, ", ")
}

// printRecovery shows the recovery secret once; it is stored nowhere on the machine.
func printRecovery(secret string) {
	fmt.Printf("\nRecovery secret (shown once, stored nowhere on this machine): write it down and keep it\nin the safe. With it an administrator restores access after the TPM or HSM is replaced.\n\n    %s\n", secret)
}

// initState makes the identity file, the keys and the configuration of a new state
// directory, in that order; the caller removes the directory if any step fails.
func initState(cfg config.Config, conf string) (string, error) {
	if err := store.Create(cfg.Database); err != nil {
		return "", fmt.Errorf("create the identity file: %w", err)
	}
	secret, err := hw.Provision(cfg)
	if err != nil {
		return "", fmt.Errorf("set up the simulated HSM and TPM: %w%s", err, hw.WhatToDo(err))
	}
	if err := config.Write(conf, cfg); err != nil {
		return "", fmt.Errorf("write %s: %w", conf, err)
	}
	return secret, nil
}
