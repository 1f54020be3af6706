package backup

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"jukiterm/hsm"
	"jukiterm/hwsim/synth"
	"jukiterm/store"
	"jukiterm/store/record"
)

type fixture struct {
	st       *store.Store
	keys     *store.Keys
	signer   *ecdsa.PrivateKey
	identity *age.X25519Identity
	opt      Options
	res      []record.Notification
}

// newFixture opens a store with n synthetic residents (and a change of address of the
// first), a software signing key standing in for the HSM's, a backup identity and a
// key file with a recovery part.
func newFixture(t *testing.T, n int) *fixture {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "jukiterm.db")
	if err := store.Create(db); err != nil {
		t.Fatal(err)
	}
	f := &fixture{keys: store.EphemeralKeys()}
	var err error
	if f.st, err = store.Open(db, store.Options{CacheMiB: 16, Keys: f.keys}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.st.Close() })
	f.res = synth.Residents(9, n, record.Akita())
	var b bytes.Buffer
	for _, r := range f.res {
		j, _ := json.Marshal(r)
		b.Write(append(j, '\n'))
	}
	j, _ := json.Marshal(map[string]any{"id": "move-1", "municipality": f.res[0].Municipality, "reason": "転居",
		"changed_on": "2026-05-01", "notified_on": "2026-05-02", "resident_code": f.res[0].ResidentCode,
		"address": "秋田県秋田市旭北錦町9番9号"})
	b.Write(append(j, '\n'))
	if r, err := f.st.Ingest(context.Background(), &b, store.IngestOptions{}); err != nil || r.Applied != n+1 {
		t.Fatalf("ingest: %+v %v", r, err)
	}
	if f.signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if f.identity, err = age.GenerateX25519Identity(); err != nil {
		t.Fatal(err)
	}
	other, _ := age.GenerateX25519Identity()
	f.opt = Options{Dir: filepath.Join(dir, "backups"), Signer: f.signer, TerminalID: "terminal-01", Prefecture: "秋田県",
		Recipients: []string{other.Recipient().String(), f.identity.Recipient().String()},
		KeyFile:    writeKeyFile(t, dir, false)}
	return f
}

// writeKeyFile writes a key file as hsm.KeyFile.Marshal would (the sealed part is a
// stand-in: nothing here unseals it); rotating adds a rotation's new key.
func writeKeyFile(t *testing.T, dir string, rotating bool) string {
	kf := &hsm.KeyFile{Sealed: &hsm.Sealed{Public: []byte{1}, Private: []byte{2}, PCRs: []uint{7}},
		Recovery: []byte("age-encryption.org/v1 recovery copy"), RecoveryRecipient: "age1recovery",
		RecoveryIdentity: []byte("age-encryption.org/v1 recovery identity")}
	if rotating {
		kf.Next = &hsm.Stored{Sealed: kf.Sealed, Recovery: kf.Recovery}
	}
	b, err := kf.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "storage.key")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fixture) create(t *testing.T) Result {
	t.Helper()
	r, err := Create(context.Background(), f.st, f.opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCreateVerifyExtract(t *testing.T) {
	f := newFixture(t, 200)
	f.opt.Now = func() time.Time { return time.Date(2026, 11, 26, 2, 0, 0, 0, time.FixedZone("JST", 9*3600)) }
	r := f.create(t)
	if filepath.Base(r.Path) != "jukiterm-terminal-01-20261125T170000Z.backup" || r.Persons != 200 || r.UpdateSeq != 201 {
		t.Fatalf("result %+v", r)
	}
	fi, err := os.Stat(r.Path)
	if err != nil || fi.Size() != r.Bytes || fi.Mode().Perm() != 0o640 {
		t.Fatalf("file %v %v", fi, err)
	}
	if left, _ := filepath.Glob(filepath.Join(f.opt.Dir, ".*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	v, err := Verify(r.Path, &f.signer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	m := v.Manifest
	if m.TerminalID != "terminal-01" || m.Prefecture != "秋田県" || m.Persons != 200 || m.UpdateSeq != 201 ||
		m.SchemaVersion != store.SchemaVersion || m.Signer.Fingerprint != hsm.Fingerprint(&f.signer.PublicKey) ||
		m.StorageKey.RecoveryRecipient != "age1recovery" || len(m.Recipients) != 2 || !m.Created.Equal(r.Created) {
		t.Fatalf("manifest %+v", m)
	}
	dst := filepath.Join(t.TempDir(), "restored.db")
	info, err := v.Extract(context.Background(), dst, []age.Identity{f.identity})
	if err != nil || info.Persons != 200 {
		t.Fatalf("extract: %+v %v", info, err)
	}
	// The copy opens with the storage key and answers as the file does.
	c, err := store.Open(dst, store.Options{CacheMiB: 16, Keys: f.keys})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, n := range f.res[:20] {
		a, err1 := f.st.Get(context.Background(), n.ResidentCode, true)
		b, err2 := c.Get(context.Background(), n.ResidentCode, true)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if err1 != nil || err2 != nil || !bytes.Equal(ja, jb) {
			t.Fatalf("%s: %v %v\n%s\n%s", n.ResidentCode, err1, err2, ja, jb)
		}
	}
	// Another identity is told which recipients would do, and leaves nothing.
	other, _ := age.GenerateX25519Identity()
	dst2 := filepath.Join(t.TempDir(), "other.db")
	if _, err := v.Extract(context.Background(), dst2, []age.Identity{other}); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), f.identity.Recipient().String()) {
		t.Fatalf("wrong identity: %v", err)
	}
	if _, err := os.Stat(dst2); err == nil {
		t.Fatal("a failed extract left its file")
	}
}

// TestTamperedRefused flips one byte in each region of the file, truncates it, adds
// bytes, and checks with another key: each is refused before anything is decrypted.
func TestTamperedRefused(t *testing.T) {
	f := newFixture(t, 50)
	r := f.create(t)
	orig, _ := os.ReadFile(r.Path)
	v, err := Verify(r.Path, &f.signer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	mlen := int(v.payloadOff) - len(magic) - 4 - 8
	cases := map[string]int{
		"magic": 3, "manifest length": len(magic) + 2, "manifest start": len(magic) + 4, "manifest middle": len(magic) + 4 + mlen/2,
		"payload length": int(v.payloadOff) - 3, "payload start": int(v.payloadOff), "payload middle": int(v.payloadOff + v.payloadLen/2),
		"payload end": int(v.payloadOff + v.payloadLen - 1), "signature length": int(v.payloadOff+v.payloadLen) + 1,
		"signature": len(orig) - 10, "last byte": len(orig) - 1,
	}
	dir := t.TempDir()
	check := func(name string, b []byte) {
		p := filepath.Join(dir, "t.backup")
		os.WriteFile(p, b, 0o600)
		if _, err := Verify(p, &f.signer.PublicKey); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: verify said %v", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	for name, at := range cases {
		b := bytes.Clone(orig)
		b[at] ^= 0x01
		check(name, b)
	}
	for _, n := range []int{0, 5, len(magic) + 10, int(v.payloadOff) + 100, len(orig) - 1} {
		check("truncated", orig[:n])
	}
	check("appended", append(bytes.Clone(orig), 0))
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := Verify(r.Path, &other.PublicKey); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "--signer") {
		t.Errorf("another key: %v", err)
	}
}

// TestChangedAfterVerify: a payload swapped after the signature was checked (another
// payload encrypted to the same recipient) is refused when decrypted.
func TestChangedAfterVerify(t *testing.T) {
	f := newFixture(t, 10)
	r1 := f.create(t)
	v, err := Verify(r1.Path, &f.signer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(r1.Path)
	var other bytes.Buffer
	w, _ := age.Encrypt(&other, f.identity.Recipient())
	w.Write(bytes.Repeat([]byte("x"), 100))
	w.Close()
	if other.Len() > int(v.payloadLen) {
		t.Fatal("test payload too long")
	}
	b := bytes.Clone(orig)
	copy(b[v.payloadOff:], other.Bytes())
	os.WriteFile(r1.Path, b, 0o600)
	if _, err := v.Extract(context.Background(), filepath.Join(t.TempDir(), "x.db"), []age.Identity{f.identity}); !errors.Is(err, ErrRefused) {
		t.Fatalf("swapped payload: %v", err)
	}
}

func TestCreateRefuses(t *testing.T) {
	f := newFixture(t, 1)
	o := f.opt
	o.Recipients = nil
	if _, err := Create(context.Background(), f.st, o); !errors.Is(err, ErrNotConfigured) || !strings.Contains(err.Error(), "backup_recipients") {
		t.Fatalf("no recipients: %v", err)
	}
	o = f.opt
	o.KeyFile = writeKeyFile(t, t.TempDir(), true)
	if _, err := Create(context.Background(), f.st, o); !errors.Is(err, ErrRotating) {
		t.Fatalf("during a rotation: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Create(ctx, f.st, f.opt); err == nil {
		t.Fatal("a cancelled backup succeeded")
	}
	if left, _ := os.ReadDir(f.opt.Dir); len(left) != 0 {
		t.Fatalf("a failed backup left %v", left)
	}
}

func TestPrune(t *testing.T) {
	f := newFixture(t, 1)
	day := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	var made []string
	for i := 0; i < 5; i++ {
		at := day.AddDate(0, 0, i)
		f.opt.Now = func() time.Time { return at }
		made = append(made, f.create(t).Path)
	}
	f.opt.Now = func() time.Time { return day.AddDate(0, 0, 4) } // the same second again
	same := f.create(t).Path
	if filepath.Base(same) != "jukiterm-terminal-01-20260105T020000Z-2.backup" {
		t.Fatalf("second backup in one second: %s", same)
	}
	foreign := filepath.Join(f.opt.Dir, "jukiterm-terminal-02-20200101T000000Z.backup")
	os.WriteFile(foreign, nil, 0o600)
	stale := filepath.Join(f.opt.Dir, tempPrefix+"dead.tmp")
	os.WriteFile(stale, nil, 0o600)
	removed, err := Prune(f.opt.Dir, "terminal-01", 3)
	if err != nil || len(removed) != 3 || removed[0] != made[0] || removed[2] != made[2] {
		t.Fatalf("removed %v %v", removed, err)
	}
	left, _ := List(f.opt.Dir, "terminal-01")
	if len(left) != 3 || left[2].Path != same || left[0].Path != made[3] {
		t.Fatalf("left %v", left)
	}
	for _, p := range []string{foreign} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s was removed", p)
		}
	}
	if _, err := os.Stat(stale); err == nil {
		t.Fatal("a stale temporary file stayed")
	}
}

// TestNoPersonalValueInBackup scans the backup file and the decrypted copy for every
// resident's code, number, name, kana, address and birth date: none is in the clear
// in either (the copy's records stay encrypted by the storage key).
func TestNoPersonalValueInBackup(t *testing.T) {
	f := newFixture(t, 300)
	r := f.create(t)
	v, err := Verify(r.Path, &f.signer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "restored.db")
	if _, err := v.Extract(context.Background(), dst, []age.Identity{f.identity}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(f.st.Path() + "*")
	for _, p := range append(files, r.Path, dst) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if p == dst && !bytes.Contains(b, []byte(f.res[0].ID)) {
			t.Fatal("the scan does not find a notification id in the copy, which is kept in the clear")
		}
		for _, n := range f.res {
			for _, val := range []string{n.ResidentCode, *n.MyNumber, *n.Name, *n.NameKana, *n.Address, *n.Birth} {
				if bytes.Contains(b, []byte(val)) {
					t.Fatalf("%s: %q is in the clear", filepath.Base(p), val)
				}
			}
		}
		if bytes.Contains(b, []byte("秋田県秋田市旭北錦町9番9号")) {
			t.Fatalf("%s: the changed address is in the clear", filepath.Base(p))
		}
	}
}
