package archive

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// TestWriteRead: an archive reads back whole with the right key and identity; a
// changed byte, a wrong key or a missing signature is refused before decryption.
func TestWriteRead(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id, _ := age.GenerateX25519Identity()
	dir := t.TempDir()
	entries := []map[string]any{{"index": 1, "action": "search"}, {"index": 2, "action": "view"}}
	path, err := Write(dir, "log-1.age", entries, []string{id.Recipient().String()}, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, "log-1.age", entries, []string{id.Recipient().String()}, key); err == nil {
		t.Fatal("an archive was replaced")
	}
	lines, err := Read(path, &key.PublicKey, id)
	if err != nil || len(lines) != 2 || !strings.Contains(string(lines[1]), `"view"`) {
		t.Fatalf("read: %q %v", lines, err)
	}
	if b, _ := os.ReadFile(path); strings.Contains(string(b), "search") {
		t.Fatal("the archive is not encrypted")
	}
	if _, err := Read(path, &other.PublicKey, id); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another terminal's key: %v", err)
	}
	b, _ := os.ReadFile(path)
	for _, i := range []int{0, len(b) / 2, len(b) - 1} {
		c := append([]byte(nil), b...)
		c[i] ^= 1
		os.WriteFile(path, c, 0o640)
		if _, err := Read(path, &key.PublicKey, id); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("byte %d changed: %v", i, err)
		}
	}
	os.WriteFile(path, b, 0o640)
	os.Remove(path + ".sig")
	if _, err := Read(path, &key.PublicKey, id); err == nil {
		t.Fatal("an archive without its signature was read")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}
