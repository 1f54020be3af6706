package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The session token of a sign-in is kept in a file only this user can read, one per
// daemon socket: in $XDG_RUNTIME_DIR (a tmpfs that ends with the user's login
// session), else in ~/.cache. The daemon accepts it only from this Unix user.
func sessionFile(socket string) (string, error) {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no place to keep the session: set XDG_RUNTIME_DIR or HOME (%v)", err)
		}
		dir = filepath.Join(home, ".cache")
	}
	if abs, err := filepath.Abs(socket); err == nil {
		socket = abs
	}
	h := sha256.Sum256([]byte(socket))
	return filepath.Join(dir, "jukiterm", "session-"+hex.EncodeToString(h[:8])), nil
}

func readToken(socket string) string {
	p, err := sessionFile(socket)
	if err != nil {
		return ""
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func saveToken(socket, token string) error {
	p, err := sessionFile(socket)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("keep the session: %w", err)
	}
	tmp := p + ".new"
	if err := os.WriteFile(tmp, []byte(token+"\n"), 0o600); err != nil {
		return fmt.Errorf("keep the session: %w", err)
	}
	return os.Rename(tmp, p)
}

func dropToken(socket string) error {
	p, err := sessionFile(socket)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
