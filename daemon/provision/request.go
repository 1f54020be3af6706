package provision

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"jukiterm/store"
)

// Request columns (FORMATS.md §5).
const (
	colQueryID = "query_id"
	colCode    = "resident_code"
	colNumber  = "my_number"
	colKana    = "name_kana"
	colBirth   = "birth"
	colSex     = "sex"
	colAddress = "address"
)

// requestColumns are the columns a request may have, in the order WriteRequest uses.
var requestColumns = []string{colQueryID, colCode, colNumber, colKana, colBirth, colSex, colAddress}

const (
	// DefaultMaxRows is the number of queries ParseRequest accepts when given no limit.
	DefaultMaxRows = 100000
	// MaxQueryID is the longest query_id, in characters.
	MaxQueryID = 64
	// maxLine bounds one line of the file; rowBytes is the room allowed per row when
	// bounding the whole file (a full row is under 2 KiB).
	maxLine  = 64 << 10
	rowBytes = 4 << 10
	bom      = "\ufeff"
)

// Query is one row of a request: a query_id and one key group, in the stored form
// (kana as full-width katakana, runs of spaces as one full-width space). It holds
// personal data: String shows only the id and the kinds of key.
type Query struct {
	ID      string
	Code    string
	Number  string
	Kana    string
	Birth   string
	Sex     int
	Address string
}

// StoreQuery is the search the row asks for (FORMATS.md §4): current residents only,
// the address matched from its start, a kana without a space matched against the
// surname. The limit is left to the caller (zero: store.DefaultLimit).
func (q Query) StoreQuery() store.Query {
	return store.Query{Code: q.Code, Number: q.Number, Kana: q.Kana, Birth: q.Birth,
		Sex: q.Sex, Address: q.Address, IncludeRemoved: false}
}

// String names the query and the kinds of key it uses, never their values.
func (q Query) String() string {
	sq := q.StoreQuery()
	return fmt.Sprintf("query %q by %s", q.ID, strings.Join(sq.Keys(), "+"))
}

// ParseRequest reads a bulk provision request (FORMATS.md §5) and checks it whole:
// either every row is a valid query and all are returned in file order, or the result
// is a *RequestError listing the bad rows (and no query). maxRows bounds the number of
// queries (DefaultMaxRows when not positive). Other errors are failures to read r.
func ParseRequest(r io.Reader, maxRows int) ([]Query, error) {
	if maxRows <= 0 {
		maxRows = DefaultMaxRows
	}
	lr := &lineLimitReader{r: bufio.NewReader(r), left: int64(maxRows+1) * rowBytes}
	if err := skipBOM(lr.r); err != nil {
		return nil, fmt.Errorf("read the request: %w", err)
	}
	cr := csv.NewReader(lr)
	cr.FieldsPerRecord = -1
	p := newParser(maxRows)
	header, err := cr.Read()
	switch {
	case err == io.EOF:
		p.add(Problem{Line: 1, Message: "the file is empty: a request needs a header row (for example query_id,resident_code) and one row per query"})
		return nil, p.err()
	case err != nil:
		if e := p.readError(err, lr.line); e != nil {
			return nil, e
		}
		return nil, p.err()
	}
	p.header(header)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if e := p.readError(err, lr.line); e != nil {
				return nil, e
			}
			break
		}
		line, _ := cr.FieldPos(0)
		p.row(line, rec)
	}
	if p.rows == 0 && len(p.problems) == 0 {
		p.add(Problem{Line: 2, Message: "the file has a header but no query: add one row per query"})
	}
	if p.rows > maxRows {
		p.add(Problem{Message: fmt.Sprintf("the file holds %d queries, more than the %d one request may hold: split it into several requests", p.rows, maxRows)})
	}
	if len(p.problems) > 0 || p.more > 0 {
		return nil, p.err()
	}
	return p.queries, nil
}

// readError turns a failure of the CSV reader into a problem (the rest of the file
// cannot be read reliably after it), or returns it as is when the source failed.
func (p *parser) readError(err error, line int) error {
	var pe *csv.ParseError
	switch {
	case errors.As(err, &pe):
		msg := "the file is not valid CSV here"
		switch {
		case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
			msg = `a double quote (") is misplaced: a value with a quote, comma or line break must be enclosed in double quotes, with any quote inside it doubled`
		}
		p.add(Problem{Line: pe.StartLine, Message: msg + "; the lines after it were not checked"})
	case errors.Is(err, errLineTooLong):
		p.add(Problem{Line: line, Message: fmt.Sprintf("a line is longer than %d KiB: this is not a request file; the lines after it were not checked", maxLine>>10)})
	case errors.Is(err, errFileTooLong):
		p.add(Problem{Message: fmt.Sprintf("the file is larger than %d MiB, more than %d queries can take: split it into several requests; the rest of the file was not checked", (int64(p.maxRows)+1)*rowBytes>>20, p.maxRows)})
	default:
		return fmt.Errorf("read the request: %w", err)
	}
	return nil
}

func skipBOM(r *bufio.Reader) error {
	b, err := r.Peek(len(bom))
	if err == nil && string(b) == bom {
		_, err = r.Discard(len(bom))
		return err
	}
	if err == io.EOF || errors.Is(err, bufio.ErrBufferFull) {
		return nil
	}
	return err
}

var (
	errLineTooLong = errors.New("line too long")
	errFileTooLong = errors.New("file too long")
)

// lineLimitReader fails a line longer than maxLine and a file longer than left bytes,
// so that a file that is not a request cannot take the daemon's memory. It counts
// lines for the message.
type lineLimitReader struct {
	r    *bufio.Reader
	left int64
	cur  int // bytes since the last line feed
	line int // line number of the byte last read, from 1
}

func (l *lineLimitReader) Read(b []byte) (int, error) {
	if l.left <= 0 {
		return 0, errFileTooLong
	}
	if int64(len(b)) > l.left {
		b = b[:l.left]
	}
	n, err := l.r.Read(b)
	l.left -= int64(n)
	if l.line == 0 && n > 0 {
		l.line = 1
	}
	for _, c := range b[:n] {
		if c == '\n' {
			l.cur = 0
			l.line++
			continue
		}
		if l.cur++; l.cur > maxLine {
			return 0, errLineTooLong
		}
	}
	return n, err
}
