//go:build nohwsim

package main

import (
	"errors"
	"log/slog"

	"jukiterm/store"
)

// The packaged build carries no simulators and no synthetic data.
func loadDemo(*store.Store, int, *slog.Logger) error {
	return errors.New("this build of jukitermd has no simulators (built with -tags nohwsim)")
}

func printDemoHints(*store.Store, string) {}
