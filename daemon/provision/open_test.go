package provision

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"jukiterm/hsm"
)

// refusedOpen opens dir and requires a refusal that holds want, with nothing written.
func refusedOpen(t *testing.T, dir string, ids []age.Identity, trusted *ecdsa.PublicKey, want, when string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	_, err := Open(dir, ids, trusted, out)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: want a refusal with %q, got %v", when, want, err)
	}
	if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Fatalf("%s: the output directory was made: %v", when, names(t, out))
	}
}

// TestTamper: every single-byte change of every file on the medium is refused before
// anything is decrypted, as are a file cut short or grown by one byte. Small files are
// changed at every byte; results.csv.age at a sample of positions.
func TestTamper(t *testing.T) {
	f := newFixture(40)
	_, dir := f.write(t)
	ids := []age.Identity{f.id}
	out := filepath.Join(t.TempDir(), "out")
	for _, name := range []string{ManifestFile, SigFile, LogFile, NotFoundFile, ResultsFile} {
		path := filepath.Join(dir, name)
		orig, _ := os.ReadFile(path)
		var positions []int
		for i := range orig {
			if len(orig) <= 4096 || i < 256 || i >= len(orig)-256 || i%211 == 0 {
				positions = append(positions, i)
			}
		}
		if name == ResultsFile && (len(orig) <= 4096 || len(positions) == len(orig)) {
			t.Fatalf("results.csv.age has %d bytes: too small to sample", len(orig))
		}
		check := func(what string) {
			for _, trusted := range []*ecdsa.PublicKey{&f.key.PublicKey, nil} {
				_, err := Open(dir, ids, trusted, out)
				if !errors.Is(err, ErrRefused) {
					t.Fatalf("%s %s: not refused: %v", name, what, err)
				}
				if _, serr := os.Stat(out); !os.IsNotExist(serr) {
					t.Fatalf("%s %s: output written", name, what)
				}
				if name != ManifestFile && name != SigFile {
					break // the signature is the same either way
				}
			}
		}
		fh, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range positions {
			fh.WriteAt([]byte{orig[i] ^ 0x01}, int64(i))
			check("byte " + itoa(i))
			fh.WriteAt(orig[i:i+1], int64(i))
		}
		fh.Truncate(int64(len(orig) - 1))
		check("cut short")
		fh.WriteAt(append(orig[len(orig)-1:], '\n'), int64(len(orig)-1))
		check("grown")
		fh.Close()
		os.WriteFile(path, orig, 0o600)
	}
	if _, err := Open(dir, ids, &f.key.PublicKey, out); err != nil {
		t.Fatalf("restored: %v", err)
	}
}

// TestTamperMessages: each kind of mismatch names the file and what did not match.
func TestTamperMessages(t *testing.T) {
	f := newFixture(3)
	_, dir := f.write(t)
	ids := []age.Identity{f.id}
	key := &f.key.PublicKey
	flip := func(name string, at int) func() {
		path := filepath.Join(dir, name)
		orig, _ := os.ReadFile(path)
		b := append([]byte(nil), orig...)
		b[at] ^= 1
		os.WriteFile(path, b, 0o600)
		return func() { os.WriteFile(path, orig, 0o600) }
	}
	restore := flip(ResultsFile, 100)
	refusedOpen(t, dir, ids, key, "results.csv.age does not match its SHA-256 in the manifest", "results changed")
	restore()
	restore = flip(ManifestFile, 10)
	refusedOpen(t, dir, ids, key, "the signature of manifest.json does not verify with the trusted key", "manifest changed")
	restore()
	os.WriteFile(filepath.Join(dir, LogFile), []byte("x\n"), 0o600)
	refusedOpen(t, dir, ids, key, "provision.log has 2 bytes, the manifest says", "log replaced")
	// Missing and extra files.
	for _, name := range []string{ResultsFile, NotFoundFile, LogFile, SigFile, ManifestFile} {
		_, dir := f.write(t)
		os.Remove(filepath.Join(dir, name))
		want := map[string]string{ResultsFile: "results.csv.age is missing", NotFoundFile: "not-found.csv.age is missing",
			LogFile: "provision.log is missing", SigFile: "not its signature manifest.json.sig",
			ManifestFile: "holds no manifest.json: it is not a finished provision"}[name]
		refusedOpen(t, dir, ids, key, want, name+" removed")
	}
	_, dir = f.write(t)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o600)
	refusedOpen(t, dir, ids, key, `holds "notes.txt", which the manifest does not list`, "extra file")
	os.Remove(filepath.Join(dir, "notes.txt"))
	os.Mkdir(filepath.Join(dir, ".results.csv.age.tmp"), 0o700)
	refusedOpen(t, dir, ids, key, `holds ".results.csv.age.tmp"`, "extra directory")
	os.Remove(filepath.Join(dir, ".results.csv.age.tmp"))
	// A listed file replaced by a link to an identical copy.
	res := filepath.Join(dir, ResultsFile)
	b, _ := os.ReadFile(res)
	os.WriteFile(filepath.Join(dir, "copy"), b, 0o600)
	os.Remove(res)
	os.Symlink("copy", res)
	refusedOpen(t, dir, ids, key, "", "symbolic link")
}

// TestWrongKeys: another terminal's key is refused with both fingerprints; a manifest
// re-signed by another key over changed files passes only without a trusted key, and
// then reports the other fingerprint; a wrong identity is refused clearly.
func TestWrongKeys(t *testing.T) {
	f := newFixture(3)
	_, dir := f.write(t)
	ids := []age.Identity{f.id}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	refusedOpen(t, dir, ids, &other.PublicKey, "does not verify with the trusted key "+hsm.Fingerprint(&other.PublicKey)+
		". The manifest says (unverified) it was signed by the key "+hsm.Fingerprint(&f.key.PublicKey)+` of terminal "terminal-01"`, "other key")

	wrong, _ := age.GenerateX25519Identity()
	_, err := Open(dir, []age.Identity{wrong}, &f.key.PublicKey, filepath.Join(t.TempDir(), "o"))
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "the identity given is not one the provision is encrypted to: it is encrypted to 秋田市 福祉部 (R-052019-1), age recipient "+f.id.Recipient().String()) {
		t.Fatalf("wrong identity: %v", err)
	}

	// A forger replaces the results and signs a new manifest with its own key.
	mb, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	var m Manifest
	json.Unmarshal(mb, &m)
	os.WriteFile(filepath.Join(dir, LogFile), []byte("forged\n"), 0o600)
	sum := sha256.Sum256([]byte("forged\n"))
	for i := range m.Files {
		if m.Files[i].Name == LogFile {
			m.Files[i].Size, m.Files[i].SHA256 = 7, hexs(sum[:])
		}
	}
	pub, _ := signerKeyDER(other)
	m.Signer = Signer{PublicKey: pub, Fingerprint: hsm.Fingerprint(&other.PublicKey)}
	nb, _ := m.marshal()
	d := sha256.Sum256(nb)
	sig, _ := other.Sign(rand.Reader, d[:], crypto.SHA256)
	os.WriteFile(filepath.Join(dir, ManifestFile), nb, 0o600)
	os.WriteFile(filepath.Join(dir, SigFile), sig, 0o600)
	refusedOpen(t, dir, ids, &f.key.PublicKey, "signed by the key "+hsm.Fingerprint(&other.PublicKey), "forged, trusted key")
	s, err := Verify(dir, nil)
	if err != nil || s.TrustedKey || s.SignerFingerprint != hsm.Fingerprint(&other.PublicKey) {
		t.Fatalf("forged, no trusted key: %+v %v", s, err)
	}
}

func signerKeyDER(k *ecdsa.PrivateKey) ([]byte, error) {
	_, der, err := signerKey(k)
	return der, err
}

func hexs(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// TestCountsChecked: a manifest (signed by the terminal's key) whose counts or items
// do not match what the files decrypt to is refused, and nothing is left in out.
func TestCountsChecked(t *testing.T) {
	for what, change := range map[string]func(m *Manifest){
		"results.csv.age decrypts to 3 rows, but the manifest says 4":       func(m *Manifest) { m.Counts.MatchedRows = 4 },
		"not-found.csv.age decrypts to 2 rows, but the manifest says 1":     func(m *Manifest) { m.Counts.NotFound = 1 },
		"results.csv.age decrypts to other columns than the manifest lists": func(m *Manifest) { m.Items = []string{"resident_code"} },
	} {
		f := newFixture(3)
		_, dir := f.write(t)
		mb, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
		var m Manifest
		json.Unmarshal(mb, &m)
		change(&m)
		nb, _ := m.marshal()
		d := sha256.Sum256(nb)
		sig, _ := f.key.Sign(rand.Reader, d[:], crypto.SHA256)
		os.WriteFile(filepath.Join(dir, ManifestFile), nb, 0o600)
		os.WriteFile(filepath.Join(dir, SigFile), sig, 0o600)
		out := t.TempDir() // exists already: it stays, empty
		_, err := Open(dir, []age.Identity{f.id}, &f.key.PublicKey, out)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), what) {
			t.Fatalf("%s: %v", what, err)
		}
		emptyDir(t, out, what)
	}
}
