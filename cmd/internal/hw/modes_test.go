package hw

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jukiterm/daemon/config"
)

// TestCheckModes: each secret file open to its group or others is refused by name,
// mode and the chmod to run; a file of another owner also gets the chown; 0600 and
// 0400 files, and absent ones, pass.
func TestCheckModes(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default(dir)
	os.MkdirAll(filepath.Join(dir, "hsm"), 0o700)
	files := []string{cfg.KeyFile, cfg.ReaderKey, cfg.Database, cfg.Database + "-wal", cfg.Database + "-shm",
		filepath.Join(dir, "hsm", "user.pin"), filepath.Join(dir, "backup-identity.txt")}
	for _, f := range files {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(cfg.KeyFile, 0o400)
	if err := CheckModes(cfg); err != nil {
		t.Fatalf("private files refused: %v", err)
	}
	for _, f := range files {
		for _, mode := range []os.FileMode{0o640, 0o604, 0o620, 0o644} {
			os.Chmod(f, mode)
			err := CheckModes(cfg)
			if !errors.Is(err, ErrOpenMode) || !strings.Contains(err.Error(), fmt.Sprintf("%s is mode %04o", f, mode)) ||
				!strings.Contains(err.Error(), "chmod 0600 "+f) {
				t.Errorf("%s at %04o: %v", f, mode, err)
			}
		}
		os.Chmod(f, 0o600)
	}
	if os.Getuid() == 0 {
		pin := filepath.Join(dir, "hsm", "user.pin")
		os.Chmod(pin, 0o640)
		os.Chown(pin, 65534, 65534)
		if err := CheckModes(cfg); err == nil || !strings.Contains(err.Error(), "chown root "+pin) {
			t.Errorf("a root-less owner: %v", err)
		}
	}
}
