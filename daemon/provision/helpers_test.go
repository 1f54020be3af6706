package provision

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"filippo.io/age"

	"jukiterm/devices/media"
	"jukiterm/store/record"
)

// fixture is a terminal key, a recipient's identity and a provision for it.
type fixture struct {
	key *ecdsa.PrivateKey
	id  *age.X25519Identity
	p   Provision
}

var (
	testKey      *ecdsa.PrivateKey
	testIdentity *age.X25519Identity
)

func init() {
	testKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	testIdentity, _ = age.GenerateX25519Identity()
}

// person returns a distinct synthetic record.
func person(i int) record.Record {
	first := fmt.Sprintf("9%010d", i)
	mn := first + strconv.Itoa(record.MyNumberCheckDigit(first))
	return record.Record{ResidentCode: fmt.Sprintf("1%010d", i), MyNumber: mn,
		Name: fmt.Sprintf("秋田　太郎%d", i), NameKana: "アキタ　タロウ", NameKanaSeion: "アキタタロウ",
		Birth: "1990-01-15", Sex: 1 + i%2, Address: fmt.Sprintf("秋田県秋田市山王%d番", i),
		Municipality: "052019", DistrictCode: "001002", Reason: "転入", ChangedOn: "2026-04-01",
		NotifiedOn: "2026-04-02", UpdateSeq: int64(100 + i), Status: record.StatusCurrent,
		FormerSurname: "佐藤", FormerSurnameKana: "サトウ", NameGaiji: i % 3}
}

// newFixture makes a provision with n results (queries Q0… matching one person each,
// the last query two) and two queries that found nobody.
func newFixture(n int, its ...string) *fixture {
	if its == nil {
		its = Items()
	}
	p := Provision{ID: NewID(time.Date(2026, 11, 26, 4, 12, 0, 0, time.UTC)), Application: "APP-2026-0001",
		Recipient: Recipient{ID: "R-052019-1", Name: "秋田市 福祉部", Basis: "住民基本台帳法第30条の11",
			AgeRecipient: testIdentity.Recipient().String(), Items: its},
		Operator: "op-0001", TerminalID: "terminal-01", Time: time.Date(2026, 11, 26, 4, 12, 33, 0, time.UTC),
		UpdateSeq: 9999, RequestSHA256: fmt.Sprintf("%064x", 42), NotFound: []string{"NF-1", "NF,2"}}
	for i := range n {
		q := fmt.Sprintf("Q%d", min(i, n-2))
		p.Results = append(p.Results, Result{QueryID: q, Person: person(i)})
	}
	p.Queries = n - 1 + len(p.NotFound)
	return &fixture{key: testKey, id: testIdentity, p: p}
}

// write writes the fixture's provision on a fresh volume and returns the volume's root
// and the provision directory.
func (f *fixture) write(t *testing.T) (string, string) {
	t.Helper()
	root := t.TempDir()
	vol, err := media.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer vol.Close()
	if _, err := Write(t.Context(), vol, f.p, f.key, nil); err != nil {
		t.Fatal(err)
	}
	return root, filepath.Join(root, MediaDir, f.p.ID)
}

// expected is the results.csv and not-found.csv a recipient must get, built without
// the package's writer.
func (f *fixture) expected() ([][]string, [][]string) {
	its, _ := ParseItems(f.p.Recipient.Items)
	res := [][]string{append([]string{"query_id"}, its...)}
	for _, r := range f.p.Results {
		row := []string{r.QueryID}
		for _, it := range its {
			v, _ := Value(&r.Person, it)
			row = append(row, v)
		}
		res = append(res, row)
	}
	nf := [][]string{{"query_id"}}
	for _, id := range f.p.NotFound {
		nf = append(nf, []string{id})
	}
	return res, nf
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// emptyDir fails the test if dir holds anything.
func emptyDir(t *testing.T, dir, when string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(es) > 0 {
		t.Fatalf("%s: %s holds %v", when, dir, es[0].Name())
	}
}

// faultVolume fails its failAt-th operation with err. When gone, every later
// operation fails with media.ErrGone too, as when a stick is pulled out.
type faultVolume struct {
	media.Volume
	ops    int
	failAt int
	err    error
	gone   bool
	failed bool
	free   int64 // if not 0, what Free reports
}

func (v *faultVolume) op() error {
	n := v.ops
	v.ops++
	switch {
	case v.failed && v.gone:
		return fmt.Errorf("op %d: %w", n, media.ErrGone)
	case n == v.failAt:
		v.failed = true
		return fmt.Errorf("op %d: %w", n, v.err)
	}
	return nil
}

func (v *faultVolume) MkdirAll(dir string) error {
	if err := v.op(); err != nil {
		return err
	}
	return v.Volume.MkdirAll(dir)
}

func (v *faultVolume) Create(name string) (media.File, error) {
	if err := v.op(); err != nil {
		return nil, err
	}
	f, err := v.Volume.Create(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: f, v: v}, nil
}

func (v *faultVolume) Rename(o, n string) error {
	if err := v.op(); err != nil {
		return err
	}
	return v.Volume.Rename(o, n)
}

func (v *faultVolume) Remove(name string) error {
	if err := v.op(); err != nil {
		return err
	}
	return v.Volume.Remove(name)
}

func (v *faultVolume) SyncDir(dir string) error {
	if err := v.op(); err != nil {
		return err
	}
	return v.Volume.SyncDir(dir)
}

func (v *faultVolume) Open(name string) (io.ReadCloser, error) {
	if err := v.op(); err != nil {
		return nil, err
	}
	return v.Volume.Open(name)
}

func (v *faultVolume) ReadDir(dir string) ([]fs.DirEntry, error) {
	if err := v.op(); err != nil {
		return nil, err
	}
	return v.Volume.ReadDir(dir)
}

func (v *faultVolume) Free() (int64, error) {
	if err := v.op(); err != nil {
		return 0, err
	}
	if v.free != 0 {
		return v.free, nil
	}
	return v.Volume.Free()
}

type faultFile struct {
	media.File
	v *faultVolume
}

func (f *faultFile) Write(b []byte) (int, error) {
	if err := f.v.op(); err != nil {
		return 0, err
	}
	return f.File.Write(b)
}

func (f *faultFile) Sync() error {
	if err := f.v.op(); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultFile) Close() error {
	err := f.v.op()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}

// names lists a directory's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}
