package systemd

import (
	"context"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// WatchdogInterval returns the interval systemd expects pings at (WATCHDOG_USEC for
// this process), or 0 when no watchdog is set.
func WatchdogInterval() time.Duration {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0
	}
	return d
}

// Watchdog pings systemd's watchdog at half its interval for as long as healthy
// answers nil within that half interval; a daemon whose main loop is wedged stops
// pinging and is restarted. A failed check sets STATUS to its error. It returns when
// ctx ends, at once when no watchdog is set.
func Watchdog(ctx context.Context, healthy func(context.Context) error) {
	every := WatchdogInterval() / 2
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		hctx, cancel := context.WithTimeout(ctx, every)
		err := healthy(hctx)
		cancel()
		if err != nil {
			Status("unhealthy, not pinging the watchdog: " + err.Error())
			continue
		}
		notify(daemon.SdNotifyWatchdog)
	}
}
