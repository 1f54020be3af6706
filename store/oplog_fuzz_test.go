package store

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// fuzzSigner has a fixed key, so that the seed corpus's notes verify in every run.
var fuzzSigner = func() *NoteSigner {
	d := sha256.Sum256([]byte("jukiterm fuzz checkpoint key"))
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
	if err != nil {
		panic(err)
	}
	s, err := NewNoteSigner("jukiterm.test/fuzz", key)
	if err != nil {
		panic(err)
	}
	return s
}()

func signedCheckpoint(t testing.TB, origin string, size int64, root tlog.Hash, ext string) []byte {
	msg, err := note.Sign(&note.Note{Text: FormatCheckpoint(origin, size, root) + ext}, fuzzSigner)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// FuzzOpenCheckpoint: any input either opens as a checkpoint that the fuzz key
// signed — and then it is byte for byte a note that key made — or is refused; it
// never panics. The seed corpus (testdata) holds good notes and damaged ones.
func FuzzOpenCheckpoint(f *testing.F) {
	good := map[string]bool{}
	for _, n := range []int64{1, 7, 1 << 40} {
		root := tlog.RecordHash([]byte{byte(n)})
		for _, ext := range []string{"", "extension line\n"} {
			msg := signedCheckpoint(f, "jukiterm.test/terminal-01/oplog", n, root, ext)
			good[string(msg)] = true
			f.Add(msg)
			f.Add(bytes.Replace(msg, []byte("\n\n"), []byte("\n"), 1))
			f.Add(msg[:len(msg)-2])
		}
	}
	f.Add([]byte("origin\n1\nnot base64\n\n— jukiterm.test/fuzz AAAA\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		c, err := OpenCheckpoint(msg, fuzzSigner.Verifier())
		if err != nil {
			return
		}
		// Verified: it must be a checkpoint the key signed, read back as written.
		if c.Size < 0 || c.Origin == "" || strings.ContainsRune(c.Origin, '\n') {
			t.Fatalf("opened %q as %+v", msg, c)
		}
		n, _ := note.Open(msg, note.VerifierList(fuzzSigner.Verifier()))
		o, size, root, err := ParseCheckpoint(n.Text)
		if err != nil || o != c.Origin || size != c.Size || root != c.Root ||
			!strings.HasPrefix(n.Text, FormatCheckpoint(o, size, root)) {
			t.Fatalf("opened %q but its text reads %q", msg, n.Text)
		}
	})
}

// FuzzParseCheckpoint: a body that parses formats back to its first three lines.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add("jukiterm.test/terminal-01/oplog\n12\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
	f.Add("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n")
	f.Add("o\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
	f.Add("o\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n")
	f.Fuzz(func(t *testing.T, text string) {
		o, size, root, err := ParseCheckpoint(text)
		if err != nil {
			return
		}
		if !strings.HasPrefix(text, FormatCheckpoint(o, size, root)) {
			t.Fatalf("%q parsed as (%q, %d, %v)", text, o, size, root)
		}
	})
}

// TestOpenCheckpointRefuses: damaged notes and other keys are refused.
func TestOpenCheckpointRefuses(t *testing.T) {
	var root tlog.Hash
	msg := signedCheckpoint(t, "o", 3, root, "")
	if _, err := OpenCheckpoint(msg, fuzzSigner.Verifier()); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(msg, testSigner.Verifier()); err == nil {
		t.Fatal("opened with another key")
	}
	for i := range msg {
		b := bytes.Clone(msg)
		b[i] ^= 0x01
		if _, err := OpenCheckpoint(b, fuzzSigner.Verifier()); err == nil {
			t.Fatalf("byte %d changed and still opens", i)
		}
	}
}
