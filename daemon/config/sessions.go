package config

import (
	"fmt"
	"time"
)

// Defaults of the session keys.
const (
	DefaultSessionIdleMinutes = 10
	DefaultSessionMaxHours    = 12
)

func (c *Config) sessionDefaults() {
	if c.SessionIdleMinutes == 0 {
		c.SessionIdleMinutes = DefaultSessionIdleMinutes
	}
	if c.SessionMaxHours == 0 {
		c.SessionMaxHours = DefaultSessionMaxHours
	}
}

// checkSessions returns the session key that is wrong and why, or "".
func (c *Config) checkSessions() (key, msg string) {
	switch {
	case c.SessionIdleMinutes < 1 || c.SessionIdleMinutes > 120:
		return "session_idle_minutes", fmt.Sprintf("must be between 1 and 120, not %d", c.SessionIdleMinutes)
	case c.SessionMaxHours < 1 || c.SessionMaxHours > 24:
		return "session_max_hours", fmt.Sprintf("must be between 1 and 24, not %d", c.SessionMaxHours)
	}
	return "", ""
}

// SessionIdle is how long a session may go without a request before it locks.
func (c Config) SessionIdle() time.Duration {
	return time.Duration(c.SessionIdleMinutes) * time.Minute
}

// SessionMax is how long a session lasts after sign-in.
func (c Config) SessionMax() time.Duration { return time.Duration(c.SessionMaxHours) * time.Hour }
