package config

import (
	"path/filepath"
	"slices"

	"golang.org/x/mod/sumdb/note"
)

// Defaults of the service (保守) session.
const (
	DefaultServicePresenceMinutes = 15
	DefaultServiceGraceMinutes    = 5
	DefaultUpdatesDir             = "/var/lib/jukiterm/updates"
)

func (c *Config) serviceDefaults(dir string) {
	if c.ServicePresenceMinutes == 0 {
		c.ServicePresenceMinutes = DefaultServicePresenceMinutes
	}
	if c.ServiceGraceMinutes == 0 {
		c.ServiceGraceMinutes = DefaultServiceGraceMinutes
	}
	switch {
	case c.UpdatesDir == "" && c.Hardware == "sim":
		c.UpdatesDir = filepath.Join(c.StateDir, "updates")
	case c.UpdatesDir == "":
		c.UpdatesDir = DefaultUpdatesDir
	}
	c.UpdatesDir = abs(dir, c.UpdatesDir)
}

// checkService returns the service key that is wrong and why, or "".
func (c *Config) checkService() (key, msg string) {
	switch {
	case c.ServicePresenceMinutes < 1 || c.ServicePresenceMinutes > 60:
		return "service_presence_minutes", "must be between 1 and 60 (minutes between the supervisor's confirmations)"
	case c.ServiceGraceMinutes < 1 || c.ServiceGraceMinutes > 30:
		return "service_grace_minutes", "must be between 1 and 30 (minutes a paused service session waits before it ends)"
	}
	for _, k := range c.UpdateKeys {
		if _, err := note.NewVerifier(k); err != nil {
			return "update_keys", "\"" + k + "\" is not a release key: give the NAME+HASH+BASE64 line of the key's .pub file (`jukiterm service update keygen` writes one)"
		}
	}
	return "", ""
}

func (c Config) serviceNeedRestart(next Config) []string {
	var keys []string
	if c.ServicePresenceMinutes != next.ServicePresenceMinutes {
		keys = append(keys, "service_presence_minutes")
	}
	if c.ServiceGraceMinutes != next.ServiceGraceMinutes {
		keys = append(keys, "service_grace_minutes")
	}
	if !slices.Equal(c.UpdateKeys, next.UpdateKeys) {
		keys = append(keys, "update_keys")
	}
	if c.UpdatesDir != next.UpdatesDir {
		keys = append(keys, "updates_dir")
	}
	return keys
}
