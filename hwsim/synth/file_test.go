package synth

import (
	"encoding/json"
	"strings"
	"testing"

	"jukiterm/store/record"
)

// mapFile is a map-based model of the identity-confirmation file implementing
// record.Lookup, with a driver that checks notifications in the store's order.
type mapFile struct {
	p       *record.Prefecture
	byCode  map[string]record.Record // current code → record, removed persons included
	former  map[string]bool          // codes given up by 住民票コード変更
	owner   map[string]string        // 個人番号 → current code of its holder
	applied map[[2]string][32]byte   // (municipality, id) → content hash
}

func newMapFile(p *record.Prefecture) *mapFile {
	return &mapFile{p: p, byCode: map[string]record.Record{}, former: map[string]bool{},
		owner: map[string]string{}, applied: map[[2]string][32]byte{}}
}

func (f *mapFile) ByCode(code string) (record.Record, bool, error) {
	r, ok := f.byCode[code]
	return r, ok, nil
}

func (f *mapFile) FormerCode(code string) (bool, error) { return f.former[code], nil }

func (f *mapFile) MyNumberOwner(num string) (string, bool, error) {
	c, ok := f.owner[num]
	return c, ok, nil
}

// Outcomes of ingest besides rule ids.
const (
	applied   = "applied"
	duplicate = "duplicate"
)

// ingest runs one line through Parse, the required keys, idempotency, record.Check and
// record.Logic, and applies it when it passes. It returns applied, duplicate or the
// rule id of the rejection.
func (f *mapFile) ingest(line []byte) string {
	n, v := record.Parse(line)
	if v != nil {
		return v.Rule
	}
	for _, k := range []string{n.ID, n.Municipality, n.Reason, n.ChangedOn, n.NotifiedOn, n.ResidentCode} {
		if strings.TrimSpace(k) == "" {
			return record.RuleMissingField
		}
	}
	key := [2]string{n.Municipality, n.ID}
	h := n.Hash()
	if old, ok := f.applied[key]; ok {
		if old == h {
			return duplicate
		}
		return record.RuleIDReused
	}
	if v := record.Check(n, f.p); v != nil {
		return v.Rule
	}
	old, found, v, err := record.Logic(n, f)
	if err != nil {
		panic(err)
	}
	if v != nil {
		return v.Rule
	}
	rec := record.Apply(old, n)
	if found {
		if rec.ResidentCode != old.ResidentCode {
			delete(f.byCode, old.ResidentCode)
			f.former[old.ResidentCode] = true
		}
		if old.MyNumber != rec.MyNumber && f.owner[old.MyNumber] == old.ResidentCode {
			delete(f.owner, old.MyNumber)
		}
	}
	f.byCode[rec.ResidentCode] = rec
	f.owner[rec.MyNumber] = rec.ResidentCode
	f.applied[key] = h
	return applied
}

// ingestResidents applies residents as lines, failing the test on any rejection.
func (f *mapFile) ingestResidents(t testing.TB, rs []record.Notification) {
	t.Helper()
	for i := range rs {
		line, err := json.Marshal(&rs[i])
		if err != nil {
			t.Fatal(err)
		}
		if got := f.ingest(line); got != applied {
			t.Fatalf("resident %d rejected: %s\n%s", i, got, line)
		}
	}
}

// current counts current residents.
func (f *mapFile) current() int {
	c := 0
	for _, r := range f.byCode {
		if !r.Removed {
			c++
		}
	}
	return c
}
