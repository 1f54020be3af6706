package provision

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"jukiterm/devices/media"
	"jukiterm/hsm"
)

// TestRoundTrip: what Write puts on a medium opens to exactly the expected rows; the
// medium holds no personal value in the clear; the manifest says what was written.
func TestRoundTrip(t *testing.T) {
	f := newFixture(40)
	root := t.TempDir()
	vol, _ := media.OpenRoot(root)
	defer vol.Close()
	var calls [][2]int
	m, err := Write(t.Context(), vol, f.p, f.key, func(d, n int) { calls = append(calls, [2]int{d, n}) })
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, MediaDir, f.p.ID)
	if got := names(t, dir); !slices.Equal(got, []string{ManifestFile, SigFile, NotFoundFile, LogFile, ResultsFile}) {
		t.Fatalf("medium holds %v", got)
	}
	if len(calls) < 2 || calls[len(calls)-1] != [2]int{42, 42} || calls[0] != [2]int{0, 42} {
		t.Fatalf("progress %v", calls)
	}
	if m.Counts != (Counts{Queries: 41, MatchedRows: 40, NotFound: 2}) || len(m.Files) != 3 ||
		m.Signer.Fingerprint != hsm.Fingerprint(&f.key.PublicKey) || !slices.Equal(m.Items, Items()) ||
		m.Time != time.Date(2026, 11, 26, 4, 12, 33, 0, time.UTC) || m.Recipient.Basis != f.p.Recipient.Basis {
		t.Fatalf("manifest %+v", m)
	}
	// Nothing personal in the clear on the medium.
	for _, n := range names(t, dir) {
		b, _ := os.ReadFile(filepath.Join(dir, n))
		for _, r := range f.p.Results {
			for _, v := range []string{r.Person.ResidentCode, r.Person.MyNumber, r.Person.Name, r.Person.Address, "アキタ"} {
				if bytes.Contains(b, []byte(v)) {
					t.Fatalf("%s holds %q in the clear", n, v)
				}
			}
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, LogFile))
	if !strings.HasPrefix(string(log), "2026-11-26T04:12:33Z provision="+f.p.ID+" application=APP-2026-0001 recipient=R-052019-1 recipient_name=\"秋田市 福祉部\"") ||
		!strings.Contains(string(log), " queries=41 matched_rows=40 not_found=2 update_seq=9999 ") || strings.Count(string(log), "\n") != 1 {
		t.Fatalf("provision.log: %s", log)
	}

	out := filepath.Join(t.TempDir(), "out")
	s, err := Open(dir, nil, &f.key.PublicKey, out)
	if err == nil || !strings.Contains(err.Error(), "no identity was given") {
		t.Fatalf("no identity: %v", err)
	}
	emptyDir(t, out, "no identity")
	s, err = Open(dir, []age.Identity{f.id}, &f.key.PublicKey, out)
	if err != nil {
		t.Fatal(err)
	}
	res, nf := f.expected()
	if got := readCSV(t, filepath.Join(out, ResultsPlain)); !slices.EqualFunc(got, res, slices.Equal) {
		t.Fatalf("results:\n%q\nwant\n%q", got, res)
	}
	if got := readCSV(t, filepath.Join(out, NotFoundPlain)); !slices.EqualFunc(got, nf, slices.Equal) {
		t.Fatalf("not found: %q", got)
	}
	if !s.TrustedKey || s.SignerFingerprint != m.Signer.Fingerprint || s.ID != f.p.ID || len(s.Written) != 2 || s.Counts != m.Counts {
		t.Fatalf("summary %+v", s)
	}
	if got := names(t, out); !slices.Equal(got, []string{NotFoundPlain, ResultsPlain}) {
		t.Fatalf("out holds %v", got)
	}
	// Opened again into the same place: refused, nothing overwritten.
	before, _ := os.ReadFile(filepath.Join(out, ResultsPlain))
	if _, err := Open(dir, []age.Identity{f.id}, &f.key.PublicKey, out); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Fatalf("second open: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(out, ResultsPlain)); !bytes.Equal(before, after) || len(names(t, out)) != 2 {
		t.Fatal("the output was changed")
	}
	// Without a trusted key: the embedded key, reported.
	s, err = Open(dir, []age.Identity{f.id}, nil, filepath.Join(t.TempDir(), "o2"))
	if err != nil || s.TrustedKey || s.SignerFingerprint != hsm.Fingerprint(&f.key.PublicKey) {
		t.Fatalf("embedded key: %+v %v", s, err)
	}
	if v, err := Verify(dir, &f.key.PublicKey); err != nil || v.ID != f.p.ID || v.Written != nil {
		t.Fatalf("verify: %v", err)
	}
}

// TestItemsFilter: a recipient allowed only resident_code and name gets only those.
func TestItemsFilter(t *testing.T) {
	f := newFixture(5, "name", "resident_code")
	_, dir := f.write(t)
	out := t.TempDir()
	if _, err := Open(dir, []age.Identity{f.id}, &f.key.PublicKey, out); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(out, ResultsPlain))
	if !strings.HasPrefix(string(b), "query_id,resident_code,name\n") {
		t.Fatalf("header: %s", b)
	}
	for _, r := range f.p.Results {
		if !bytes.Contains(b, []byte(r.Person.ResidentCode)) || !bytes.Contains(b, []byte(r.Person.Name)) {
			t.Fatal("an allowed item is missing")
		}
		for _, v := range []string{r.Person.MyNumber, r.Person.Address, r.Person.Birth, "アキタ", "my_number", "052019"} {
			if bytes.Contains(b, []byte(v)) {
				t.Fatalf("the plaintext holds %q, an item the recipient may not receive", v)
			}
		}
	}
}

// TestWriteRefusesBadProvision: a provision that is not sound is refused before the
// medium is touched.
func TestWriteRefusesBadProvision(t *testing.T) {
	for name, change := range map[string]func(p *Provision){
		"id":        func(p *Provision) { p.ID = "../x" },
		"items":     func(p *Provision) { p.Recipient.Items = []string{"my_number", "password"} },
		"no items":  func(p *Provision) { p.Recipient.Items = nil },
		"age":       func(p *Provision) { p.Recipient.AgeRecipient = "age1nonsense" },
		"basis":     func(p *Provision) { p.Recipient.Basis = " " },
		"time":      func(p *Provision) { p.Time = time.Time{} },
		"sha":       func(p *Provision) { p.RequestSHA256 = "abc" },
		"counts":    func(p *Provision) { p.Queries = 1 },
		"not found": func(p *Provision) { p.NotFound = append(p.NotFound, "Q0") },
	} {
		f := newFixture(3)
		change(&f.p)
		root := t.TempDir()
		vol, _ := media.OpenRoot(root)
		fv := &faultVolume{Volume: vol, failAt: -1}
		if _, err := Write(t.Context(), fv, f.p, f.key, nil); err == nil || !strings.Contains(err.Error(), "nothing was written") {
			t.Errorf("%s: %v", name, err)
		}
		if fv.ops != 0 {
			t.Errorf("%s: the medium was used", name)
		}
		vol.Close()
	}
	f := newFixture(3)
	root, _ := f.write(t)
	vol, _ := media.OpenRoot(root)
	defer vol.Close()
	if _, err := Write(t.Context(), vol, f.p, f.key, nil); err == nil || !strings.Contains(err.Error(), "never written twice") {
		t.Fatalf("same id again: %v", err)
	}
}

// TestWriteNoSpace: too little free space is found before anything is written.
func TestWriteNoSpace(t *testing.T) {
	f := newFixture(3)
	root := t.TempDir()
	vol, _ := media.OpenRoot(root)
	defer vol.Close()
	_, err := Write(t.Context(), &faultVolume{Volume: vol, failAt: -1, free: 100 << 10}, f.p, f.key, nil)
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "it has 0.10 MB free, the output needs about 0.27 MB") {
		t.Fatalf("%v", err)
	}
	emptyDir(t, root, "no space")
}

// TestWriteFaults: a failure at every single operation on the medium leaves no
// manifest for incomplete output. A failure that leaves the medium usable (full,
// an I/O error) leaves nothing at all; a pulled medium leaves at most files without
// a manifest, or, when it fails after the manifest is in place, a complete provision.
func TestWriteFaults(t *testing.T) {
	f := newFixture(1200)
	for _, mode := range []struct {
		name string
		err  error
		gone bool
	}{{"full", syscall.ENOSPC, false}, {"io", syscall.EIO, false}, {"gone", media.ErrGone, true}} {
		for at := 0; ; at++ {
			root := t.TempDir()
			vol, _ := media.OpenRoot(root)
			fv := &faultVolume{Volume: vol, failAt: at, err: mode.err, gone: mode.gone}
			_, err := Write(t.Context(), fv, f.p, f.key, nil)
			vol.Close()
			if !fv.failed {
				if err != nil {
					t.Fatalf("%s: no fault, error %v", mode.name, err)
				}
				if at < 20 {
					t.Fatalf("%s: only %d operations", mode.name, at)
				}
				break
			}
			if !errors.Is(err, mode.err) {
				t.Fatalf("%s at %d: %v", mode.name, at, err)
			}
			dir := filepath.Join(root, MediaDir, f.p.ID)
			var we *WriteError
			isWE := errors.As(err, &we)
			msg := err.Error()
			if _, serr := os.Stat(filepath.Join(dir, ManifestFile)); serr == nil {
				if !isWE || !we.MayBeComplete || !strings.Contains(msg, "check the medium") {
					t.Fatalf("%s at %d: a manifest is left, error %v", mode.name, at, err)
				}
				if _, err := Verify(dir, &f.key.PublicKey); err != nil {
					t.Fatalf("%s at %d: the manifest left does not verify: %v", mode.name, at, err)
				}
				continue
			}
			// The manifest's rename failed on a pulled medium: whether it happened is
			// not known, and the error says to check.
			unsure := mode.gone && isWE && we.MayBeComplete && strings.Contains(msg, "check the medium")
			if !unsure && !strings.Contains(msg, "no valid output") && !strings.Contains(msg, "Nothing was written") {
				t.Fatalf("%s at %d: %v", mode.name, at, err)
			}
			if !mode.gone {
				if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
					t.Fatalf("%s at %d: %v left on the medium (%v)", mode.name, at, names(t, dir), err)
				}
			} else if isWE && we.Leftovers && !strings.Contains(msg, "delete") {
				t.Fatalf("gone at %d: leftovers not said: %v", at, err)
			}
			if _, serr := os.Stat(dir); serr == nil {
				if _, verr := Verify(dir, nil); !errors.Is(verr, ErrRefused) {
					t.Fatalf("%s at %d: leftovers verify: %v", mode.name, at, verr)
				}
			}
		}
	}
}

// TestWriteCancel: a cancelled context stops the writing and leaves nothing.
func TestWriteCancel(t *testing.T) {
	f := newFixture(2000)
	root := t.TempDir()
	vol, _ := media.OpenRoot(root)
	defer vol.Close()
	ctx, cancel := context.WithCancel(t.Context())
	_, err := Write(ctx, vol, f.p, f.key, func(done, _ int) {
		if done > 0 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "the provision was cancelled while writing results.csv.age") ||
		!strings.Contains(err.Error(), "no valid output") {
		t.Fatalf("%v", err)
	}
	emptyDir(t, filepath.Join(root, MediaDir), "cancelled")
}

// TestNewID: ids have their form, and differ.
func TestNewID(t *testing.T) {
	now := time.Date(2026, 11, 26, 13, 12, 0, 0, time.FixedZone("JST", 9*3600))
	a, b := NewID(now), NewID(now)
	if !ValidID(a) || !strings.HasPrefix(a, "P20261126-0412-") || a == b {
		t.Fatalf("%s %s", a, b)
	}
}
