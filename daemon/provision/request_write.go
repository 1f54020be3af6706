package provision

import (
	"encoding/csv"
	"io"
	"strconv"
)

// WriteRequest writes queries as a request file (FORMATS.md §5) with every column,
// UTF-8 without a byte order mark: what ParseRequest reads back as the same queries.
func WriteRequest(w io.Writer, qs []Query) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(requestColumns); err != nil {
		return err
	}
	for _, q := range qs {
		sex := ""
		if q.Sex != 0 {
			sex = strconv.Itoa(q.Sex)
		}
		if err := cw.Write([]string{q.ID, q.Code, q.Number, q.Kana, q.Birth, sex, q.Address}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
