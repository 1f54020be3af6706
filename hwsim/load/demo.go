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
	stream := synth.NewStream(DemoSeed, synth.Residents(DemoSeed, n, st.Prefecture()), st.Prefecture(),
		synth.StreamOptions{Duplicates: -1})
	var buf bytes.Buffer
	for i := 0; i < n/20; i++ {
		it := stream.Next()
		buf.Write(it.Line)
		buf.WriteByte('\n')
		if example == "" {
			if n, v := record.Parse(it.Line); v == nil && n.Reason == record.Tenkyo {
				example = n.ResidentCode
			}
		}
	}
	res, err = st.Ingest(ctx, &buf, store.IngestOptions{})
	if err != nil {
		return "", err
	}
	if res.Rejected > 0 {
		return "", fmt.Errorf("demo changes: %d rejected, first: %+v", res.Rejected, res.Rejections[0])
	}
	return example, nil
}
