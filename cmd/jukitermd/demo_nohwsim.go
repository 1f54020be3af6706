//go:build nohwsim

package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"jukiterm/daemon/config"
	"jukiterm/store"
)

// The packaged build carries no simulators and no synthetic data.
func loadDemo(*store.Store, int, *slog.Logger) error {
	return errors.New("this build of jukitermd has no simulators (built with -tags nohwsim)")
}

func printDemoHints(*store.Store, string) {}

func demoLinkConfig(*config.Config, *slog.Logger) {}

func demoNationalServer(context.Context, *sync.WaitGroup, *store.Store, config.Config, []byte, *slog.Logger) {
}
