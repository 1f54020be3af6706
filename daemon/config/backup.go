package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
)

// Defaults of the backup keys.
const (
	DefaultBackupTime = "02:00"
	DefaultBackupKeep = 14
)

func (c *Config) backupDefaults(dir string) {
	if c.BackupDir == "" {
		c.BackupDir = filepath.Join(c.StateDir, "backups")
	}
	c.BackupDir = abs(dir, c.BackupDir)
	if c.BackupTime == "" {
		c.BackupTime = DefaultBackupTime
	}
	if c.BackupKeep == 0 {
		c.BackupKeep = DefaultBackupKeep
	}
}

// checkBackup returns the backup key that is wrong and why, or "".
func (c *Config) checkBackup() (key, msg string) {
	for i, r := range c.BackupRecipients {
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(r)), "AGE-SECRET-KEY-") {
			// Never repeat a secret key in a message: it would reach the log.
			return "backup_recipients", fmt.Sprintf("entry %d is an age secret key, not a recipient: remove it from this file at once, keep the secret key off this machine, and give its recipient (age1…, printed by `age-keygen -y`)", i+1)
		}
		if _, err := age.ParseX25519Recipient(r); err != nil {
			return "backup_recipients", fmt.Sprintf("entry %d (%q) is not an age X25519 recipient: give the public key that starts with age1…", i+1, r)
		}
	}
	if _, err := c.BackupClock(); err != nil {
		return "backup_time", err.Error()
	}
	if c.BackupKeep < 1 || c.BackupKeep > 10000 {
		return "backup_keep", fmt.Sprintf("must be between 1 and 10000, not %d", c.BackupKeep)
	}
	return "", ""
}

// BackupClock returns backup_time as hours and minutes after midnight.
func (c Config) BackupClock() (time.Duration, error) {
	t, err := time.Parse("15:04", c.BackupTime)
	if err != nil || len(c.BackupTime) != 5 {
		return 0, fmt.Errorf("must be a local time of day as HH:MM (e.g. \"02:00\"), not %q", c.BackupTime)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}
