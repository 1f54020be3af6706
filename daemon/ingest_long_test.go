package daemon

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"jukiterm/hwsim/synth"
)

// TestOverlongLineThroughTheSocket repeats the attack through the socket: a 200 MB
// line is rejected as over-long while jukitermd's memory stays bounded (the client,
// the HTTP server and the store are all in this process: nothing may hold the line),
// and the rejection keeps only its first bytes.
func TestOverlongLineThroughTheSocket(t *testing.T) {
	f := start(t)
	data := residents(t, 2)
	first := data[:bytes.IndexByte(data, '\n')+1]
	const size = 200 << 20
	body := io.MultiReader(bytes.NewReader(first), strings.NewReader(`{"id":"huge","note":"`), synth.LongLine(size),
		bytes.NewReader(data[len(first):]))
	stored := fileBytes(f)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := f.cl.IngestStream(context.Background(), body, "", 0, nil)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 2 || res.Rejected != 1 || res.Rejections[0].Line != 2 || !strings.Contains(res.Rejections[0].Message, "longer than 64 KiB") {
		t.Fatalf("result: %+v", res)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Fatalf("an ingest of a %d MB line through the socket allocated %d MB: the line was held", size>>20, alloc>>20)
	}
	if grown := fileBytes(f) - stored; grown > 8<<20 {
		t.Fatalf("the identity file and its WAL grew by %d MB: the over-long line was kept", grown>>20)
	}
}

// fileBytes is the size of the fixture's identity file with its WAL.
func fileBytes(f *fixture) int64 {
	var n int64
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(filepath.Join(filepath.Dir(f.socket), "jukiterm.db"+suffix)); err == nil {
			n += fi.Size()
		}
	}
	return n
}
