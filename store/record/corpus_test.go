package record

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// readCorpus returns the lines of a testdata corpus; in the bad corpus each line is
// "RULE<tab>LINE".
func readCorpus(t testing.TB, name string) []string {
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// TestGoodCorpus: every line parses and passes the item checks (no file needed).
func TestGoodCorpus(t *testing.T) {
	for i, l := range readCorpus(t, "notifications.good.jsonl") {
		n, v := Parse([]byte(l))
		if v == nil {
			v = Check(n, Akita())
		}
		if v != nil {
			t.Errorf("good line %d rejected: %v", i+1, v)
		}
	}
}

// TestBadCorpus: every line fails with its rule before any look-up in the file.
func TestBadCorpus(t *testing.T) {
	for i, l := range readCorpus(t, "notifications.bad.jsonl") {
		rule, line, _ := strings.Cut(l, "\t")
		n, v := Parse([]byte(line))
		if v == nil {
			v = Check(n, Akita())
		}
		if v == nil || v.Rule != rule {
			t.Errorf("bad line %d: want %s, got %v", i+1, rule, v)
		}
	}
}
