package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

func TestBackupDefaults(t *testing.T) {
	c, err := Parse("/var/lib/jukiterm/jukiterm.conf", []byte("hardware = \"sim\"\nsocket = \"s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.BackupDir != "/var/lib/jukiterm/backups" || c.BackupTime != "02:00" || c.BackupKeep != 14 || len(c.BackupRecipients) != 0 {
		t.Fatalf("%+v", c)
	}
	if d, _ := c.BackupClock(); d != 2*time.Hour {
		t.Fatalf("clock %v", d)
	}
	c, err = Parse("/etc/jukiterm/jukiterm.conf", []byte("hardware = \"sim\"\nsocket = \"s\"\nbackup_dir = \"b\"\nbackup_time = \"23:45\"\nbackup_keep = 3\n"))
	if err != nil || c.BackupDir != filepath.Clean("/etc/jukiterm/b") || c.BackupKeep != 3 {
		t.Fatalf("%+v %v", c, err)
	}
	if d, _ := c.BackupClock(); d != 23*time.Hour+45*time.Minute {
		t.Fatalf("clock %v", d)
	}
}

func TestBackupErrorsNameKeyAndLine(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	good := id.Recipient().String()
	cases := []struct {
		text, key string
		line      int
	}{
		{"hardware = \"sim\"\nsocket = \"/s\"\nbackup_recipients = [\"" + good + "\", \"age1nope\"]\n", "backup_recipients", 3},
		{"hardware = \"sim\"\nsocket = \"/s\"\nbackup_recipients = [\"" + id.String() + "\"]\n", "backup_recipients", 3},
		{"hardware = \"sim\"\nsocket = \"/s\"\nbackup_time = \"2:00\"\n", "backup_time", 3},
		{"hardware = \"sim\"\nsocket = \"/s\"\nbackup_time = \"24:00\"\n", "backup_time", 3},
		{"hardware = \"sim\"\nsocket = \"/s\"\nbackup_keep = -1\n", "backup_keep", 3},
		{"hardware = \"sim\"\nsocket = \"/s\"\nbackup_recipent = []\n", "backup_recipent", 3},
	}
	for _, c := range cases {
		_, err := Parse("/etc/jukiterm.conf", []byte(c.text))
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != c.key || ce.Line != c.line {
			t.Errorf("%q: got %v", c.text, err)
		}
	}
	_, err := Parse("/etc/jukiterm.conf", []byte("hardware = \"sim\"\nsocket = \"/s\"\nbackup_recipients = [\""+id.String()+"\"]\n"))
	if err == nil || strings.Contains(err.Error(), id.String()[15:]) {
		t.Fatalf("a secret key in the recipients: %v", err)
	}
	if _, err := Parse("/etc/jukiterm.conf", []byte("hardware = \"sim\"\nsocket = \"/s\"\nbackup_recipients = [\""+good+"\"]\n")); err != nil {
		t.Fatal(err)
	}
}

// The configuration the package installs is valid, and leaves backups off until
// recipients are set.
func TestPackagedConfig(t *testing.T) {
	b, err := os.ReadFile("../../systemd/units/jukiterm.conf")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("/etc/jukiterm/jukiterm.conf", b)
	if err != nil {
		t.Fatal(err)
	}
	if c.BackupDir != "/var/lib/jukiterm/backups" || len(c.BackupRecipients) != 0 || c.BackupTime != "02:00" || c.BackupKeep != 14 {
		t.Fatalf("%+v", c)
	}
}
