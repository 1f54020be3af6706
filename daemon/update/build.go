package update

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Build writes a package of every regular file under dir, as version, signed by
// signer (a note signer key, e.g. from note.GenerateKey). For the release side and
// tests: the real release key lives in the vendor's or the prefecture's HSM.
func Build(w io.Writer, dir, version string, signer note.Signer) error {
	if !versionRE.MatchString(version) {
		return fmt.Errorf("version %q is not N.N.N (digits and dots)", version)
	}
	var files []File
	data := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file: a package holds regular files only", p)
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if _, err := cleanPath(rel); err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
		sum := sha256.Sum256(b)
		files = append(files, File{Path: rel, Mode: mode, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])})
		data[rel] = b
		return nil
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("%s holds no files to package", dir)
	}
	var text bytes.Buffer
	fmt.Fprintf(&text, "%s\nversion %s\n", header, version)
	for _, f := range files {
		fmt.Fprintf(&text, "file %04o %d %s %s\n", f.Mode, f.Size, f.SHA256, f.Path)
	}
	msg, err := note.Sign(&note.Note{Text: text.String()}, signer)
	if err != nil {
		return fmt.Errorf("sign the manifest: %w", err)
	}
	tw := tar.NewWriter(w)
	add := func(name string, mode int64, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(b)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := add(manifestName, 0o644, msg); err != nil {
		return err
	}
	for _, f := range files {
		if err := add(f.Path, int64(f.Mode), data[f.Path]); err != nil {
			return err
		}
	}
	return tw.Close()
}

// Keys reads pinned verifier keys (note verifier keys, "NAME+HASH+BASE64").
func Keys(keys []string) (note.Verifiers, error) {
	var vs []note.Verifier
	for _, k := range keys {
		v, err := note.NewVerifier(strings.TrimSpace(k))
		if err != nil {
			return nil, fmt.Errorf("update_keys: %q is not a note verifier key (NAME+HASH+BASE64, as `jukiterm service update keygen` writes): %w", k, err)
		}
		vs = append(vs, v)
	}
	return note.VerifierList(vs...), nil
}
