package daemon

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"

	"jukiterm/daemon/api"
	"jukiterm/daemon/provision"
	"jukiterm/devices/media"
	"jukiterm/store"
)

// writeAndCheck writes p to vol and reads it back; it returns the manifest's SHA-256.
func (s *Server) writeAndCheck(ctx context.Context, vol media.Volume, p provision.Provision, progress func(api.ProvisionProgress)) (string, error) {
	if _, err := provision.Write(ctx, vol, p, s.media.Signer, func(done, total int) {
		progress(api.ProvisionProgress{Stage: "write", Done: done, Total: total})
	}); err != nil {
		return "", err
	}
	pub, ok := s.media.Signer.Public().(*ecdsa.PublicKey)
	if !ok {
		return "", errors.New("the signing key is not an ECDSA key")
	}
	sum, err := provision.VerifyVolume(vol, p.ID, pub)
	if err != nil {
		return "", &readBackError{err}
	}
	return sum, nil
}

// readBackError: the provision was written whole but did not read back as written.
type readBackError struct{ err error }

func (e *readBackError) Error() string { return "reading it back: " + e.err.Error() }
func (e *readBackError) Unwrap() error { return e.err }

// provisionFailed records a provision that was not written, or was written but could
// not be read back; in that case its files are taken off the medium if it is still
// there. When they cannot be (the stick was pulled after the last file was durable),
// the medium may hold it whole: it is recorded as unverified.
func (s *Server) provisionFailed(ctx context.Context, vol media.Volume, rec store.ProvisionRecord, err error) error {
	var we *provision.WriteError
	var rb *readBackError
	maybe := errors.As(err, &rb) || errors.As(err, &we) && we.MayBeComplete
	rec.Outcome, rec.Message = store.ProvisionFailed, err.Error()
	msg := fmt.Sprintf("provision %s failed: %v. The medium holds no valid output of it; put the medium back, unlocked, and run the provision again", rec.ID, err)
	if maybe {
		if rerr := provision.Remove(vol, rec.ID); rerr == nil {
			rec.Message = err.Error() + "; its files were taken off the medium"
			msg = fmt.Sprintf("provision %s was written but did not read back as written (%v): it was taken off the medium. Run the provision again, on another medium if this happens again", rec.ID, err)
		} else {
			rec.Outcome = store.ProvisionUnverified
			msg = fmt.Sprintf("provision %s was written whole, but the terminal could not read it back or take it off the medium (%v). Do not hand the medium over yet: put it back and check it with `jukiterm media verify --signer SIGNING.PUB DIR`; if it is refused, delete %s/%s/ from it", rec.ID, err, provision.MediaDir, rec.ID)
		}
	}
	s.log.Error("provision not written", "id", rec.ID, "medium", rec.Medium, "outcome", rec.Outcome, "err", err)
	s.recordOutcome(ctx, rec)
	kind := api.KindInternal
	if rec.Outcome == store.ProvisionUnverified {
		kind = api.KindUnverified
	}
	return &api.Error{Kind: kind, Message: msg}
}

// unrecorded handles a provision written and read back whose record could not be
// made: it must not leave the terminal unaccounted, so it is taken off the medium.
func (s *Server) unrecorded(vol media.Volume, rec store.ProvisionRecord, err error) error {
	s.log.Error("a written provision could not be recorded: taking it off the medium", "id", rec.ID, "err", err)
	if rerr := provision.Remove(vol, rec.ID); rerr != nil {
		return &api.Error{Kind: api.KindInternal, Message: fmt.Sprintf(
			"provision %s was written, but the terminal could not record it (%v) nor take it off the medium (%v): do not hand the medium over; delete %s/%s/ from it and tell the administrator",
			rec.ID, err, rerr, provision.MediaDir, rec.ID)}
	}
	return &api.Error{Kind: api.KindInternal, Message: fmt.Sprintf(
		"provision %s could not be recorded by the terminal (%v), so it was taken off the medium: tell the administrator", rec.ID, err)}
}

// recordOutcome records a provision that did not end as written (its provision.writing
// entry is in the log already).
func (s *Server) recordOutcome(ctx context.Context, rec store.ProvisionRecord) {
	if err := s.store.RecordProvision(context.WithoutCancel(ctx), rec); err != nil {
		s.log.Error("the provision's outcome could not be recorded", "id", rec.ID, "outcome", rec.Outcome, "err", err)
	}
}

// providedUnder counts the records provided under an application so far (written, and
// unverified ones, which may have been).
func (s *Server) providedUnder(ctx context.Context, app string) int {
	n := 0
	if ps, err := s.store.Provisions(ctx, app); err == nil {
		for _, x := range ps {
			if x.Outcome != store.ProvisionFailed {
				n += x.Matched
			}
		}
	}
	return n
}
