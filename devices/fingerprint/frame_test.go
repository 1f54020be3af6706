package fingerprint

import (
	"bytes"
	"errors"
	"testing"
)

func sample() *Frame {
	f := &Frame{Kind: KindReply, Op: OpVerify, Status: StatusMatch, Seq: 1, Body: []byte{0, 0, 0, 5}}
	copy(f.Nonce[:], "0123456789abcdef")
	return f
}

func TestFrameRoundTrip(t *testing.T) {
	f := sample()
	key := bytes.Repeat([]byte{1}, KeySize)
	cmd := &Frame{Kind: KindCommand, Op: OpVerify, Nonce: f.Nonce}
	f.MAC = ReplyMAC(key, cmd, f)
	b := f.Marshal()
	if len(b) != HeaderSize+4+MACSize {
		t.Fatalf("length %d", len(b))
	}
	g, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if g.Op != f.Op || g.Status != f.Status || g.Seq != 1 || g.Nonce != f.Nonce || !bytes.Equal(g.Body, f.Body) {
		t.Errorf("parsed %+v", g)
	}
	if !VerifyMAC(ReplyMAC(key, cmd, &g), g.MAC) {
		t.Error("MAC does not verify after the round trip")
	}
	// The command and reply MACs are separated: a command's MAC is not a reply's.
	if CommandMAC(key, f) == ReplyMAC(key, cmd, f) {
		t.Error("command and reply MACs coincide")
	}
	// Another command (other nonce) gives another reply MAC.
	cmd2 := *cmd
	cmd2.Nonce[0] ^= 1
	if ReplyMAC(key, &cmd2, f) == f.MAC {
		t.Error("the reply MAC does not depend on the command")
	}
}

func TestParseRejects(t *testing.T) {
	good := sample().Marshal()
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for name, b := range map[string][]byte{
		"empty":         nil,
		"short":         good[:HeaderSize+MACSize-1],
		"magic":         mut(func(b []byte) []byte { b[0] = 'X'; return b }),
		"version":       mut(func(b []byte) []byte { b[2] = 2; return b }),
		"kind":          mut(func(b []byte) []byte { b[3] = 'Z'; return b }),
		"op":            mut(func(b []byte) []byte { b[4] = 99; return b }),
		"length longer": mut(func(b []byte) []byte { b[9]++; return b }),
		"trailing":      append(append([]byte(nil), good...), 0),
		"truncated":     good[:len(good)-1],
		"huge body":     mut(func(b []byte) []byte { b[8], b[9] = 0xff, 0xff; return b }),
		"command with status": func() []byte {
			f := sample()
			f.Kind, f.Seq = KindCommand, 0
			return f.Marshal()
		}(),
	} {
		if _, err := Parse(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

// FuzzParse: Parse never panics, and what it accepts marshals back to the same bytes.
// Seeds: testdata/fuzz/FuzzParse and the ones added here.
func FuzzParse(f *testing.F) {
	f.Add(sample().Marshal())
	f.Add((&Frame{Kind: KindCommand, Op: OpPair, Body: bytes.Repeat([]byte{7}, KeySize)}).Marshal())
	f.Add([]byte("JF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		if out := fr.Marshal(); !bytes.Equal(out, b) {
			t.Fatalf("round trip changed the frame:\n in  %x\n out %x", b, out)
		}
		if len(fr.Body) > MaxBody {
			t.Fatalf("body of %d bytes accepted", len(fr.Body))
		}
	})
}
