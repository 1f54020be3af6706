package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	want := Default(dir)
	if err := Write(p, want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v want %+v", got, want)
	}
	if err := Write(p, want); err == nil {
		t.Fatal("Write overwrote an existing configuration")
	}
}

func TestErrorsNameKeyAndLine(t *testing.T) {
	cases := []struct {
		text, key string
		line      int
	}{
		{"socket = \"/s\"\nhardwar = \"sim\"\n", "hardwar", 2},
		{"hardware = \"sim\"\n\nhardware_x = 1\nsocket=\"/s\"", "hardware_x", 3},
		{"socket = \"/s\"\nhardware = \"fake\"\n", "hardware", 2},
		{"hardware = \"sim\"\n", "socket", 0},
		{"hardware = \"sim\"\nsocket = \"/s\"\ncache_mib = -5\n", "cache_mib", 3},
		{"hardware = \"real\"\nsocket = \"/s\"\nprefecture = \"東京都\"\n", "prefecture", 3},
		{"hardware = \"real\"\nsocket = \"/s\"\nhsm = \"pkcs11:token=t\"\nlog_level = \"loud\"\n", "log_level", 4},
		{"hardware = \"real\"\nsocket = \"/s\"\n", "hsm", 0},
		{"hardware = \"real\"\nsocket = \"/s\"\nhsm = \"pkcs11:token=t?pin-value=1234\"\n", "hsm", 3},
		{"hardware = \"sim\"\nsocket = \"/s\"\npcrs = [7, 24]\n", "pcrs", 3},
	}
	for _, c := range cases {
		_, err := Parse("/etc/jukiterm.conf", []byte(c.text))
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != c.key || ce.Line != c.line {
			t.Errorf("%q: got %v", c.text, err)
		}
	}
	_, err := Parse("/etc/jukiterm.conf", []byte("socket = \"/s\"\nhardware = \n"))
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 2 || !strings.Contains(err.Error(), "jukiterm.conf:2") {
		t.Errorf("syntax error: %v", err)
	}
}

func TestRelativePaths(t *testing.T) {
	c, err := Parse("/var/lib/jukiterm/jukiterm.conf", []byte("hardware = \"real\"\nsocket = \"run/j.sock\"\nhsm = \"pkcs11:token=t?pin-source=file:/p\"\ncheckpoint_dir = \"/srv/audit\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Socket != "/var/lib/jukiterm/run/j.sock" || c.Database != "/var/lib/jukiterm/jukiterm.db" || c.Hardware != "real" ||
		c.TPM != "/dev/tpmrm0" || c.KeyFile != "/var/lib/jukiterm/storage.key" || !reflect.DeepEqual(c.PCRs, []uint{7}) {
		t.Fatalf("%+v", c)
	}
}

func TestNeedRestart(t *testing.T) {
	a := Default("/s")
	b := a
	b.LogLevel, b.CacheMiB = "debug", 512
	if got := a.NeedRestart(b); len(got) != 1 || got[0] != "cache_mib" {
		t.Fatalf("%v", got)
	}
}

func TestMaxConnectionsPerUID(t *testing.T) {
	c, err := Parse("/etc/jukiterm/jukiterm.conf", []byte("hardware = \"sim\"\nsocket = \"s\"\n"))
	if err != nil || c.MaxConnectionsPerUID != DefaultMaxConnectionsPerUID {
		t.Fatalf("default: %d %v", c.MaxConnectionsPerUID, err)
	}
	c, err = Parse("/etc/jukiterm/jukiterm.conf", []byte("hardware = \"sim\"\nsocket = \"s\"\nmax_connections_per_uid = 200\n"))
	if err != nil || c.MaxConnectionsPerUID != 200 {
		t.Fatalf("200: %d %v", c.MaxConnectionsPerUID, err)
	}
	_, err = Parse("/etc/jukiterm/jukiterm.conf", []byte("hardware = \"sim\"\nsocket = \"s\"\nmax_connections_per_uid = 1\n"))
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "max_connections_per_uid" || ce.Line != 3 {
		t.Fatalf("1: %v", err)
	}
}

// With real hardware the checkpoints must not sit beside the identity file: a rollback
// of the state directory would roll them back too.
func TestCheckpointDirOutsideState(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	elsewhere := filepath.Join(dir, "audit")
	if err := os.MkdirAll(filepath.Join(state, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(state, "sub"), link); err != nil {
		t.Fatal(err)
	}
	conf := func(hw, extra string) string {
		return "hardware = \"" + hw + "\"\nsocket = \"/s\"\nhsm = \"pkcs11:token=t\"\nstate_dir = \"" + state + "\"\n" + extra
	}
	for _, c := range []struct {
		text string
		line int
	}{
		{conf("real", ""), 0}, // the default, STATE_DIR/checkpoints
		{conf("real", "checkpoint_dir = \""+state+"\"\n"), 5},
		{conf("real", "checkpoint_dir = \""+filepath.Join(state, "a", "b")+"\"\n"), 5},
		{conf("real", "checkpoint_dir = \""+filepath.Join(link, "cp")+"\"\n"), 5},
		{conf("real", "database = \"/var/db/j.db\"\ncheckpoint_dir = \"/var/db/cp\"\n"), 6},
	} {
		_, err := Parse(filepath.Join(dir, FileName), []byte(c.text))
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != "checkpoint_dir" || ce.Line != c.line ||
			!strings.Contains(err.Error(), "removable or remote storage") || !strings.Contains(err.Error(), "rolls its checkpoints back") {
			t.Errorf("%q: got %v", c.text, err)
		}
	}
	for _, text := range []string{
		conf("real", "checkpoint_dir = \""+elsewhere+"\"\n"),
		conf("real", "checkpoint_dir = \""+state+"-audit\"\n"), // a sibling whose name starts alike
		conf("sim", ""), // sim mode: allowed (it proves nothing against a rollback)
	} {
		if _, err := Parse(filepath.Join(dir, FileName), []byte(text)); err != nil {
			t.Errorf("%q: %v", text, err)
		}
	}
}
