package hw

import (
	"errors"
	"fmt"

	"jukiterm/daemon/config"
	"jukiterm/devices/media"
	"jukiterm/devices/usb"
)

// startSimMedia, set by media_sim.go, starts the simulated sticks of cfg's state dir
// on the simulated bus the fingerprint reader is on.
var startSimMedia func(cfg config.Config) (usb.Bus, media.Locator, func() error, error)

// OpenMedia gives jukitermd the USB bus on which sticks are found and the Locator of
// their data volumes: with hardware = "sim", the simulated sticks of STATE_DIR/sim/usb
// on the same simulated bus as the simulated fingerprint reader; otherwise libusb's
// bus (a context of its own) and media.SysfsLocator. Call the returned function to
// release them, after every volume is closed.
func OpenMedia(cfg config.Config) (usb.Bus, media.Locator, func() error, error) {
	switch {
	case cfg.Hardware == "sim" && startSimMedia == nil:
		return nil, nil, nil, errors.New("this build has no simulators (built with -tags nohwsim): set hardware = \"real\"")
	case cfg.Hardware == "sim":
		bus, loc, stop, err := startSimMedia(cfg)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("start the simulated USB sticks: %w", err)
		}
		return bus, loc, stop, nil
	}
	bus, err := usb.OpenGousb(usb.GousbOptions{})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open the USB bus for the USB sticks: %w", err)
	}
	return bus, media.SysfsLocator{}, bus.Close, nil
}
