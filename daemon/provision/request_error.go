package provision

import (
	"errors"
	"fmt"
	"strings"
)

// MaxProblems is the number of problems a RequestError lists; more are only counted.
const MaxProblems = 100

// ErrRequest is wrapped by every RequestError.
var ErrRequest = errors.New("the request file was refused")

// Problem is one thing wrong in a request file. Line is the line of the file (1 is
// the header; 0 for the file as a whole); Column is empty when the whole row is meant.
// Messages never repeat a personal value, only the query_id.
type Problem struct {
	Line    int    `json:"line"`
	QueryID string `json:"query_id,omitempty"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d", p.Line)
	} else {
		b.WriteString("file")
	}
	if p.QueryID != "" {
		fmt.Fprintf(&b, " (query_id %q)", p.QueryID)
	}
	if p.Column != "" {
		fmt.Fprintf(&b, ", %s", p.Column)
	}
	return b.String() + ": " + p.Message
}

// RequestError says a request file was refused as a whole: no query of it may run.
// It lists up to MaxProblems problems in file order; More counts those not listed.
type RequestError struct {
	Problems []Problem `json:"problems"`
	More     int       `json:"more,omitempty"`
}

func (e *RequestError) Error() string {
	n := len(e.Problems) + e.More
	var b strings.Builder
	fmt.Fprintf(&b, "the request file was refused and none of its queries was run: %d %s; correct the file and send it again whole", n, plural(n, "problem", "problems"))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  … and %d more %s not listed", e.More, plural(e.More, "problem", "problems"))
	}
	return b.String()
}

func (e *RequestError) Unwrap() error { return ErrRequest }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
