//go:build !nohwsim

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"jukiterm/daemon/config"
)

// simDir is where a simulator keeps its state: STATE/sim/NAME (reader, usb). STATE
// comes from --state, else the state directory of --config, else that of the socket
// --socket names, else $JUKITERM_STATE, else that of $JUKITERM_SOCKET: in sim mode
// jukitermd's socket lives in its state directory, beside jukiterm.conf, so whoever
// reaches the daemon reaches its simulated hardware the same way.
type simDir struct {
	state, conf string
	app         *app
}

func (d *simDir) flags(c *cobra.Command) *cobra.Command {
	c.Flags().StringVar(&d.state, "state", "", "the state directory of jukitermd in sim mode (default: that of --config, else of the socket given by --socket, $JUKITERM_STATE or $JUKITERM_SOCKET)")
	c.Flags().StringVar(&d.conf, "config", "", "jukitermd's configuration, whose state directory holds the simulators")
	return c
}

func (d *simDir) path(name string) (string, error) {
	state := d.state
	switch {
	case state != "" && d.conf != "":
		return "", withCode(exitUsage, errors.New("give --state or --config, not both"))
	case state == "" && d.conf != "":
		cfg, err := config.Load(d.conf)
		if err != nil {
			return "", withCode(exitUsage, err)
		}
		state = cfg.StateDir
	case state == "" && d.app != nil && d.app.socket != "":
		s, err := stateOfSocket(d.app.socket, "--socket")
		if err != nil {
			return "", err
		}
		state = s
	case state == "":
		state = os.Getenv("JUKITERM_STATE")
		if sock := os.Getenv("JUKITERM_SOCKET"); state == "" && sock != "" {
			s, err := stateOfSocket(sock, "JUKITERM_SOCKET")
			if err != nil {
				return "", err
			}
			state = s
		}
	}
	if state == "" {
		return "", withCode(exitUsage, errors.New("which terminal's simulated hardware? Give --state DIR (as given to `jukiterm init`), --config FILE, or the daemon's socket (--socket, or set JUKITERM_SOCKET as for the other commands), or set JUKITERM_STATE"))
	}
	if fi, err := os.Stat(state); err != nil || !fi.IsDir() {
		return "", withCode(exitUsage, fmt.Errorf("%s is not a state directory: create one with `jukiterm init --state %s`", state, state))
	}
	return filepath.Join(state, "sim", name), nil
}

// stateOfSocket finds the state directory of a jukitermd in sim mode from its socket:
// the configuration beside the socket, which must name that socket.
func stateOfSocket(sock, from string) (string, error) {
	abs, err := filepath.Abs(sock)
	if err != nil {
		return "", withCode(exitUsage, err)
	}
	conf := filepath.Join(filepath.Dir(abs), config.FileName)
	cfg, err := config.Load(conf)
	if err != nil || cfg.Hardware != "sim" || filepath.Clean(cfg.Socket) != abs {
		return "", withCode(exitUsage, fmt.Errorf("the socket %s (from %s) is not that of a jukitermd in sim mode (no %s beside it naming it, with hardware = \"sim\"): give the state directory with --state DIR or --config FILE", sock, from, config.FileName))
	}
	return cfg.StateDir, nil
}
