package provision

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"jukiterm/store"
)

func corpus(t testing.TB, dir string) []string {
	names, err := filepath.Glob(filepath.Join("testdata", dir, "*.csv"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no corpus in testdata/%s: %v", dir, err)
	}
	return names
}

// TestRequestGood: every file of the good corpus is accepted, and writes back as the
// same queries.
func TestRequestGood(t *testing.T) {
	for _, name := range corpus(t, "request.good") {
		b, _ := os.ReadFile(name)
		qs, err := ParseRequest(bytes.NewReader(b), 0)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		roundTrip(t, qs)
	}
}

// TestRequestValues: the parsed values are in the stored form and map to the search
// they stand for.
func TestRequestValues(t *testing.T) {
	b, _ := os.ReadFile("testdata/request.good/by-kana-any-order.csv")
	qs, err := ParseRequest(bytes.NewReader(b), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Query{
		{ID: "K1", Kana: "アキタ　タロウ", Birth: "1990-01-15", Sex: 1, Address: "秋田県秋田市"},
		{ID: "K2", Kana: "ヤマザキ　ジュンコ", Birth: "1985-12-31", Sex: 2},
		{ID: "K3", Kana: "スズキ", Birth: "2001-02-28", Address: "秋田県　横手市"},
	}
	if !slices.Equal(qs, want) {
		t.Fatalf("got %#v", qs)
	}
	sq := qs[0].StoreQuery()
	if (sq != store.Query{Kana: "アキタ　タロウ", Birth: "1990-01-15", Sex: 1, Address: "秋田県秋田市"}) {
		t.Fatalf("store query %+v", sq)
	}
	b, _ = os.ReadFile("testdata/request.good/mixed-bom-crlf.csv")
	qs, err = ParseRequest(bytes.NewReader(b), 0)
	if err != nil || len(qs) != 3 || qs[0] != (Query{ID: "M1", Code: "12000000001"}) || qs[1] != (Query{ID: "M2", Number: "300000000039"}) {
		t.Fatalf("%v %#v", err, qs)
	}
	if s := fmt.Sprint(qs[2]); strings.Contains(s, "サトウ") || !strings.Contains(s, "M3") {
		t.Fatalf("a query prints its personal values: %s", s)
	}
}

// badRequests names, for each file of the bad corpus, a fragment its error must hold.
var badRequests = map[string]string{
	"empty.csv":              "line 1: the file is empty",
	"header-only.csv":        "line 2: the file has a header but no query",
	"unknown-column.csv":     `line 1, name: unknown column: a request has only the columns query_id, resident_code`,
	"uppercase-column.csv":   "line 1, Query_ID: unknown column: write it query_id",
	"duplicate-column.csv":   "line 1, resident_code: the column appears twice",
	"no-query-id-column.csv": "line 1, query_id: the header has no query_id column",
	"no-key-column.csv":      "line 1: the header has no key column",
	"duplicate-query-id.csv": `line 3 (query_id "A1"), query_id: the query_id is also used on line 2`,
	"empty-query-id.csv":     "line 2, query_id: query_id is empty",
	"long-query-id.csv":      "query_id is longer than 64 characters",
	"formula-query-id.csv":   "spreadsheet programs read as a formula",
	"space-query-id.csv":     "query_id begins or ends with a space",
	"short-code.csv":         `line 2 (query_id "A1"), resident_code: resident_code (住民票コード) must be 11 digits`,
	"fullwidth-code.csv":     "resident_code (住民票コード) must be 11 digits 0-9",
	"bad-check-digit.csv":    "my_number: my_number (個人番号) must be 12 digits with a valid check digit",
	"bad-birth.csv":          "birth: birth must be a real date written YYYY-MM-DD",
	"slash-birth.csv":        "birth must be a real date",
	"bad-sex.csv":            "sex: sex must be 1 (男) or 2 (女)",
	"kanji-kana.csv":         "name_kana: name_kana must be katakana or hiragana",
	"kana-without-birth.csv": "birth: a search by name_kana needs birth too",
	"birth-without-kana.csv": "name_kana: a search by birth, sex or address needs name_kana",
	"two-keys.csv":           "the row fills more than one key (resident_code, my_number)",
	"no-key.csv":             `line 2 (query_id "A1"): the row fills no key`,
	"extra-field.csv":        "the row has 3 fields but the header has 2",
	"unclosed-quote.csv":     "line 3: a double quote",
	"shift-jis.csv":          "name_kana: the value is not UTF-8 text",
	"line-break-in-id.csv":   "query_id: the value holds a line break",
	"empty-row.csv":          "line 3: the row is empty",
	"blank-address.csv":      "address: address holds only spaces",
	"several-problems.csv":   "3 problems",
}

// TestRequestBad: every file of the bad corpus is refused whole, with its message.
func TestRequestBad(t *testing.T) {
	names := corpus(t, "request.bad")
	if len(names) != len(badRequests) {
		t.Errorf("%d bad files, %d expectations", len(names), len(badRequests))
	}
	for _, name := range names {
		want, ok := badRequests[filepath.Base(name)]
		if !ok {
			t.Errorf("%s: no expected message", name)
			continue
		}
		b, _ := os.ReadFile(name)
		qs, err := ParseRequest(bytes.NewReader(b), 0)
		var re *RequestError
		if !errors.As(err, &re) || !errors.Is(err, ErrRequest) || qs != nil {
			t.Errorf("%s: %v, %d queries", name, err, len(qs))
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want %q in\n%v", name, want, err)
		}
	}
}

// TestRequestEveryProblem: all bad rows are listed, in order, and the list is capped.
func TestRequestEveryProblem(t *testing.T) {
	b, _ := os.ReadFile("testdata/request.bad/several-problems.csv")
	_, err := ParseRequest(bytes.NewReader(b), 0)
	var re *RequestError
	if !errors.As(err, &re) {
		t.Fatal(err)
	}
	var lines []int
	for _, p := range re.Problems {
		lines = append(lines, p.Line)
	}
	if !slices.Equal(lines, []int{3, 4, 5}) {
		t.Fatalf("problems on lines %v:\n%v", lines, err)
	}
	var big strings.Builder
	big.WriteString("query_id,resident_code\n")
	for i := range 250 {
		fmt.Fprintf(&big, "R%d,bad\n", i)
	}
	_, err = ParseRequest(strings.NewReader(big.String()), 0)
	if !errors.As(err, &re) || len(re.Problems) != MaxProblems || re.More != 150 || !strings.Contains(err.Error(), "and 150 more problems") {
		t.Fatalf("%d listed, %d more", len(re.Problems), re.More)
	}
}

// TestRequestLimits: more rows than allowed, over-long lines and files are refused.
func TestRequestLimits(t *testing.T) {
	in := "query_id,resident_code\nA,12000000001\nB,12000000002\nC,12000000003\n"
	if _, err := ParseRequest(strings.NewReader(in), 3); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseRequest(strings.NewReader(in), 2); err == nil || !strings.Contains(err.Error(), "holds 3 queries, more than the 2") {
		t.Fatalf("too many rows: %v", err)
	}
	long := "query_id,resident_code\nA," + strings.Repeat("1", maxLine+10) + "\n"
	if _, err := ParseRequest(strings.NewReader(long), 0); err == nil || !strings.Contains(err.Error(), "a line is longer than 64 KiB") {
		t.Fatalf("long line: %v", err)
	}
	var b strings.Builder
	b.WriteString("query_id,resident_code\n")
	for b.Len() < 3*rowBytes {
		b.WriteString("A," + strings.Repeat("1", 1000) + "\n")
	}
	if _, err := ParseRequest(strings.NewReader(b.String()), 1); err == nil || !strings.Contains(err.Error(), "split it into several requests") {
		t.Fatalf("long file: %v", err)
	}
}

// roundTrip checks that queries write as a request that reads back as the same.
func roundTrip(t *testing.T, qs []Query) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteRequest(&buf, qs); err != nil {
		t.Fatal(err)
	}
	again, err := ParseRequest(&buf, len(qs))
	if err != nil {
		t.Fatalf("written queries are refused: %v", err)
	}
	if !slices.Equal(again, qs) {
		t.Fatalf("round trip changed the queries:\n%#v\n%#v", qs, again)
	}
}
