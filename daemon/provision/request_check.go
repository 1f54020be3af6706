package provision

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"jukiterm/store/kana"
	"jukiterm/store/record"
)

// parser checks a request row by row, collecting every problem.
type parser struct {
	maxRows  int
	cols     map[string]int // column name → index of its first occurrence
	width    int            // fields in the header
	seen     map[string]int // query_id → line
	rows     int
	queries  []Query
	problems []Problem
	more     int
}

func newParser(maxRows int) *parser {
	return &parser{maxRows: maxRows, cols: map[string]int{}, seen: map[string]int{}}
}

func (p *parser) add(pr Problem) {
	if len(p.problems) < MaxProblems {
		p.problems = append(p.problems, pr)
	} else {
		p.more++
	}
}

func (p *parser) err() error {
	return &RequestError{Problems: p.problems, More: p.more}
}

// header checks the header row. Rows are checked afterwards whatever it holds, on
// the known columns, so that one answer lists every problem.
func (p *parser) header(h []string) {
	p.width = len(h)
	for i, name := range h {
		switch {
		case !slices.Contains(requestColumns, name):
			msg := "unknown column: a request has only the columns " + strings.Join(requestColumns, ", ")
			if k := strings.ToLower(strings.TrimSpace(name)); k != name && slices.Contains(requestColumns, k) {
				msg = fmt.Sprintf("unknown column: write it %s (lower case, no spaces)", k)
			}
			p.add(Problem{Line: 1, Column: printable(name), Message: msg})
		case p.has(name):
			p.add(Problem{Line: 1, Column: name, Message: "the column appears twice in the header: keep one"})
		default:
			p.cols[name] = i
		}
	}
	if !p.has(colQueryID) {
		p.add(Problem{Line: 1, Column: colQueryID, Message: "the header has no query_id column: every row needs its own query_id"})
	}
	if !p.has(colCode) && !p.has(colNumber) && !(p.has(colKana) && p.has(colBirth)) {
		p.add(Problem{Line: 1, Message: "the header has no key column: give resident_code, or my_number, or name_kana and birth"})
	}
}

func (p *parser) has(col string) bool { _, ok := p.cols[col]; return ok }

// row checks one row and keeps its query if it is sound.
func (p *parser) row(line int, rec []string) {
	p.rows++
	id := ""
	if i, ok := p.cols[colQueryID]; ok && i < len(rec) {
		id = rec[i]
	}
	bad := false
	problem := func(col, format string, a ...any) {
		bad = true
		p.add(Problem{Line: line, QueryID: printable(id), Column: col, Message: fmt.Sprintf(format, a...)})
	}
	if len(rec) != p.width {
		problem("", "the row has %d fields but the header has %d: check for a missing or extra comma", len(rec), p.width)
		return
	}
	if !slices.ContainsFunc(rec, func(s string) bool { return s != "" }) {
		problem("", "the row is empty: remove it")
		return
	}
	get := func(col string) string {
		if i, ok := p.cols[col]; ok {
			return rec[i]
		}
		return ""
	}
	for _, col := range requestColumns {
		v := get(col)
		switch {
		case !utf8.ValidString(v):
			problem(col, "the value is not UTF-8 text: save the file as UTF-8 (in Excel: CSV UTF-8)")
		case strings.ContainsFunc(v, unicode.IsControl):
			problem(col, "the value holds a line break, tab or other control character: remove it")
		}
	}
	if bad {
		return
	}
	q := Query{ID: id}
	if msg := checkQueryID(id); msg != "" {
		problem(colQueryID, "%s", msg)
	} else if prev, dup := p.seen[id]; dup {
		problem(colQueryID, "the query_id is also used on line %d: each row needs its own query_id", prev)
	} else {
		p.seen[id] = line
	}
	code, number, kanaV, birth, sex, address := get(colCode), get(colNumber), get(colKana), get(colBirth), get(colSex), get(colAddress)
	var groups []string
	if code != "" {
		groups = append(groups, colCode)
	}
	if number != "" {
		groups = append(groups, colNumber)
	}
	four := kanaV != "" || birth != "" || sex != "" || address != ""
	if four {
		groups = append(groups, "name_kana + birth")
	}
	switch {
	case len(groups) == 0:
		problem("", "the row fills no key: give resident_code, or my_number, or name_kana and birth")
	case len(groups) > 1:
		problem("", "the row fills more than one key (%s): fill only one of resident_code, my_number, or name_kana + birth", strings.Join(groups, ", "))
	}
	if code != "" {
		if !record.ValidResidentCode(code) {
			problem(colCode, "resident_code (住民票コード) must be 11 digits 0-9 and nothing else")
		}
		q.Code = code
	}
	if number != "" {
		if !record.ValidMyNumber(number) {
			problem(colNumber, "my_number (個人番号) must be 12 digits with a valid check digit: check it for a typing error")
		}
		q.Number = number
	}
	if four {
		p.checkFour(&q, kanaV, birth, sex, address, problem)
	}
	if !bad {
		// The store's own check of a search, as a last guard: the checks above are
		// stricter, so it cannot fail unless they are wrong.
		sq := q.StoreQuery()
		if err := sq.Normalize(nil); err != nil {
			problem("", "the row is not a search the file accepts: %v", err)
		}
	}
	if !bad && len(p.queries) < p.maxRows {
		p.queries = append(p.queries, q)
	}
}

// checkFour checks a 4情報 key group and puts its values in the stored form.
func (p *parser) checkFour(q *Query, kanaV, birth, sex, address string, problem func(string, string, ...any)) {
	switch {
	case kanaV == "":
		problem(colKana, "a search by birth, sex or address needs name_kana (and birth) too")
	case utf8.RuneCountInString(kanaV) > record.MaxText:
		problem(colKana, "name_kana is longer than %d characters", record.MaxText)
	default:
		n, err := kana.Normalize(kanaV)
		if err != nil {
			problem(colKana, "name_kana must be katakana or hiragana only (surname and given name separated by a space)")
		}
		q.Kana = n
	}
	switch {
	case birth == "":
		problem(colBirth, "a search by name_kana needs birth too (YYYY-MM-DD)")
	case !record.ValidDate(birth):
		problem(colBirth, "birth must be a real date written YYYY-MM-DD, for example 1990-01-15 (from 1868-01-01)")
	default:
		q.Birth = birth
	}
	switch sex {
	case "":
	case "1", "2":
		q.Sex = int(sex[0] - '0')
	default:
		problem(colSex, "sex must be 1 (男) or 2 (女), or left empty")
	}
	if address != "" {
		a := record.NormalizeText(address)
		switch {
		case a == "":
			problem(colAddress, "address holds only spaces: leave it empty or give the start of the address")
		case utf8.RuneCountInString(a) > record.MaxText:
			problem(colAddress, "address is longer than %d characters", record.MaxText)
		}
		q.Address = a
	}
}

// checkQueryID returns what is wrong with a query_id, or "".
func checkQueryID(id string) string {
	switch {
	case id == "":
		return "query_id is empty: every row needs its own query_id"
	case utf8.RuneCountInString(id) > MaxQueryID:
		return fmt.Sprintf("query_id is longer than %d characters", MaxQueryID)
	case strings.TrimSpace(id) != id || strings.TrimFunc(id, isSpace) != id:
		return "query_id begins or ends with a space: remove it"
	case strings.ContainsFunc(id, func(r rune) bool { return !unicode.IsPrint(r) && r != '\u3000' }):
		return "query_id holds a character that cannot be printed: use letters, digits and punctuation"
	case strings.ContainsRune("=+-@", rune(id[0])):
		return "query_id begins with =, +, - or @, which spreadsheet programs read as a formula: use another id"
	}
	return ""
}

func isSpace(r rune) bool { return unicode.IsSpace(r) || r == '\u3000' }

// printable returns s for a message if it is valid UTF-8, shortened to MaxQueryID
// characters; "" otherwise.
func printable(s string) string {
	if !utf8.ValidString(s) {
		return ""
	}
	if utf8.RuneCountInString(s) > MaxQueryID {
		s = string([]rune(s)[:MaxQueryID]) + "…"
	}
	return s
}
