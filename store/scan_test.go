package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"jukiterm/hwsim/synth"
	"jukiterm/store/record"
)

// TestNoPersonalValueInTheClear ingests residents (with a change and a rejection), then
// scans the database and WAL files for their names, kana, numbers, codes, addresses
// and birth dates: none may appear in the clear.
func TestNoPersonalValueInTheClear(t *testing.T) {
	s := openTemp(t)
	res := loadScanResidents(t, s)
	scan := func(stage string) {
		files, _ := filepath.Glob(s.Path() + "*")
		if len(files) < 2 && stage == "open" {
			t.Fatalf("expected the database and its WAL, found %v", files)
		}
		assertNoPersonalValue(t, stage, res, files...)
	}
	scan("open")
	s.Close()
	scan("closed")
}

// loadScanResidents ingests 300 synthetic residents, a broken line that holds personal
// data (a rejection) and a change of address, and returns the residents.
func loadScanResidents(t *testing.T, s *Store) []record.Notification {
	t.Helper()
	res := synth.Residents(5, 300, record.Akita())
	var b bytes.Buffer
	for _, r := range res {
		b.Write(mustJSON(r))
		b.WriteByte('\n')
	}
	b.Write(mustJSON(res[0])[:40]) // a rejected, broken line that holds personal data
	b.WriteByte('\n')
	if _, err := s.Ingest(context.Background(), &b, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, person(1), change(1, "m", "転居", "address", "秋田県秋田市旭北錦町9番9号"))
	return res
}

// assertNoPersonalValue reads files and fails if any personal value of res (or of the
// test person of loadScanResidents) is in them in the clear. The first notification
// id, which is kept in the clear, must be found: proof that the scan reads the data.
func assertNoPersonalValue(t *testing.T, stage string, res []record.Notification, files ...string) {
	t.Helper()
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if !bytes.Contains(all, []byte(res[0].ID)) {
		t.Fatalf("%s: the scan did not even find a notification id, which is kept in the clear", stage)
	}
	for _, r := range res {
		for _, v := range []string{r.ResidentCode, *r.MyNumber, *r.Name, *r.NameKana, *r.Address, *r.Birth} {
			if bytes.Contains(all, []byte(v)) {
				t.Fatalf("%s: %q is in the clear in %v", stage, v, files)
			}
		}
	}
	for _, v := range []string{"秋田県秋田市旭北錦町9番9号", "12000000001", "秋田　太郎", "アキタ　タロウ"} {
		if bytes.Contains(all, []byte(v)) {
			t.Fatalf("%s: %q is in the clear in %v", stage, v, files)
		}
	}
}
