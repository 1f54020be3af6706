package provision

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"jukiterm/devices/media"
	"jukiterm/hsm"
	"jukiterm/store/record"
)

// progressEvery is how many rows pass between two calls of the progress function.
const progressEvery = 512

// Write puts provision p on the medium's volume as the directory jukiterm/ID/: the
// results and the not-found list encrypted with age to the recipient, provision.log,
// then the manifest's signature (made with signer, the terminal's HSM key) and the
// manifest last. Each file is written under a temporary name, synced, renamed and its
// directory synced, so that a manifest exists only for complete output.
//
// It checks p and the medium's free space before writing anything. If writing fails
// (the medium is removed, full, ctx is cancelled) it removes what this run wrote, as
// far as it can, and returns a *WriteError that says what happened. progress, if not
// nil, is called with the rows written so far (results and not-found) and the total.
func Write(ctx context.Context, vol media.Volume, p Provision, signer crypto.Signer, progress func(done, total int)) (Manifest, error) {
	its, rc, err := p.check()
	if err != nil {
		return Manifest{}, err
	}
	pub, der, err := signerKey(signer)
	if err != nil {
		return Manifest{}, fmt.Errorf("provision %s not written, nothing was written to the medium: %w", p.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return Manifest{}, fmt.Errorf("provision %s not written, nothing was written to the medium: %w", p.ID, err)
	}
	dir := path.Join(MediaDir, p.ID)
	if _, err := vol.ReadDir(dir); err == nil {
		return Manifest{}, fmt.Errorf("provision %s not written: %s exists on the medium already, and a provision is never written twice under one id; nothing was written", p.ID, dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, fmt.Errorf("provision %s not written: the medium could not be read (%w); check that it is in place, then give the provision again. Nothing was written", p.ID, err)
	}
	need := estimate(&p, its)
	free, err := vol.Free()
	if err != nil {
		return Manifest{}, fmt.Errorf("provision %s not written: the medium's free space could not be read (%w); check that it is in place, then give the provision again. Nothing was written", p.ID, err)
	}
	if free < need {
		return Manifest{}, fmt.Errorf("provision %s not written: %w: it has %s free, the output needs about %s. Use an empty or larger medium; nothing was written", p.ID, ErrNoSpace, megabytes(free), megabytes(need))
	}
	if progress == nil {
		progress = func(int, int) {}
	}
	w := &writer{ctx: ctx, vol: vol, p: &p, items: its, rc: rc, signer: signer, pub: pub, der: der,
		progress: progress, dir: dir, total: len(p.Results) + len(p.NotFound)}
	m, err := w.run()
	if err != nil {
		return Manifest{}, w.fail(err)
	}
	return m, nil
}

// signerKey checks that signer holds an ECDSA P-256 key, the only kind a terminal
// signs with, and returns its public half.
func signerKey(signer crypto.Signer) (*ecdsa.PublicKey, []byte, error) {
	if signer == nil {
		return nil, nil, errors.New("no signing key was given")
	}
	der, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("the signing key: %w", err)
	}
	pub, err := hsm.ParsePublicKeyDER(der)
	if err != nil {
		return nil, nil, fmt.Errorf("the signing key: %w", err)
	}
	return pub, der, nil
}

// estimate is an upper bound of the space the output takes: the CSV text (each field
// with room for quotes), age's header and 16 bytes per 64 KiB chunk, and slack for
// the small files and the file system's allocation units.
func estimate(p *Provision, its []string) int64 {
	plain := int64(len("query_id")) + 1
	for _, it := range its {
		plain += int64(len(it)) + 1
	}
	fns := make([]func(*record.Record) string, len(its))
	for i, name := range its {
		fns[i] = items[itemIndex(name)].value
	}
	for i := range p.Results {
		plain += int64(len(p.Results[i].QueryID)) + 3
		for _, f := range fns {
			plain += int64(len(f(&p.Results[i].Person))) + 3
		}
	}
	nf := int64(len("query_id")) + 1
	for _, id := range p.NotFound {
		nf += int64(len(id)) + 3
	}
	enc := func(n int64) int64 { return n + (n/(64<<10)+1)*16 + 1024 }
	return enc(plain) + enc(nf) + 256<<10
}

func megabytes(n int64) string {
	if n < 1e6 {
		return fmt.Sprintf("%.2f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
