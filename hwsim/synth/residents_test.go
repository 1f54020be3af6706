package synth

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"jukiterm/store/kana"
	"jukiterm/store/record"
)

func TestResidentsDeterministicAndPrefix(t *testing.T) {
	p := record.Akita()
	a, b := Residents(42, 1000, p), Residents(42, 1000, p)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed and n gave different residents")
	}
	if short := Residents(42, 10, p); !reflect.DeepEqual(short, a[:10]) {
		t.Fatal("Residents(seed, 10) is not a prefix of Residents(seed, 1000)")
	}
	if other := Residents(43, 10, p); reflect.DeepEqual(other, a[:10]) {
		t.Fatal("another seed gave the same residents")
	}
	var each []record.Notification
	EachResident(42, 1000, p, func(i int, n record.Notification) {
		if i != len(each) {
			t.Fatalf("EachResident index %d, want %d", i, len(each))
		}
		each = append(each, n)
	})
	if !reflect.DeepEqual(each, a) {
		t.Fatal("EachResident differs from Residents")
	}
}

func TestResidentsPopulation(t *testing.T) {
	const n = 200_000
	p := record.Akita()
	codes := make(map[string]bool, n)
	numbers := make(map[string]bool, n)
	ages := make(map[int]int)
	munis := make(map[string]int)
	var gaiji, former, births int
	refY, refM, refD := refDay.civil()
	EachResident(2026, n, p, func(i int, x record.Notification) {
		line, _ := json.Marshal(&x)
		if v := record.Check(&x, p); v != nil {
			t.Fatalf("resident %d fails Check: %v\n%s", i, v, line)
		}
		if codes[x.ResidentCode] || numbers[*x.MyNumber] {
			t.Fatalf("resident %d: code or number not unique\n%s", i, line)
		}
		codes[x.ResidentCode], numbers[*x.MyNumber] = true, true
		b, _ := parseDay(*x.Birth)
		y, m, d := b.civil()
		age := refY - y
		if m > refM || (m == refM && d > refD) {
			age--
		}
		ages[age]++
		munis[x.Municipality]++
		checkResident(t, i, &x, line, p)
		if x.NameGaiji != nil {
			gaiji++
		}
		if x.FormerSurname != nil {
			former++
		}
		if x.Reason == record.Shussei {
			births++
		}
	})
	for a := 0; a <= 105; a++ {
		if ages[a] == 0 {
			t.Errorf("nobody aged %d", a)
		}
	}
	if len(ages) != 106 {
		t.Errorf("ages outside 0–105: %v", ages)
	}
	for _, m := range p.Municipalities {
		if munis[m.Code] == 0 {
			t.Errorf("nobody lives in %s", m.Name)
		}
	}
	if munis["052019"] < n/5 || munis["052019"] < munis["052035"]*2 {
		t.Errorf("秋田市 should be much the largest: %v", munis)
	}
	if gaiji < n/200 || gaiji > n/50 {
		t.Errorf("%d of %d names with 外字, want about 1%%", gaiji, n)
	}
	if former == 0 || former > n/20 {
		t.Errorf("%d of %d with a former surname", former, n)
	}
	if births < n/300 || ages[0] != births {
		t.Errorf("%d births for %d aged 0", births, ages[0])
	}
	t.Logf("gaiji %d, former %d, births %d, 秋田市 %d", gaiji, former, births, munis["052019"])
}

// checkResident checks what record.Check does not: the form of names and addresses,
// dates against Reference, and the id.
func checkResident(t *testing.T, i int, x *record.Notification, line []byte, p *record.Prefecture) {
	t.Helper()
	fail := func(what string) { t.Fatalf("resident %d: %s\n%s", i, what, line) }
	if x.Reason != record.Tennyu && x.Reason != record.Shussei {
		fail("reason")
	}
	if x.ID != "R"+string(appendPadded(nil, uint64(i), 9)) {
		fail("id")
	}
	if strings.Count(*x.Name, sep) != 1 || strings.Count(*x.NameKana, sep) != 1 {
		fail("name without one full-width space")
	}
	if k, err := kana.Normalize(*x.NameKana); err != nil || k != *x.NameKana {
		fail("kana name not in storage form")
	}
	surname, given := kana.Split(*x.Name)
	_, givenKana := kana.Split(*x.NameKana)
	if sexOf(given, givenKana) != *x.Sex {
		fail("sex does not match the given name")
	}
	m, _ := p.Lookup(x.Municipality)
	if !strings.HasPrefix(*x.Address, p.Name+m.Name) || utf8.RuneCountInString(*x.Address) > 40 {
		fail("address not in the municipality")
	}
	if len(*x.DistrictCode) != 6 || strings.Trim(*x.DistrictCode, "0123456789") != "" {
		fail("district code")
	}
	if x.FormerSurname != nil && *x.FormerSurname == surname {
		fail("former surname equals the surname")
	}
	if x.ChangedOn < *x.Birth || x.ChangedOn > Reference || x.NotifiedOn < x.ChangedOn {
		fail("dates out of order")
	}
	if x.Reason == record.Shussei && x.ChangedOn != *x.Birth {
		fail("birth not on the date of change")
	}
	if c, _ := parseDay(x.ChangedOn); x.NotifiedOn > (c + 3).String() {
		fail("notified more than 3 days after the change")
	}
}

// sexOf returns the sex of the given-name table holding the name, 0 if none does.
func sexOf(kanji, reading string) int {
	for sex, tables := range [][3][]word{maleNames, femaleNames} {
		for _, list := range tables {
			for _, w := range list {
				if w.kanji == kanji && w.kana == reading {
					return sex + 1
				}
			}
		}
	}
	return 0
}

func TestNameTables(t *testing.T) {
	if len(surnames) < 100 {
		t.Errorf("%d surnames, want at least 100", len(surnames))
	}
	for sex, tables := range [][3][]word{maleNames, femaleNames} {
		total := 0
		for _, l := range tables {
			total += len(l)
		}
		if total < 80 {
			t.Errorf("sex %d: %d given names, want at least 80", sex+1, total)
		}
	}
	seen := map[string]bool{}
	all := append(append([]word{}, surnames...), gaijiSurnames...)
	for _, tables := range [][3][]word{maleNames, femaleNames} {
		for _, l := range tables {
			all = append(all, l...)
		}
	}
	for _, w := range all {
		if k, err := kana.Normalize(w.kana); err != nil || k != w.kana {
			t.Errorf("%s: reading %q is not katakana", w.kanji, w.kana)
		}
	}
	for _, w := range surnames {
		if seen[w.kanji] {
			t.Errorf("surname %s twice", w.kanji)
		}
		seen[w.kanji] = true
	}
}

func TestIDPermutation(t *testing.T) {
	g := newIDs(1)
	seen := map[uint64]bool{}
	for i := uint64(0); i < 100_000; i++ {
		v := g.code.at(i)
		if v >= space || seen[v] {
			t.Fatalf("index %d: value %d repeats or is out of range", i, v)
		}
		seen[v] = true
		if !record.ValidMyNumber(g.numberOf(i)) {
			t.Fatalf("個人番号 %s has a bad check digit", g.numberOf(i))
		}
	}
	if reverseDigits(reverseDigits(12345)) != 12345 || reverseDigits(1) != 10_000_000_000 {
		t.Error("reverseDigits")
	}
}

func TestDates(t *testing.T) {
	for _, s := range []string{"1868-01-01", "1900-02-28", "2000-02-29", "2024-12-31", Reference} {
		d, ok := parseDay(s)
		if !ok || d.String() != s {
			t.Errorf("parseDay(%s) = %v %v", s, d, ok)
		}
	}
	for _, s := range []string{"2023-02-29", "2026-04-31", "2026-13-01", "26-04-01"} {
		if _, ok := parseDay(s); ok {
			t.Errorf("parseDay(%s) accepted", s)
		}
	}
	if d := yearsBefore(mustDay("2024-02-29"), 1); d.String() != "2023-02-28" {
		t.Errorf("yearsBefore = %s", d)
	}
}
