// Package load puts synthetic residents (hwsim/synth) into a store through the normal
// ingest path: the demo data set of `make run` and the whole-pipeline benchmarks.
package load

import (
	"bufio"
	"context"
	"encoding/json"
	"io"

	"jukiterm/hwsim/synth"
	"jukiterm/store"
	"jukiterm/store/record"
)

// WriteResidents writes n synthetic residents as entering notifications (JSON Lines).
func WriteResidents(w io.Writer, seed uint64, n int, p *record.Prefecture) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var err error
	synth.EachResident(seed, n, p, func(_ int, r record.Notification) {
		if err != nil {
			return
		}
		var b []byte
		if b, err = json.Marshal(&r); err == nil {
			b = append(b, '\n')
			_, err = bw.Write(b)
		}
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// Residents ingests n synthetic residents into st, streaming them through a pipe.
func Residents(ctx context.Context, st *store.Store, seed uint64, n int) (store.IngestResult, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(WriteResidents(pw, seed, n, st.Prefecture())) }()
	defer pr.Close()
	return st.Ingest(ctx, pr, store.IngestOptions{})
}
