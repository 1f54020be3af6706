package store

import (
	"bytes"
	"context"
	"testing"

	"jukiterm/hwsim/synth"
	"jukiterm/store/record"
)

// BenchmarkIngest measures the whole ingest path for new persons (b.N persons).
func BenchmarkIngest(b *testing.B) {
	var buf bytes.Buffer
	synth.EachResident(1, b.N, record.Akita(), func(_ int, n record.Notification) {
		buf.Write(mustJSON(n))
		buf.WriteByte('\n')
	})
	s := openTemp(b)
	b.ResetTimer()
	res, err := s.Ingest(context.Background(), &buf, IngestOptions{})
	if err != nil || res.Applied != b.N {
		b.Fatalf("%+v %v", res, err)
	}
}

// BenchmarkParse measures parsing and checking one notification.
func BenchmarkParse(b *testing.B) {
	line := mustJSON(synth.Residents(1, 1, record.Akita())[0])
	p := record.Akita()
	for b.Loop() {
		n, v := record.Parse(line)
		if v != nil {
			b.Fatal(v)
		}
		n.Hash()
		if v := record.Check(n, p); v != nil {
			b.Fatal(v)
		}
	}
}

func BenchmarkIngestCache256(b *testing.B) {
	cacheMiB = 256
	defer func() { cacheMiB = 16 }()
	BenchmarkIngest(b)
}
