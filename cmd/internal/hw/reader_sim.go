//go:build !nohwsim

package hw

import (
	"path/filepath"
	"time"

	"jukiterm/daemon/config"
	"jukiterm/devices/usb"
	fpsim "jukiterm/hwsim/fingerprint"
)

func init() {
	startSimReader = func(cfg config.Config) (usb.Bus, func(string, bool) error, func() error, error) {
		sim, err := fpsim.Start(filepath.Join(cfg.StateDir, "sim", "reader"), fpsim.Options{Bus: simBus(cfg)})
		if err != nil {
			return nil, nil, nil, err
		}
		present := func(name string, enrol bool) error {
			hold := time.Duration(0) // the next capture takes it
			if enrol {
				hold = 10 * time.Second // every capture of the enrolment
			}
			if name == "" {
				return fpsim.Lift(sim.Dir())
			}
			return sim.Present(name, hold)
		}
		return sim.Bus(), present, sim.Close, nil
	}
}
