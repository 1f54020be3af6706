package provision

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"filippo.io/age"

	"jukiterm/daemon/atomicfile"
)

const nothingWritten = "Nothing was written to the output directory; do not use this medium's contents and ask the prefecture for the provision again"

// plainFile is one encrypted file of a provision and what it must decrypt to.
type plainFile struct {
	enc, plain string
	header     []string
	rows       int
}

// decryptAll decrypts the results and the not-found list into out, or writes nothing.
func decryptAll(root *os.Root, m *Manifest, ids []age.Identity, out string) (written []string, err error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("no identity was given: give the identity file (AGE-SECRET-KEY-…) of %s, the recipient the provision is encrypted to", m.Recipient.Name)
	}
	files := []plainFile{
		{ResultsFile, ResultsPlain, append([]string{"query_id"}, m.Items...), m.Counts.MatchedRows},
		{NotFoundFile, NotFoundPlain, []string{"query_id"}, m.Counts.NotFound},
	}
	created := false
	if _, err := os.Stat(out); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(out, 0o700); err != nil {
			return nil, fmt.Errorf("create the output directory: %w", err)
		}
		created = true
	} else if err != nil {
		return nil, fmt.Errorf("the output directory: %w", err)
	}
	for _, f := range files {
		p := filepath.Join(out, f.plain)
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("%s exists already and is never overwritten: give an empty output directory (or move the file away); nothing was decrypted", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the output directory: %w", err)
		}
	}
	var tmps []string
	defer func() {
		for _, t := range tmps {
			os.Remove(t)
		}
		if err != nil {
			for _, w := range written {
				os.Remove(w)
			}
			written = nil
			if created {
				os.Remove(out)
			}
		}
	}()
	for _, f := range files {
		tmp, err := decryptOne(root, m, f, ids, out)
		if tmp != "" {
			tmps = append(tmps, tmp)
		}
		if err != nil {
			return nil, err
		}
	}
	for i, f := range files {
		p := filepath.Join(out, f.plain)
		// A link, unlike a rename, fails rather than replace a file made meanwhile.
		if err := os.Link(tmps[i], p); err != nil {
			return written, fmt.Errorf("put %s in place: %w; nothing was left in the output directory", f.plain, err)
		}
		written = append(written, p)
	}
	if err := atomicfile.SyncDir(out); err != nil {
		return written, fmt.Errorf("sync the output directory: %w", err)
	}
	return written, nil
}

// decryptOne decrypts f into a temporary file in out, checking that the encrypted
// file is still the one verified and that it decrypts to the CSV the manifest says.
func decryptOne(root *os.Root, m *Manifest, f plainFile, ids []age.Identity, out string) (string, error) {
	in, err := root.Open(f.enc)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", f.enc, err)
	}
	defer in.Close()
	h := sha256.New()
	src := io.TeeReader(in, h)
	ar, err := age.Decrypt(bufio.NewReaderSize(src, 64<<10), ids...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return "", refused("the identity given is not one the provision is encrypted to: it is encrypted to %s (%s), age recipient %s. Give that recipient's identity file; nothing was decrypted",
				m.Recipient.Name, m.Recipient.ID, m.Recipient.AgeRecipient)
		}
		return "", refused("%s does not decrypt (%v). %s", f.enc, err, nothingDecrypted)
	}
	tmp, err := os.CreateTemp(out, "."+f.plain+"-*")
	if err != nil {
		return "", fmt.Errorf("write the decrypted %s: %w", f.plain, err)
	}
	bw := bufio.NewWriterSize(tmp, 64<<10)
	err = checkCSV(io.TeeReader(ar, bw), f)
	if err == nil {
		_, err = io.Copy(io.Discard, src)
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != sha(m, f.enc) {
		err = refused("%s changed while it was read: it is no longer the file that was verified. %s", f.enc, nothingWritten)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	var pe *os.PathError
	if err != nil && !errors.Is(err, ErrRefused) && errors.As(err, &pe) {
		err = fmt.Errorf("write the decrypted %s: %w; nothing was left in the output directory", f.plain, err)
	}
	return tmp.Name(), err
}

// checkCSV reads a decrypted file to its end and checks its header and row count.
func checkCSV(r io.Reader, f plainFile) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	bad := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return refused("%s decrypts to text that is not the CSV a provision holds (line %d: %v). %s", f.enc, pe.Line, pe.Err, nothingWritten)
		}
		var pathErr *os.PathError
		if errors.As(err, &pathErr) {
			return err
		}
		return refused("%s does not decrypt (%v). %s", f.enc, err, nothingWritten)
	}
	h, err := cr.Read()
	if err == io.EOF {
		return refused("%s decrypts to nothing, not even the header row. %s", f.enc, nothingWritten)
	} else if err != nil {
		return bad(err)
	}
	if !slices.Equal(h, f.header) {
		return refused("%s decrypts to other columns than the manifest lists (%s). %s", f.enc, strings.Join(f.header, ","), nothingWritten)
	}
	cr.FieldsPerRecord = len(f.header)
	n := 0
	for {
		if _, err := cr.Read(); err == io.EOF {
			break
		} else if err != nil {
			return bad(err)
		}
		n++
	}
	if n != f.rows {
		return refused("%s decrypts to %d rows, but the manifest says %d. %s", f.enc, n, f.rows, nothingWritten)
	}
	return nil
}

// sha is the manifest's SHA-256 of a listed file.
func sha(m *Manifest, name string) string {
	for _, f := range m.Files {
		if f.Name == name {
			return f.SHA256
		}
	}
	return ""
}
