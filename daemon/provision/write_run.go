package provision

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"

	"jukiterm/devices/media"
	"jukiterm/hsm"
	"jukiterm/store/record"
)

// writer is one run of Write.
type writer struct {
	ctx      context.Context
	vol      media.Volume
	p        *Provision
	items    []string
	rc       age.Recipient
	signer   crypto.Signer
	pub      *ecdsa.PublicKey
	der      []byte
	progress func(done, total int)
	dir      string

	done, total int
	file        string   // the file being written, for messages
	made        []string // names this run may have created, in order
	madeDir     bool
}

func (w *writer) run() (Manifest, error) {
	w.file = w.dir
	if err := w.vol.MkdirAll(w.dir); err != nil {
		return Manifest{}, err
	}
	w.madeDir = true
	for _, d := range []string{MediaDir, "."} {
		if err := w.vol.SyncDir(d); err != nil {
			return Manifest{}, err
		}
	}
	w.progress(0, w.total)
	m := w.manifest()
	for _, f := range []struct {
		name string
		body func(io.Writer) error
	}{{ResultsFile, w.results}, {NotFoundFile, w.notFound}, {LogFile, w.log}} {
		fi, err := w.writeFile(f.name, f.body)
		if err != nil {
			return Manifest{}, err
		}
		m.Files = append(m.Files, fi)
	}
	w.file = ManifestFile
	mb, err := m.marshal()
	if err != nil {
		return Manifest{}, err
	}
	digest := sha256.Sum256(mb)
	sig, err := w.signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return Manifest{}, fmt.Errorf("sign the manifest with the terminal's key: %w", err)
	}
	if !ecdsa.VerifyASN1(w.pub, digest[:], sig) {
		return Manifest{}, errors.New("the terminal key's signature of the manifest does not verify with its public key")
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{SigFile, sig}, {ManifestFile, mb}} {
		if _, err := w.writeFile(f.name, func(out io.Writer) error {
			_, err := out.Write(f.b)
			return err
		}); err != nil {
			return Manifest{}, err
		}
	}
	w.progress(w.total, w.total)
	return m, nil
}

func (w *writer) manifest() Manifest {
	p := w.p
	return Manifest{Kind: Kind, Format: FormatVersion, ID: p.ID, Application: p.Application,
		Recipient: ManifestRecipient{ID: p.Recipient.ID, Name: p.Recipient.Name, Basis: p.Recipient.Basis,
			AgeRecipient: p.Recipient.AgeRecipient},
		Items: w.items, Operator: p.Operator, TerminalID: p.TerminalID, Time: manifestTime(p),
		UpdateSeq: p.UpdateSeq, RequestSHA256: p.RequestSHA256,
		Counts: Counts{Queries: p.Queries, MatchedRows: len(p.Results), NotFound: len(p.NotFound), NationalRows: p.NationalRows},
		Files:  []FileInfo{}, Signer: Signer{PublicKey: w.der, Fingerprint: hsm.Fingerprint(w.pub)}}
}

// results writes results.csv encrypted: the header query_id and the recipient's
// items, then one row per match, streamed through age.
func (w *writer) results(out io.Writer) error {
	fns := make([]func(*record.Record) string, len(w.items))
	for i, name := range w.items {
		fns[i] = items[itemIndex(name)].value
	}
	row := make([]string, 1+len(w.items))
	return w.encryptCSV(out, append([]string{"query_id"}, w.items...), len(w.p.Results), func(i int) []string {
		r := &w.p.Results[i]
		row[0] = r.QueryID
		for j, f := range fns {
			row[j+1] = f(&r.Person)
		}
		return row
	})
}

// notFound writes not-found.csv encrypted: query_id, then one row per query that
// matched nobody.
func (w *writer) notFound(out io.Writer) error {
	row := make([]string, 1)
	return w.encryptCSV(out, []string{"query_id"}, len(w.p.NotFound), func(i int) []string {
		row[0] = w.p.NotFound[i]
		return row
	})
}

// encryptCSV writes header, then the n rows row(i), as CSV encrypted to the recipient,
// counting rows for progress and stopping when ctx is done.
func (w *writer) encryptCSV(out io.Writer, header []string, n int, row func(int) []string) error {
	aw, err := age.Encrypt(out, w.rc)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(aw)
	if err := cw.Write(header); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := cw.Write(row(i)); err != nil {
			return err
		}
		if w.done++; w.done%progressEvery == 0 {
			w.progress(w.done, w.total)
			if err := w.ctx.Err(); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return aw.Close()
}

// log writes provision.log: one line for this provision, no personal data.
func (w *writer) log(out io.Writer) error {
	_, err := io.WriteString(out, logLine(w.p, w.items))
	return err
}
