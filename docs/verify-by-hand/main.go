// Command verify-tlog checks jukiterm's operation-log checkpoints and proofs with
// golang.org/x/mod alone (and Go's standard library), as a third party would: it uses
// no code of jukiterm. docs/verify-by-hand.sh builds and runs it; docs/oplog.md
// describes every byte it reads.
//
//	verify-tlog checkpoint  PUB.pem CHECKPOINT
//	verify-tlog consistency PUB.pem OLD_CHECKPOINT NEW_CHECKPOINT PROOF.json
//	verify-tlog inclusion   PUB.pem CHECKPOINT PROOF.json
//
// PUB.pem is the terminal's signing key (signing.pub, PEM SubjectPublicKeyInfo).
// PROOF.json is what `jukiterm audit consistency --json` or `jukiterm audit prove
// --json` printed. Each command prints one line saying what it checked and exits 0,
// or prints why not and exits 1.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "verify-tlog: FAIL:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	usage := errors.New("usage: verify-tlog checkpoint PUB.pem CP | consistency PUB.pem OLD_CP NEW_CP PROOF.json | inclusion PUB.pem CP PROOF.json")
	if len(args) < 3 {
		return usage
	}
	pub, err := readKey(args[1])
	if err != nil {
		return err
	}
	switch {
	case args[0] == "checkpoint" && len(args) == 3:
		c, err := openCheckpoint(pub, args[2])
		if err != nil {
			return err
		}
		fmt.Printf("OK checkpoint %s: origin %s, %d entries, root %s, signed by %s\n", args[2], c.origin, c.size, c.root, c.signer)
	case args[0] == "consistency" && len(args) == 5:
		old, err := openCheckpoint(pub, args[2])
		if err != nil {
			return err
		}
		new, err := openCheckpoint(pub, args[3])
		if err != nil {
			return err
		}
		var p struct {
			OldSize int64       `json:"old_size"`
			NewSize int64       `json:"new_size"`
			Proof   []tlog.Hash `json:"proof"`
		}
		if err := readJSON(args[4], &p); err != nil {
			return err
		}
		if p.OldSize != old.size || p.NewSize != new.size {
			return fmt.Errorf("%s proves %d→%d entries, the checkpoints are of %d and %d", args[4], p.OldSize, p.NewSize, old.size, new.size)
		}
		// The roots are the signed ones, never those printed beside the proof.
		if err := tlog.CheckTree(p.Proof, new.size, new.root, old.size, old.root); err != nil {
			return fmt.Errorf("the checkpoint of %d entries is not consistent with that of %d: %w", new.size, old.size, err)
		}
		fmt.Printf("OK consistency: the tree of %d entries (%s) is the start of the tree of %d entries (%s)\n", old.size, old.root, new.size, new.root)
	case args[0] == "inclusion" && len(args) == 4:
		c, err := openCheckpoint(pub, args[2])
		if err != nil {
			return err
		}
		var p struct {
			Index     int64       `json:"index"`
			TreeSize  int64       `json:"tree_size"`
			LeafBytes []byte      `json:"leaf_bytes"`
			Proof     []tlog.Hash `json:"proof"`
		}
		if err := readJSON(args[3], &p); err != nil {
			return err
		}
		if p.TreeSize != c.size {
			return fmt.Errorf("%s is a proof in the tree of %d entries, the checkpoint is of %d", args[3], p.TreeSize, c.size)
		}
		// The leaf bytes begin with version 0x01 and the entry's index (8 bytes, big-endian).
		if len(p.LeafBytes) < 9 || p.LeafBytes[0] != 0x01 || int64(binary.BigEndian.Uint64(p.LeafBytes[1:9])) != p.Index {
			return fmt.Errorf("the proof's leaf bytes are not those of entry %d", p.Index)
		}
		leaf := tlog.RecordHash(p.LeafBytes) // SHA-256(0x00 ‖ leaf bytes)
		if err := tlog.CheckRecord(p.Proof, c.size, c.root, p.Index, leaf); err != nil {
			return fmt.Errorf("entry %d is not proved in the signed tree of %d entries: %w", p.Index, c.size, err)
		}
		fmt.Printf("OK inclusion: entry %d (leaf hash %s) is in the signed tree of %d entries\n", p.Index, leaf, c.size)
	default:
		return usage
	}
	return nil
}

func readKey(path string) (*ecdsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s is not a PEM file", path)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ec, ok := k.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s is not an ECDSA P-256 key", path)
	}
	return ec, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// verifier is a signed-note verifier of algorithm 0x02 (ECDSA P-256, ASN.1 DER
// signature over SHA-256 of the note text) whose key hash is the first four bytes,
// big-endian, of SHA-256 of the key's DER SubjectPublicKeyInfo.
type verifier struct {
	name string
	hash uint32
	pub  *ecdsa.PublicKey
}

func (v verifier) Name() string    { return v.name }
func (v verifier) KeyHash() uint32 { return v.hash }
func (v verifier) Verify(msg, sig []byte) bool {
	d := sha256.Sum256(msg)
	return ecdsa.VerifyASN1(v.pub, d[:], sig)
}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
	signer string
}

// openCheckpoint checks a checkpoint note's signature by pub and parses its body
// (origin, tree size, base64 root; C2SP tlog-checkpoint). The key's name is taken
// from the signature line: the key itself is what is checked.
func openCheckpoint(pub *ecdsa.PublicKey, path string) (checkpoint, error) {
	var c checkpoint
	msg, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return c, err
	}
	sum := sha256.Sum256(der)
	v := verifier{hash: binary.BigEndian.Uint32(sum[:4]), pub: pub}
	_, sigs, _ := strings.Cut(string(msg), "\n\n")
	for _, l := range strings.Split(sigs, "\n") {
		f := strings.Fields(strings.TrimPrefix(l, "— "))
		if len(f) == 2 {
			if b, err := base64.StdEncoding.DecodeString(f[1]); err == nil && len(b) > 4 && binary.BigEndian.Uint32(b) == v.hash {
				v.name = f[0]
			}
		}
	}
	if v.name == "" {
		return c, fmt.Errorf("%s carries no signature by this key (key hash %08x)", path, v.hash)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return c, fmt.Errorf("%s: the signature does not verify: %w", path, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] == "" {
		return c, fmt.Errorf("%s: not a checkpoint body (origin, size, root)", path)
	}
	c.origin, c.signer = lines[0], v.name
	if c.size, err = strconv.ParseInt(lines[1], 10, 64); err != nil || c.size < 1 {
		return c, fmt.Errorf("%s: the tree size %q is not a number", path, lines[1])
	}
	if c.root, err = tlog.ParseHash(lines[2]); err != nil {
		return c, fmt.Errorf("%s: the root: %w", path, err)
	}
	return c, nil
}
