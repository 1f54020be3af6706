package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"

	"jukiterm/store/record"
)

// lineReader reads an ingest's input one line at a time without ever holding more
// than a bounded amount of it: a line longer than record.MaxLine is kept cut (the
// rest is read and dropped), so that it is still rejected as over-long. Every byte it
// consumes goes into a SHA-256, so that the digest of the lines read so far (and, at
// the end, of the whole input) is known at any line boundary.
type lineReader struct {
	br *bufio.Reader
	h  hash.Hash
}

// lineKeep is how much of a line is kept: the longest accepted line and its CR LF.
const lineKeep = record.MaxLine + 2

func newLineReader(in io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(in, 1<<20), h: sha256.New()}
}

// next returns the next line without its line end (LF or CR LF), cut to lineKeep
// bytes when longer; io.EOF when the input has ended. The line is the caller's to keep.
func (r *lineReader) next() ([]byte, error) {
	var line []byte
	read, complete := 0, false
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.h.Write(chunk)
		read += len(chunk)
		if room := lineKeep - len(line); room > 0 {
			line = append(line, chunk[:min(room, len(chunk))]...)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && read == 0:
			return nil, io.EOF
		case err != nil && err != io.EOF:
			return nil, err
		}
		complete = read == len(line)
		break
	}
	if complete {
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	}
	return line, nil
}

// sum is the SHA-256 of everything consumed so far.
func (r *lineReader) sum() []byte { return r.h.Sum(nil) }

// sumHex is sum in lower-case hex, as IngestOptions.Source names a file.
func (r *lineReader) sumHex() string { return hex.EncodeToString(r.sum()) }
