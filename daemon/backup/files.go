package backup

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// tempPrefix starts the name of every temporary file a backup run makes in the
// backup directory; Prune removes those a crashed run left.
const tempPrefix = ".jukiterm-backup-"

// Suffix ends the name of every backup file.
const Suffix = ".backup"

const stampLayout = "20060102T150405Z"

// FileName is a backup's name: jukiterm-TERMINAL-YYYYMMDDTHHMMSSZ.backup (UTC), with
// any character of the terminal id other than letters, digits, '.', '_' and '-'
// replaced by '_'.
func FileName(terminalID string, created time.Time) string {
	return "jukiterm-" + safeID(terminalID) + "-" + created.UTC().Format(stampLayout) + Suffix
}

func safeID(id string) string {
	if id == "" {
		return "terminal"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, id)
}

var nameRE = regexp.MustCompile(`^jukiterm-(.+)-(\d{8}T\d{6}Z)(?:-(\d+))?\.backup$`)

func tempName(dir, suffix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return filepath.Join(dir, tempPrefix+hex.EncodeToString(b)+suffix)
}

// linkNew gives the complete file tmp its final name in dir without ever replacing a
// file: if name is taken (two backups in one second), -2, -3, … is added before the
// suffix. It removes tmp.
func linkNew(tmp, dir, name string) (string, error) {
	base := strings.TrimSuffix(name, Suffix)
	for i := 1; i < 100; i++ {
		p := filepath.Join(dir, name)
		if i > 1 {
			p = filepath.Join(dir, fmt.Sprintf("%s-%d%s", base, i, Suffix))
		}
		err := os.Link(tmp, p)
		if err == nil {
			os.Remove(tmp)
			return p, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("%s and 98 others like it exist already", name)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// File is a backup file of this terminal found in the backup directory.
type File struct {
	Path    string
	Created time.Time
	n       int
}

// List returns the backups of terminalID in dir, oldest first.
func List(dir, terminalID string) ([]File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []File
	for _, e := range entries {
		m := nameRE.FindStringSubmatch(e.Name())
		if m == nil || m[1] != safeID(terminalID) || !e.Type().IsRegular() {
			continue
		}
		t, err := time.Parse(stampLayout, m[2])
		if err != nil {
			continue
		}
		n := 1
		if m[3] != "" {
			n, _ = strconv.Atoi(m[3])
		}
		out = append(out, File{Path: filepath.Join(dir, e.Name()), Created: t, n: n})
	}
	slices.SortFunc(out, func(a, b File) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return a.n - b.n
	})
	return out, nil
}

// Prune removes this terminal's backups beyond the keep newest, and the temporary
// files of runs that did not finish. It touches no other file. It returns the paths
// it removed.
func Prune(dir, terminalID string, keep int) ([]string, error) {
	files, err := List(dir, terminalID)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	if keep < 1 {
		keep = 1
	}
	for len(files) > keep {
		if err := os.Remove(files[0].Path); err != nil {
			errs = append(errs, err)
		} else {
			removed = append(removed, files[0].Path)
		}
		files = files[1:]
	}
	temps, _ := filepath.Glob(filepath.Join(dir, tempPrefix+"*"))
	for _, t := range temps {
		os.Remove(t)
	}
	return removed, errors.Join(errs...)
}
