// Package systemd tells the service manager about the daemon's state (sd_notify).
// Outside systemd (no NOTIFY_SOCKET) every call does nothing.
package systemd

import "github.com/coreos/go-systemd/v22/daemon"

// Ready says the daemon serves: call it only once the store is open.
func Ready() error { return notify(daemon.SdNotifyReady) }

// Stopping says the daemon is shutting down.
func Stopping() error { return notify(daemon.SdNotifyStopping) }

// Reloading says the daemon is reloading its configuration (then call Ready).
func Reloading() error { return notify(daemon.SdNotifyReloading) }

// Status sets the one-line status systemctl shows.
func Status(s string) error { return notify("STATUS=" + s) }

func notify(state string) error {
	_, err := daemon.SdNotify(false, state)
	return err
}
