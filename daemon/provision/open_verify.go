package provision

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"slices"

	"jukiterm/hsm"
)

// verified is a provision directory whose manifest verified and whose files match it.
type verified struct {
	m   Manifest
	fp  string
	sum string // hex SHA-256 of manifest.json
}

const nothingDecrypted = "Nothing was decrypted; do not use this medium's contents and ask the prefecture for the provision again"

func verify(root source, trusted *ecdsa.PublicKey) (*verified, error) {
	entries, err := root.entries()
	if err != nil {
		return nil, fmt.Errorf("read the provision directory: %w", err)
	}
	present := map[string]fs.DirEntry{}
	for _, e := range entries {
		present[e.Name()] = e
	}
	if _, ok := present[ManifestFile]; !ok {
		return nil, refused("the directory holds no %s: it is not a finished provision (a write that was interrupted leaves none) or not a provision directory. %s", ManifestFile, nothingDecrypted)
	}
	mb, err := readSmall(root, present, ManifestFile, maxManifest)
	if err != nil {
		return nil, err
	}
	if _, ok := present[SigFile]; !ok {
		return nil, refused("the directory holds %s but not its signature %s, so it cannot be checked. %s", ManifestFile, SigFile, nothingDecrypted)
	}
	sig, err := readSmall(root, present, SigFile, maxSignature)
	if err != nil {
		return nil, err
	}
	key, err := verifyingKey(mb, trusted)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(mb)
	if !ecdsa.VerifyASN1(key, digest[:], sig) {
		return nil, signatureError(mb, key, trusted != nil)
	}
	m, err := parseManifest(mb)
	if err != nil {
		return nil, err
	}
	fp := hsm.Fingerprint(key)
	der, _ := x509.MarshalPKIXPublicKey(key)
	if m.Signer.Fingerprint != fp || !bytes.Equal(m.Signer.PublicKey, der) {
		return nil, refused("%s names the signer %s, but its signature verifies with %s: it was not made by a jukiterm terminal as it should be. %s", ManifestFile, m.Signer.Fingerprint, fp, nothingDecrypted)
	}
	if err := checkFiles(root, present, &m); err != nil {
		return nil, err
	}
	ms := sha256.Sum256(mb)
	return &verified{m: m, fp: fp, sum: hex.EncodeToString(ms[:])}, nil
}

// readSmall reads a regular file of at most max bytes.
func readSmall(root source, present map[string]fs.DirEntry, name string, max int64) ([]byte, error) {
	if !present[name].Type().IsRegular() {
		return nil, refused("%s is not a regular file (a link or a directory): the directory is not as it was written. %s", name, nothingDecrypted)
	}
	f, err := root.open(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) > max {
		return nil, refused("%s is larger than %d bytes, which a provision's never is: it was changed or is not a provision's. %s", name, max, nothingDecrypted)
	}
	return b, nil
}

// verifyingKey is trusted, or else the key the (not yet verified) manifest carries.
func verifyingKey(mb []byte, trusted *ecdsa.PublicKey) (*ecdsa.PublicKey, error) {
	if trusted != nil {
		if trusted.Curve != elliptic.P256() {
			return nil, fmt.Errorf("the trusted key is not an ECDSA P-256 key, which is what a terminal signs with: give the prefecture terminal's public key")
		}
		return trusted, nil
	}
	var m struct{ Signer Signer }
	if err := json.Unmarshal(mb, &m); err != nil {
		return nil, refused("%s is not valid JSON: it is damaged or not a provision's manifest. %s", ManifestFile, nothingDecrypted)
	}
	key, err := hsm.ParsePublicKeyDER(m.Signer.PublicKey)
	if err != nil {
		return nil, refused("%s carries no usable signer key (%v). %s", ManifestFile, err, nothingDecrypted)
	}
	return key, nil
}

// signatureError says why the signature does not verify: another key made it (as far
// as the unverified manifest tells), or the manifest or signature was changed.
func signatureError(mb []byte, key *ecdsa.PublicKey, trusted bool) error {
	fp := hsm.Fingerprint(key)
	var m Manifest
	if trusted && json.Unmarshal(mb, &m) == nil && m.Signer.Fingerprint != "" && m.Signer.Fingerprint != fp {
		return refused("the signature of %s does not verify with the trusted key %s. The manifest says (unverified) it was signed by the key %s of terminal %q: if the prefecture confirms that key, give it as the trusted key; otherwise the provision is not genuine. %s",
			ManifestFile, fp, m.Signer.Fingerprint, m.TerminalID, nothingDecrypted)
	}
	which := "the key it carries"
	if trusted {
		which = "the trusted key"
	}
	return refused("the signature of %s does not verify with %s %s: %s or %s was changed or damaged after it was signed. %s", ManifestFile, which, fp, ManifestFile, SigFile, nothingDecrypted)
}

// parseManifest reads a manifest whose signature verified and checks that it is one
// this version reads.
func parseManifest(mb []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return m, refused("%s is signed but is not a valid manifest (%v). %s", ManifestFile, err, nothingDecrypted)
	}
	switch {
	case m.Kind != Kind:
		return m, refused("%s is signed but is not a provision's manifest (its kind is %q). %s", ManifestFile, m.Kind, nothingDecrypted)
	case m.Format != FormatVersion:
		return m, refused("the provision has format %d; this jukiterm reads format %d: open it with a jukiterm version that reads it", m.Format, FormatVersion)
	case !ValidID(m.ID):
		return m, refused("%s holds the provision id %q, which is not of a provision. %s", ManifestFile, m.ID, nothingDecrypted)
	case m.Counts.Queries < 0 || m.Counts.MatchedRows < 0 || m.Counts.NotFound < 0 || m.Counts.NationalRows < 0 || m.Counts.NationalRows > m.Counts.MatchedRows:
		return m, refused("%s holds negative counts. %s", ManifestFile, nothingDecrypted)
	}
	if its, err := ParseItems(m.Items); err != nil || !slices.Equal(its, m.Items) {
		return m, refused("%s lists the items %q, which are not known items in their order. %s", ManifestFile, m.Items, nothingDecrypted)
	}
	return m, nil
}

// checkFiles checks that the directory holds exactly the manifest and its signature
// plus the files the manifest lists, each with its listed size and SHA-256.
func checkFiles(root source, present map[string]fs.DirEntry, m *Manifest) error {
	listed := map[string]bool{}
	for _, f := range m.Files {
		if !slices.Contains(listedFiles, f.Name) || listed[f.Name] {
			return refused("%s lists the file %q, which is not a provision's or is listed twice. %s", ManifestFile, f.Name, nothingDecrypted)
		}
		listed[f.Name] = true
	}
	for _, n := range listedFiles {
		if !listed[n] {
			return refused("%s does not list %s, which every provision holds. %s", ManifestFile, n, nothingDecrypted)
		}
	}
	names := make([]string, 0, len(present))
	for n := range present {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if n != ManifestFile && n != SigFile && !listed[n] {
			return refused("the directory holds %q, which the manifest does not list: something was added after the provision was signed. %s", n, nothingDecrypted)
		}
	}
	for _, f := range m.Files {
		e, ok := present[f.Name]
		if !ok {
			return refused("%s is missing: the manifest lists it (%d bytes). If the directory was copied from the medium, copy it again whole; otherwise: %s", f.Name, f.Size, nothingDecrypted)
		}
		if !e.Type().IsRegular() {
			return refused("%s is not a regular file (a link or a directory): the directory is not as it was written. %s", f.Name, nothingDecrypted)
		}
		sum, n, err := hashFile(root, f.Name)
		if err != nil {
			return err
		}
		if n != f.Size {
			return refused("%s has %d bytes, the manifest says %d: it was changed, cut short or damaged after it was signed. %s", f.Name, n, f.Size, nothingDecrypted)
		}
		if sum != f.SHA256 {
			return refused("%s does not match its SHA-256 in the manifest: it was changed or damaged after it was signed. %s", f.Name, nothingDecrypted)
		}
	}
	return nil
}

func hashFile(root source, name string) (string, int64, error) {
	f, err := root.open(name)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", name, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
