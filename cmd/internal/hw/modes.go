package hw

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"jukiterm/daemon/config"
	"jukiterm/hsm"
)

// ErrOpenMode says a secret file can be read or written by its group or by others.
var ErrOpenMode = errors.New("a secret file is open to other users")

// SecretFiles lists the files whose content is secret (keys, PINs, the identity file
// and its journals, the simulators' key state): each must be mode 0600 or stricter,
// owned by the user jukitermd runs as. Files that do not exist are listed all the same.
func SecretFiles(cfg config.Config) []string {
	files := []string{cfg.KeyFile, cfg.ReaderKey,
		cfg.Database, cfg.Database + "-wal", cfg.Database + "-shm", cfg.Database + "-journal"}
	if pin, err := hsm.PINFile(cfg.HSM); err == nil && pin != "" {
		files = append(files, pin)
	}
	if cfg.Hardware == "sim" {
		// The simulators keep their secrets in the state directory. The simulated
		// TPM's state is not listed: swtpm (hwsim/swtpm) makes it 0600 itself before
		// it starts, as swtpm wrote it 0640 in states made before.
		files = append(files, filepath.Join(cfg.StateDir, "backup-identity.txt"),
			filepath.Join(cfg.StateDir, "sim", "reader", "reader.json"))
		filepath.WalkDir(filepath.Join(cfg.StateDir, "hsm"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
	}
	return files
}

// CheckModes refuses a secret file (SecretFiles) that its group or others may read or
// write, naming the file, its mode and the chmod that fixes it. Missing files are not
// its business: what needs them says so.
func CheckModes(cfg config.Config) error {
	var found, paths, foreign []string
	for _, p := range SecretFiles(cfg) {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if m := fi.Mode().Perm(); m&0o066 != 0 {
			found = append(found, fmt.Sprintf("%s is mode %04o", p, m))
			paths = append(paths, p)
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
				foreign = append(foreign, p)
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	todo := fmt.Sprintf("run `chmod 0600 %s`", strings.Join(paths, " "))
	if len(foreign) > 0 {
		who := strconv.Itoa(os.Getuid())
		if u, err := user.Current(); err == nil {
			who = u.Username
		}
		todo = fmt.Sprintf("run `chown %s %s` (they must belong to the user jukitermd runs as) and `chmod 0600 %s`", who, strings.Join(foreign, " "), strings.Join(paths, " "))
	}
	return fmt.Errorf("%w: %s, so its group or other users can read or change it, and jukitermd does not start. What to do: %s, then start jukitermd again",
		ErrOpenMode, strings.Join(found, ", "), todo)
}
