package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"jukiterm/daemon/config"
	"jukiterm/store"
)

func (a *app) initCmd() *cobra.Command {
	var state, confFile string
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
				if err := store.Create(cfg.Database); err != nil {
					return fmt.Errorf("create the identity file: %w", err)
				}
				fmt.Printf("Created the identity file %s (for %s).\n", cfg.Database, confFile)
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
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return fmt.Errorf("create the state directory: %w", err)
			}
			cfg := config.Default(dir)
			if err := store.Create(cfg.Database); err != nil {
				return fmt.Errorf("create the identity file: %w", err)
			}
			if err := config.Write(conf, cfg); err != nil {
				return fmt.Errorf("write %s: %w", conf, err)
			}
			fmt.Printf("Initialised %s:\n  identity file  %s\n  configuration  %s (hardware = %q)\n  socket         %s\n\nStart the daemon with:\n  jukitermd --config %s\n",
				dir, cfg.Database, conf, cfg.Hardware, cfg.Socket, conf)
			return nil
		},
	}
	c.Flags().StringVar(&state, "state", "", "state directory to create (database, configuration, socket)")
	c.Flags().StringVar(&confFile, "config", "", "an existing configuration: create only the identity file it names")
	return c
}
