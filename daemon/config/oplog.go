package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Defaults of the operation-log keys. They bound the log's tail that no exported
// checkpoint covers yet while jukitermd runs (a clean stop signs and exports one):
// at most this many entries, or this many seconds of them. Signing costs about
// 0.2 ms of the HSM.
const (
	DefaultCheckpointEvery   = 100
	DefaultCheckpointSeconds = 30
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
	if c.Hardware == "real" {
		cp := resolve(c.CheckpointDir)
		for _, d := range []string{c.StateDir, filepath.Dir(c.Database)} {
			if within(cp, resolve(d)) {
				return "checkpoint_dir", fmt.Sprintf("%s is inside %s, beside the identity file: whoever rolls the identity file back "+
					"(a copy of the disk, an old backup) rolls its checkpoints back with it, and they prove nothing. "+
					"Set checkpoint_dir to a directory on removable or remote storage that the terminal's administrators do not control "+
					"(e.g. an audit server's export mounted at /srv/jukiterm-audit, owned by another user or host), and have an auditor copy its files off it (docs/oplog.md)",
					c.CheckpointDir, d)
			}
		}
	}
	return "", ""
}

// within tells whether path p is dir or below it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// resolve follows the symbolic links of the longest part of the absolute path p that
// exists, so that a link into the state directory counts as inside it.
func resolve(p string) string {
	rest := ""
	for d := p; ; d = filepath.Dir(d) {
		if r, err := filepath.EvalSymlinks(d); err == nil {
			return filepath.Join(r, rest)
		}
		if _, err := os.Lstat(d); err == nil || d == filepath.Dir(d) {
			return p
		}
		rest = filepath.Join(filepath.Base(d), rest)
	}
}

// LogOrigin names this terminal's operation log in its checkpoints.
func (c Config) LogOrigin() string { return "jukiterm/" + c.TerminalID }
