package synth

import (
	"bytes"
	"strings"
	"testing"

	"jukiterm/store/record"
)

// runStream feeds residents and then items of a stream to a map-based file, checking
// every outcome against its label. It returns the count of each rule and applied reason.
func runStream(t *testing.T, p *record.Prefecture, residents []record.Notification, o StreamOptions, items int) (rules, reasons map[string]int) {
	t.Helper()
	f := newMapFile(p)
	f.ingestResidents(t, residents)
	s := NewStream(7, residents, p, o)
	rules, reasons = map[string]int{}, map[string]int{}
	bad := 0
	for i := range items {
		it := s.Next()
		got := f.ingest(it.Line)
		want := applied
		switch {
		case it.Duplicate:
			want = duplicate
			if it.Rule != "" {
				t.Errorf("item %d: duplicate with rule %q", i, it.Rule)
			}
		case it.Rule != "":
			want = it.Rule
		}
		if got != want {
			bad++
			if bad <= 10 {
				t.Errorf("item %d: got %s, want %s\n%s", i, got, want, it.Line)
			}
			continue
		}
		rules[it.Rule]++
		if got == applied {
			n, _ := record.Parse(it.Line)
			reasons[n.Reason]++
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d items had another outcome than their label", bad, items)
	}
	if s.mislabelled != 0 {
		t.Errorf("the stream discarded %d items whose outcome did not match", s.mislabelled)
	}
	if f.current() != len(s.m.pools[poolCurrent]) {
		t.Errorf("file has %d current residents, the stream's model %d", f.current(), len(s.m.pools[poolCurrent]))
	}
	return rules, reasons
}

func TestStreamLabels(t *testing.T) {
	rules, reasons := runStream(t, record.Akita(), Residents(1, 3000, record.Akita()), StreamOptions{Invalid: 0.2}, 20000)
	for _, id := range record.RuleIDs {
		if rules[id] == 0 {
			t.Errorf("rule %s never produced", id)
		}
	}
	t.Logf("rules: %v", rules)
	t.Logf("reasons: %v", reasons)
}

func TestStreamDefaultMixCoversReasons(t *testing.T) {
	rules, reasons := runStream(t, record.Akita(), Residents(2, 2000, record.Akita()), StreamOptions{}, 20000)
	for _, r := range record.ReasonNames {
		if reasons[r] == 0 {
			t.Errorf("reason %s never applied", r)
		}
	}
	if len(rules) != 1 {
		t.Errorf("Invalid 0 gave rejections: %v", rules)
	}
	if reasons[record.Tenkyo] < reasons[record.Tenshutsu] {
		t.Errorf("転居 (%d) should be the most common reason, 転出 has %d", reasons[record.Tenkyo], reasons[record.Tenshutsu])
	}
}

func TestStreamFromEmptyFile(t *testing.T) {
	rules, _ := runStream(t, record.Akita(), nil, StreamOptions{Invalid: 0.5, Duplicates: -1}, 3000)
	if rules[record.RuleEnteringDeceased] == 0 || rules[record.RuleIDReused] == 0 {
		t.Errorf("rules needing earlier state never produced: %v", rules)
	}
}

func TestStreamOtherPrefecture(t *testing.T) {
	p, err := record.NewPrefecture("東京都", []record.Municipality{{Code: "131016", Name: "千代田区"}})
	if err != nil {
		t.Fatal(err)
	}
	rs := Residents(6, 300, p)
	if a := *rs[0].Address; !strings.HasPrefix(a, "東京都千代田区") {
		t.Errorf("address %s", a)
	}
	rules, _ := runStream(t, p, rs, StreamOptions{Invalid: 0.3}, 3000)
	if rules[record.RuleWrongMunicipality] != 0 {
		t.Error("wrong-municipality with a single municipality")
	}
}

func TestStreamOptions(t *testing.T) {
	rs := Residents(3, 500, record.Akita())
	only := []string{record.RuleEnteringDeceased, record.RuleDuplicateResidentCode}
	mix := map[string]int{record.Tenkyo: 1, record.Shussei: 1}
	rules, reasons := runStream(t, record.Akita(), rs, StreamOptions{Mix: mix, Invalid: 0.5, Rules: only, Start: "2030-01-01"}, 2000)
	for rule := range rules {
		if rule != "" && rule != only[0] && rule != only[1] {
			t.Errorf("rule %s not asked for", rule)
		}
	}
	if rules[only[0]] == 0 || rules[only[1]] == 0 {
		t.Errorf("asked rules missing: %v", rules)
	}
	for reason := range reasons {
		if mix[reason] == 0 && reason != record.Shibo && reason != record.Tennyu {
			t.Errorf("reason %s applied, not in the mix nor an enabler", reason)
		}
	}
}

func TestStreamDeterministic(t *testing.T) {
	rs := Residents(4, 300, record.Akita())
	a := NewStream(9, rs, record.Akita(), StreamOptions{Invalid: 0.3})
	b := NewStream(9, rs, record.Akita(), StreamOptions{Invalid: 0.3})
	for i := range 2000 {
		x, y := a.Next(), b.Next()
		if !bytes.Equal(x.Line, y.Line) || x.Rule != y.Rule || x.Duplicate != y.Duplicate {
			t.Fatalf("item %d differs:\n%s\n%s", i, x.Line, y.Line)
		}
	}
}

func TestStreamDates(t *testing.T) {
	s := NewStream(5, Residents(5, 200, record.Akita()), record.Akita(), StreamOptions{})
	for range 2000 {
		it := s.Next()
		n, v := record.Parse(it.Line)
		if v != nil {
			t.Fatal(v)
		}
		if n.ChangedOn < Reference && n.Reason != record.ShokkenShusei {
			t.Errorf("changed_on %s before Reference: %s", n.ChangedOn, it.Line)
		}
		c, _ := parseDay(n.ChangedOn)
		no, _ := parseDay(n.NotifiedOn)
		if no < c || no > c+3 {
			t.Errorf("notified_on %s not 0–3 days after %s", n.NotifiedOn, n.ChangedOn)
		}
	}
	if s.today() <= refDay || s.today() > refDay+10 {
		t.Errorf("clock at %s after 2000 items", s.today())
	}
}
