package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"jukiterm/hwsim/synth"
	"jukiterm/hwsim/testlogs"
	"jukiterm/store/record"
)

// At least this much must have been collected, or the collection is broken (a whole
// `make test` run gives far more).
const (
	minLogFiles  = 10
	minLogLines  = 300
	minDaemonLog = 3 // files of a jukitermd that served
)

// logScanner finds personal values of the test data in log lines.
type logScanner struct {
	words []string // names, kana names and address parts, longest first
}

func newLogScanner() *logScanner {
	var words []string
	for _, w := range append(synth.NameParts(), synth.AddressParts()...) {
		// A kana name is also looked for in hiragana, as staff often type it (search --kana).
		for _, v := range []string{w, hiragana(w)} {
			if utf8.RuneCountInString(v) >= 2 && !slices.Contains(words, v) {
				words = append(words, v)
			}
		}
	}
	slices.SortFunc(words, func(a, b string) int { return len(b) - len(a) })
	return &logScanner{words: words}
}

// find returns what personal value line holds, as "kind value", or "".
func (s *logScanner) find(line string) string {
	for _, tok := range numberTokens(line) {
		switch {
		case len(tok) == 11 && record.ValidResidentCode(tok):
			return "住民票コード " + tok
		case len(tok) == 12 && record.ValidMyNumber(tok):
			return "個人番号 " + tok
		}
	}
	if !hasNonASCII(line) { // every name and address part is written in kanji or kana
		return ""
	}
	for _, w := range s.words {
		if strings.Contains(line, w) {
			return "name or address part " + w
		}
	}
	return ""
}

// numberTokens returns the runs of ASCII letters and digits in line that are digits
// only; full-width digits count as digits. A hex digest is one token with letters in
// it, or a digit run longer than 12.
func numberTokens(line string) []string {
	var out []string
	var tok strings.Builder
	digits := true
	flush := func() {
		if tok.Len() > 0 && digits {
			out = append(out, tok.String())
		}
		tok.Reset()
		digits = true
	}
	for _, r := range line {
		if r >= '０' && r <= '９' {
			r = '0' + (r - '０')
		}
		switch {
		case r >= '0' && r <= '9':
			tok.WriteRune(r)
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			tok.WriteRune(r)
			digits = false
		default:
			flush()
		}
	}
	flush()
	return out
}

// hiragana writes the katakana of s in hiragana.
func hiragana(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'ァ' && r <= 'ヶ' {
			return r - 0x60
		}
		return r
	}, s)
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// TestWholeRunLogHoldsNoPersonalValue reads the log of every jukitermd (and every
// in-process server) of a test run, collected in $JUKITERM_TEST_LOGS, and fails on any
// line holding a 住民票コード, a 個人番号, or a name, kana name or address part of the
// test data. `make test` runs it after all the other tests.
func TestWholeRunLogHoldsNoPersonalValue(t *testing.T) {
	dir := os.Getenv(testlogs.Env)
	if dir == "" {
		t.Skipf("%s is not set: `make test` sets it and runs this test over the log of the whole run", testlogs.Env)
	}
	r, err := scanCollection(newLogScanner(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range r.bad {
		if i == 50 {
			t.Errorf("... %d lines with a personal value in all", len(r.bad))
			break
		}
		t.Error(b)
	}
	if err := r.enough(dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files, %d lines scanned, %d of a jukitermd that served", r.files, r.lines, r.served)
}

// scanResult is what scanCollection found.
type scanResult struct {
	files, lines, served int      // files with a line; served: of a jukitermd that served
	bad                  []string // file:line and what it holds
}

// scanCollection scans every file of the collection in dir.
func scanCollection(s *logScanner, dir string) (scanResult, error) {
	var r scanResult
	files, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		return r, err
	}
	for _, name := range files {
		n, served, bad, err := scanLogFile(s, name)
		if err != nil {
			return r, fmt.Errorf("reading the collected log %s: %w", name, err)
		}
		if n > 0 { // a test's logger may stay silent: only files with lines count
			r.files++
		}
		r.lines += n
		if served {
			r.served++
		}
		r.bad = append(r.bad, bad...)
	}
	return r, nil
}

// enough fails when the collection is too thin to stand for a whole run.
func (r scanResult) enough(dir string) error {
	if r.files < minLogFiles || r.lines < minLogLines || r.served < minDaemonLog {
		return fmt.Errorf("%s holds %d log files, %d lines, %d of a jukitermd that served; want at least %d, %d and %d: "+
			"run the tests with %s set to it first, as `make test` does", dir, r.files, r.lines, r.served,
			minLogFiles, minLogLines, minDaemonLog, testlogs.Env)
	}
	return nil
}

// scanLogFile returns the number of lines of the file at name, whether a jukitermd
// served in it, and a message (file:line) for each line holding a personal value.
func scanLogFile(s *logScanner, name string) (lines int, served bool, bad []string, err error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, false, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		lines++
		line := sc.Text()
		if strings.Contains(line, "msg=serving") {
			served = true
		}
		if what := s.find(line); what != "" {
			bad = append(bad, fmt.Sprintf("%s:%d: holds a %s:\n\t%s", name, lines, what, line))
		}
	}
	return lines, served, bad, sc.Err()
}

// TestLogScannerFindsPersonalValues: the scanner flags each kind of personal value and
// leaves digests, timestamps, sizes and the log's own words alone.
func TestLogScannerFindsPersonalValues(t *testing.T) {
	s := newLogScanner()
	flagged := []string{
		`time=2026-12-04T18:03:21.123Z level=INFO msg=search resident=12000000001`,
		`level=WARN msg="rejected" code=(45000000001` + fmt.Sprint(record.MyNumberCheckDigit("45000000001")) + `)`,
		`level=INFO msg=show detail="住民票コード１２００００００００１"`,
		`level=INFO msg=search kana="サトウ　ハナコ"`,
		`level=INFO msg=search kana="ささき　ゆうこ"`,
		`level=INFO msg=show name=小笠原`,
		`level=INFO msg=moved to=秋田県秋田市山王一丁目1番1号`,
		`level=INFO msg=moved to=秋田県男鹿市船川港船川12番地`,
	}
	for _, l := range flagged {
		if s.find(l) == "" {
			t.Errorf("not flagged: %s", l)
		}
	}
	clean := []string{
		`time=2026-12-04T18:03:21.123456789+09:00 level=INFO msg=serving socket=/run/jukiterm/jukiterm.sock`,
		`level=INFO msg=operation index=120000000012 hash=4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8`,
		`level=INFO msg=checkpoint size=12000000001a root=ab12000000001 tree=1200000000123`,
		`level=INFO msg="backup written" bytes=1048576 took=1.23456789012s unix=1796392201`,
		`level=INFO msg="ingest done" applied=20000 rejected=1 reason=bad-my-number`,
		`level=INFO msg="service session" class=保守 vendor=v1 action=update.stage`,
		`level=WARN msg="住民票コード and 個人番号 are never logged" municipality=052019`,
		`level=INFO msg=stick serial=0401A1B2C3D4E5F6 model=sim`,
	}
	for _, l := range clean {
		if what := s.find(l); what != "" {
			t.Errorf("flagged (%s): %s", what, l)
		}
	}
}

// TestLogScanNeedsACollection: a thin collection (or one of empty files) is refused
// instead of passing, and a bad line is reported with its file and line number.
func TestLogScanNeedsACollection(t *testing.T) {
	dir := t.TempDir()
	if r, err := scanCollection(newLogScanner(), dir); err != nil || r.enough(dir) == nil {
		t.Fatalf("an empty collection passes: %+v %v", r, err)
	}
	for i := range 2 * minLogFiles {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("TestSilent-%d.log", i)), nil, 0o644)
	}
	if r, err := scanCollection(newLogScanner(), dir); err != nil || r.files != 0 || r.enough(dir) == nil {
		t.Fatalf("a collection of empty files passes: %+v %v", r, err)
	}
	log := "level=INFO msg=serving\nlevel=INFO msg=operation action=search\nlevel=INFO msg=show name=\"佐藤　花子\"\n"
	const reps = minLogLines / minLogFiles // 3 lines each time: enough lines
	for i := range minLogFiles {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("TestX-%d.log", i)), []byte(strings.Repeat(log, reps)), 0o644)
	}
	r, err := scanCollection(newLogScanner(), dir)
	if err != nil || r.enough(dir) != nil {
		t.Fatalf("a full collection is refused: %+v %v", r, err)
	}
	if len(r.bad) != minLogFiles*reps || !strings.Contains(r.bad[0], "TestX-0.log:3: holds a name or address part 佐藤") {
		t.Fatalf("bad lines reported: %d, first %q", len(r.bad), r.bad[0])
	}
}
