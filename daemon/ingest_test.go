package daemon

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// The body is applied as it arrives: the first batch is durable and reported while
// the rest of the file has not been sent yet (jukitermd never waits for, or holds, the
// whole file).
func TestIngestStreamsTheBody(t *testing.T) {
	f := start(t)
	data := residents(t, 1500)
	cut := 0
	for range 1000 {
		cut += bytes.IndexByte(data[cut:], '\n') + 1
	}
	pr, pw := io.Pipe()
	firstBatch := make(chan api.Progress, 4)
	go pw.Write(data[:cut])
	type out struct {
		res store.IngestResult
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := f.cl.IngestStream(context.Background(), pr, store.SourceOf(data), 1500, func(p api.Progress) { firstBatch <- p })
		done <- out{res, err}
	}()
	select {
	case p := <-firstBatch:
		if p.Lines != 1000 || p.Total != 1500 {
			t.Fatalf("first progress: %+v", p)
		}
	case <-time.After(20 * time.Second):
		pw.CloseWithError(errors.New("test gave up"))
		t.Fatal("no batch was applied before the end of the body")
	}
	pw.Write(data[cut:])
	pw.Close()
	o := <-done
	if o.err != nil || o.res.Applied != 1500 {
		t.Fatalf("ingest: %+v %v", o.res, o.err)
	}
}

// A body that is not the file its header names is refused at the end with what to
// do, and the ingest is logged under the signed-in operator with the codes keyed.
func TestIngestChecksTheDeclaredFile(t *testing.T) {
	f := start(t)
	data := residents(t, 5)
	res, err := f.cl.IngestStream(context.Background(), bytes.NewReader(data), store.SourceOf([]byte("other")), 5, nil)
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Kind != api.KindBadRequest || !strings.Contains(ae.Message, "will not be resumed") || res.Applied != 5 {
		t.Fatalf("a body that is not the named file: %+v %v", res, err)
	}
	_, err = f.cl.IngestStream(context.Background(), bytes.NewReader(data), "NOT-A-SHA", 5, nil)
	if !errors.As(err, &ae) || ae.Kind != api.KindBadRequest || !strings.Contains(ae.Message, "nothing was applied") {
		t.Fatalf("a malformed file name: %v", err)
	}
	code := string(data[bytes.Index(data, []byte(`"resident_code":"`))+17:][:11])
	hits, err := f.st.Lookup(context.Background(), code)
	if err != nil || len(hits) != 1 || hits[0].Operator != "tester" || hits[0].Action != "ingest.batch" || !slices.Contains(hits[0].Fields, "resident_code") {
		t.Fatalf("audit lookup of an ingested code: %+v %v", hits, err)
	}
}
