package link

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
)

// FuzzRecv feeds arbitrary bytes to Conn.Recv, frame after frame: it never panics, never
// returns a frame over the limit or an empty one, fails only with the framing's own
// errors or the peer's Error, and every frame it returns survives Send and Recv again.
// The committed corpus (testdata/fuzz/FuzzRecv) holds each message and broken frames.
func FuzzRecv(f *testing.F) {
	for _, fr := range everyFrame() {
		var b bytes.Buffer
		c := newConn(&b, &b)
		if err := c.Send(fr); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newConn(bytes.NewReader(data), &bytes.Buffer{})
		for range 64 {
			fr, err := c.Recv()
			if err != nil {
				var pe *PeerError
				if !errors.Is(err, ErrClosed) && !errors.Is(err, ErrBadFrame) && !errors.Is(err, ErrFrameTooLarge) && !errors.As(err, &pe) {
					t.Fatalf("unexpected kind of error: %v", err)
				}
				return
			}
			if fr.GetBody() == nil {
				t.Fatal("Recv returned an empty frame")
			}
			if n := proto.Size(fr); n > MaxFrameSize {
				t.Fatalf("Recv returned a frame of %d bytes", n)
			}
			var b bytes.Buffer
			again := newConn(&b, &b)
			if err := again.Send(fr); err != nil {
				t.Fatalf("a received frame cannot be sent: %v", err)
			}
			back, err := again.Recv()
			if err != nil || !proto.Equal(back, fr) {
				t.Fatalf("round trip: %v, %v", back, err)
			}
		}
	})
}

// FuzzParseFingerprint: any text either fails or gives a fingerprint that formats and
// parses back to itself.
func FuzzParseFingerprint(f *testing.F) {
	f.Add("3f2a 9c1b 0000 1111 2222 3333 4444 5555 6666 7777 8888 9999 aaaa bbbb cccc dddd")
	f.Add("sha256:3F2A9C1B00001111222233334444555566667777888899990AAAABBBBCCCCDD")
	f.Add("3f:2a")
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := ParseFingerprint(s)
		if err != nil {
			if !errors.Is(err, ErrBadPin) {
				t.Fatalf("unexpected kind of error: %v", err)
			}
			return
		}
		back, err := ParseFingerprint(FormatFingerprint(fp))
		if err != nil || back != fp {
			t.Fatalf("%q: formatted %q parses to %x, %v", s, FormatFingerprint(fp), back, err)
		}
	})
}
