//go:build !nohwsim

package hw

import (
	"path/filepath"
	"sync"

	"jukiterm/daemon/config"
	"jukiterm/devices/media"
	"jukiterm/devices/usb"
	"jukiterm/hwsim/mediasim"
	"jukiterm/hwsim/usbsim"
)

// simBuses are the simulated USB buses by state directory: a terminal's simulated
// reader and sticks are on one bus, as on a real machine.
var simBuses sync.Map // string → *usbsim.Bus

func simBus(cfg config.Config) *usbsim.Bus {
	b, _ := simBuses.LoadOrStore(filepath.Clean(cfg.StateDir), usbsim.NewBus(1))
	return b.(*usbsim.Bus)
}

func init() {
	startSimMedia = func(cfg config.Config) (usb.Bus, media.Locator, func() error, error) {
		sim, err := mediasim.Start(filepath.Join(cfg.StateDir, "sim", "usb"), simBus(cfg))
		if err != nil {
			return nil, nil, nil, err
		}
		return sim.Bus(), sim, sim.Close, nil
	}
}
