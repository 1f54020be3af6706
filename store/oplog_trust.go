package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// The trusted-keys file lists checkpoint verifier keys besides the terminal's own
// (config log_verifiers): a former HSM signing key of this terminal, or the key of the
// terminal whose backup was restored here. Its checkpoints stay checkable; the file
// never lets anything sign. One key per line as VerifierKey writes it; blank lines
// and lines starting with '#' are ignored.

// ReadTrustedKeys reads a trusted-keys file; a missing file is an empty list.
func ReadTrustedKeys(path string) ([]*NoteVerifier, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the trusted checkpoint keys: %w", err)
	}
	var out []*NoteVerifier
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		v, err := ParseNoteVerifier(t)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w (fix or remove the line)", path, line, err)
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

// AddTrustedKey appends v, after a comment line saying why, unless the file already
// lists it; the file is replaced atomically. It tells whether v was added.
func AddTrustedKey(path string, v *NoteVerifier, why string) (bool, error) {
	have, err := ReadTrustedKeys(path)
	if err != nil {
		return false, err
	}
	for _, h := range have {
		if h.VerifierKey() == v.VerifierKey() {
			return false, nil
		}
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
		old = append(old, '\n')
	}
	why = strings.ReplaceAll(why, "\n", " ")
	data := fmt.Appendf(old, "# %s\n%s\n", why, v.VerifierKey())
	if err := writeFileAtomic(path, data); err != nil {
		return false, fmt.Errorf("write the trusted checkpoint keys to %s: %w", path, err)
	}
	return true, nil
}
