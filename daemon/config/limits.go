package config

import "fmt"

// DefaultMaxConnectionsPerUID is how many connections one Unix user may hold open to
// the socket at once by default.
const DefaultMaxConnectionsPerUID = 64

func (c *Config) limitDefaults() {
	if c.MaxConnectionsPerUID == 0 {
		c.MaxConnectionsPerUID = DefaultMaxConnectionsPerUID
	}
}

// checkLimits returns the limit key that is wrong and why, or "".
func (c *Config) checkLimits() (key, msg string) {
	if n := c.MaxConnectionsPerUID; n < 4 || n > 4096 {
		return "max_connections_per_uid", fmt.Sprintf("must be between 4 and 4096, not %d", n)
	}
	return "", ""
}
