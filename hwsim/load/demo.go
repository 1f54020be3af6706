package load

import (
	"bytes"
	"context"
	"fmt"

	"jukiterm/hwsim/synth"
	"jukiterm/store"
	"jukiterm/store/record"
)

// DemoSeed makes the demo data set the same on every machine.
const DemoSeed = 20261125

// DemoPersons is the size of the demo data set `make run` loads (its PERSONS).
const DemoPersons = 100000

// Demo loads the demo data set into an empty store: n residents, then n/20 valid
// change notifications so that some persons have history. It returns the resident
// code of a person with history, to show in examples.
func Demo(ctx context.Context, st *store.Store, n int) (example string, err error) {
	res, err := Residents(ctx, st, DemoSeed, n)
	if err != nil {
		return "", err
	}
	if res.Rejected > 0 {
		return "", fmt.Errorf("demo residents: %d rejected, first: %+v", res.Rejected, res.Rejections[0])
	}
	var buf bytes.Buffer
	demoChanges(n, st.Prefecture(), func(line []byte) {
		buf.Write(line)
		buf.WriteByte('\n')
		if example == "" {
			if n, v := record.Parse(line); v == nil && n.Reason == record.Tenkyo {
				example = n.ResidentCode
			}
		}
	})
	res, err = st.Ingest(ctx, &buf, store.IngestOptions{})
	if err != nil {
		return "", err
	}
	if res.Rejected > 0 {
		return "", fmt.Errorf("demo changes: %d rejected, first: %+v", res.Rejected, res.Rejections[0])
	}
	return example, nil
}

// demoChanges makes the demo's change notifications for n residents, calling fn with
// each line, and returns the stream, which then stands where the demo file does.
func demoChanges(n int, p *record.Prefecture, fn func(line []byte)) *synth.Stream {
	stream := synth.NewStream(DemoSeed, synth.Residents(DemoSeed, n, p), p, synth.StreamOptions{Duplicates: -1})
	for range n / 20 {
		fn(stream.Next().Line)
	}
	return stream
}

// DemoStream returns a stream of change notifications that continues the demo data
// set of n residents (`jukitermd --demo N`, `make run`), as it stands after Demo:
// its valid notifications apply cleanly to the demo persons. o shapes what follows.
func DemoStream(n int, p *record.Prefecture, o synth.StreamOptions) *synth.Stream {
	s := demoChanges(n, p, func([]byte) {})
	s.SetOptions(o)
	return s
}
