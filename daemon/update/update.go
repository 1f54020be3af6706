// Package update verifies, stages and builds signed update packages: the new
// binaries and unit files that the terminal receives from the prefecture's server and
// hands on. A package is a tar whose first member, MANIFEST, is a C2SP signed note
// (golang.org/x/mod/sumdb/note, the format of the operation log's checkpoints) by a
// release key the configuration pins (update_keys). Its text names the version and
// every other member with its SHA-256, size and mode:
//
//	jukiterm update package v1
//	version 1.2.0
//	file 0755 21833216 9f86d0…(64 hex) bin/jukitermd
//	file 0644 1210 5e884898…(64 hex) systemd/jukitermd.service
//
// A package is refused when its manifest is unsigned or signed by another key, when a
// member differs from the manifest by one byte, when a member is not listed or a
// listed one is missing, when a path leaves the package's root (absolute, "..", a
// link), and when its version is not newer than the installed one (no downgrade).
package update

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Version is the installed version (set at build time with
// -ldflags "-X jukiterm/daemon/update.Version=1.2.0").
var Version = "0.1.0"

// ErrRefused wraps every reason a package is refused.
var ErrRefused = errors.New("update package refused")

const (
	manifestName = "MANIFEST"
	header       = "jukiterm update package v1"
	// MaxFile bounds one member, MaxFiles the number of members.
	MaxFile  = 1 << 30
	MaxFiles = 256
)

// File is one member of a package.
type File struct {
	Path   string      `json:"path"`
	Mode   fs.FileMode `json:"mode"`
	Size   int64       `json:"size"`
	SHA256 string      `json:"sha256"`
}

// Package is a verified package.
type Package struct {
	Version string `json:"version"`
	Signer  string `json:"signer"` // the name of the key that signed it
	Files   []File `json:"files"`
	note    []byte // the signed manifest, kept beside a staged version
}

func refused(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, a...))
}

var versionRE = regexp.MustCompile(`^[0-9]{1,6}(\.[0-9]{1,6}){0,3}$`)

// Compare compares two dotted numeric versions: -1, 0 or 1.
func Compare(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// cleanPath checks that name stays inside the package's root.
func cleanPath(name string) (string, error) {
	switch {
	case name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\"):
		return "", refused("member %q has a path outside the package's root (absolute or empty): packages hold relative paths only", name)
	case path.Clean(name) != name || name == "." || slices.Contains(strings.Split(name, "/"), ".."):
		return "", refused("member %q has a path outside the package's root or not in plain form ('..', '.', '//')", name)
	case name == manifestName:
		return "", refused("the package holds %s twice", manifestName)
	}
	for _, r := range name {
		if r < 0x21 || r == 0x7f {
			return "", refused("member %q has a control character or space in its path", name)
		}
	}
	return name, nil
}

func sortedFiles(m map[string]File) []File {
	out := make([]File, 0, len(m))
	for _, f := range m {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return out
}
