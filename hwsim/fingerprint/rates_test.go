package fingerprint

import (
	"math"
	"testing"
)

// TestRates draws many verifications (the decisions, without the protocol around them) with fixed seeds and checks the observed false
// match and false non-match rates against the configured ones. The seeds fix the
// outcome, so the test is not flaky; the bound (5 standard deviations) only says the
// draws are what they claim to be for any seed.
func TestRates(t *testing.T) {
	const n = 40000
	for _, c := range []struct {
		rates Rates
		seed  uint64
	}{{Rates{FMR: 0.01, FNMR: 0.05}, 1}, {Rates{FMR: 0.001, FNMR: 0.2}, 7}, {Rates{}, 3}} {
		s, err := Start(t.TempDir(), Options{Rates: c.rates, Seed: c.seed})
		if err != nil {
			t.Fatal(err)
		}
		templates := map[uint32]string{0: "alice", 1: "bob"}
		var fm, fm1, fnm int
		slots := map[uint32]int{}
		for range n {
			if slot, ok := s.decide(templates, c.rates, "", -1); ok { // 1:N against both templates
				fm++
				slots[slot]++
			}
			if slot, ok := s.decide(templates, c.rates, "", 1); ok { // 1:1 against bob's
				fm1++
				if slot != 1 {
					t.Fatalf("a 1:1 verification against slot 1 matched slot %d", slot)
				}
			}
			if slot, ok := s.decide(templates, c.rates, "alice", -1); !ok {
				fnm++
			} else if slot != 0 {
				t.Fatalf("alice matched slot %d", slot)
			}
		}
		s.Close()
		check := func(what string, got int, p float64) {
			sd := math.Sqrt(n * p * (1 - p))
			if math.Abs(float64(got)-n*p) > 5*sd+0.5 {
				t.Errorf("%s: %d of %d, want about %.0f (rate %v)", what, got, n, n*p, p)
			}
		}
		check("false matches against 2 templates", fm, 1-(1-c.rates.FMR)*(1-c.rates.FMR))
		check("false matches against 1 template", fm1, c.rates.FMR)
		check("false non-matches", fnm, c.rates.FNMR)
		if fm > 0 && (slots[0] == 0 || slots[1] == 0) {
			t.Errorf("false matches fell on slots %v, want both enrolled slots", slots)
		}
		t.Logf("FMR %v: 1:1 %d/%d, 1:2 %d/%d; FNMR %v: %d/%d", c.rates.FMR, fm1, n, fm, n, c.rates.FNMR, fnm, n)
	}
}

// TestRatesFile: rates.json (jukiterm sim reader rates) overrides the options.
func TestRatesFile(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(dir, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.update(func(st *readerState) { st.Templates[3] = "alice" })
	if _, ok := s.match("alice", -1); !ok {
		t.Fatal("exact reader: no match")
	}
	if err := SetRates(dir, Rates{FMR: 1, FNMR: 1}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.match("alice", -1); ok {
		t.Error("FNMR 1: matched")
	}
	if slot, ok := s.match("", 3); !ok || slot != 3 {
		t.Errorf("FMR 1: %d %v", slot, ok)
	}
	if err := SetRates(dir, Rates{FMR: 2}); err == nil {
		t.Error("a rate of 2 was accepted")
	}
}
