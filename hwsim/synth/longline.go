package synth

import "io"

// LongLine returns a reader of n bytes 'x' and a newline, made as they are read (never
// held whole): the over-long line of the ingest's memory tests.
func LongLine(n int) io.Reader { return &longLine{left: n} }

type longLine struct{ left int }

func (l *longLine) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && l.left > 0 {
		p[n] = 'x'
		n++
		l.left--
	}
	if n < len(p) && l.left == 0 {
		p[n] = '\n'
		n++
		l.left = -1
	}
	return n, nil
}
