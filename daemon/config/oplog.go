package config

import (
	"fmt"
	"path/filepath"
)

// Defaults of the operation-log keys.
const (
	DefaultCheckpointEvery   = 1000
	DefaultCheckpointSeconds = 300
)

func (c *Config) oplogDefaults(dir string) {
	if c.CheckpointDir == "" {
		c.CheckpointDir = filepath.Join(c.StateDir, "checkpoints")
	}
	c.CheckpointDir = abs(dir, c.CheckpointDir)
	if c.LogVerifiers == "" {
		c.LogVerifiers = filepath.Join(c.StateDir, "log-verifiers")
	}
	c.LogVerifiers = abs(dir, c.LogVerifiers)
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = DefaultCheckpointEvery
	}
	if c.CheckpointSeconds == 0 {
		c.CheckpointSeconds = DefaultCheckpointSeconds
	}
	if c.LogRetentionYears == 0 {
		c.LogRetentionYears = 7
	}
}

// checkOplog returns the operation-log key that is wrong and why, or "".
func (c *Config) checkOplog() (key, msg string) {
	switch {
	case c.CheckpointEvery < 1:
		return "checkpoint_every", fmt.Sprintf("must be at least 1, not %d", c.CheckpointEvery)
	case c.CheckpointSeconds < 1 || c.CheckpointSeconds > 86400:
		return "checkpoint_seconds", fmt.Sprintf("must be between 1 and 86400, not %d", c.CheckpointSeconds)
	case c.LogRetentionYears < 7:
		return "log_retention_years", fmt.Sprintf("must be at least 7 (the operation log is kept 7 years), not %d", c.LogRetentionYears)
	}
	return "", ""
}

// LogOrigin names this terminal's operation log in its checkpoints.
func (c Config) LogOrigin() string { return "jukiterm/" + c.TerminalID }
