package store

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"jukiterm/daemon/atomicfile"
)

// The trusted-keys file lists checkpoint verifier keys besides the terminal's own
// (config log_verifiers): a former HSM signing key of this terminal, or the key of the
// terminal whose backup was restored here. Its checkpoints stay checkable; the file
// never lets anything sign. One key per line as VerifierKey writes it; blank lines
// and lines starting with '#' are ignored. The file is signed by the terminal's HSM
// key (its last line, "#signature BASE64": ECDSA over the SHA-256 of the lines before
// it), so that nobody without the HSM can slip a key of their own into it and sign a
// rewritten log with that. It is replaced whole (temporary file, rename).

// ErrTrustedKeys says the trusted-keys file is not as the terminal signed it.
var ErrTrustedKeys = errors.New("the trusted checkpoint keys file is not signed by this terminal's HSM key")

// ReadTrustedKeys reads a trusted-keys file and checks its signature by pub; a missing
// file is an empty list.
func ReadTrustedKeys(path string, pub *ecdsa.PublicKey) ([]*NoteVerifier, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the trusted checkpoint keys: %w", err)
	}
	body, ok := verifySigned(b, pub)
	if !ok {
		return nil, fmt.Errorf("%w (%s): it was changed by hand or signed by another HSM; put back the file as the terminal wrote it, or add keys with `jukiterm keys trust`", ErrTrustedKeys, path)
	}
	var out []*NoteVerifier
	sc := bufio.NewScanner(bytes.NewReader(body))
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		v, err := ParseNoteVerifier(t)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

const sigPrefix = "#signature "

// verifySigned splits a signed file into its body and signature line and checks it.
func verifySigned(b []byte, pub *ecdsa.PublicKey) ([]byte, bool) {
	i := bytes.LastIndex(b, []byte("\n"+sigPrefix))
	if i < 0 || pub == nil {
		return nil, false
	}
	body := b[:i+1]
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b[i+1+len(sigPrefix):])))
	sum := sha256.Sum256(body)
	return body, err == nil && ecdsa.VerifyASN1(pub, sum[:], sig)
}

// AddTrustedKey appends v, after a comment line saying why, unless the file already
// lists it, and signs the file with signer (the HSM key). The file as it is must verify
// with was (nil: signer's own key; after an HSM replacement, the former key). It tells
// whether v was added.
func AddTrustedKey(path string, v *NoteVerifier, why string, signer crypto.Signer, was *ecdsa.PublicKey) (bool, error) {
	if was == nil {
		pub, ok := signer.Public().(*ecdsa.PublicKey)
		if !ok {
			return false, errors.New("the signing key is not an ECDSA key")
		}
		was = pub
	}
	have, err := ReadTrustedKeys(path, was)
	if err != nil {
		return false, err
	}
	var old []byte
	if b, err := os.ReadFile(path); err == nil {
		old, _ = verifySigned(b, was)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	added := true
	for _, h := range have {
		added = added && h.VerifierKey() != v.VerifierKey()
	}
	data := old
	if added {
		if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
			data = append(data, '\n')
		}
		data = fmt.Appendf(data, "# %s\n%s\n", strings.ReplaceAll(why, "\n", " "), v.VerifierKey())
	} else if was.Equal(signer.Public()) {
		return false, nil // listed, and signed by this key already
	}
	sum := sha256.Sum256(data)
	sig, err := signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return false, fmt.Errorf("sign the trusted checkpoint keys with the HSM key: %w", err)
	}
	data = fmt.Appendf(data, "%s%s\n", sigPrefix, base64.StdEncoding.EncodeToString(sig))
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return false, fmt.Errorf("write the trusted checkpoint keys to %s: %w", path, err)
	}
	return added, nil
}
