package provision

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"jukiterm/devices/media"
)

// WriteError says that Write failed after it began writing to the medium. Unless
// MayBeComplete, the medium holds no valid output of the run: there is no manifest,
// and Open refuses a directory without one.
type WriteError struct {
	ID   string
	File string // the file being written when it failed
	Err  error  // wraps media.ErrGone, syscall.ENOSPC, context.Canceled, …
	// Leftovers: some files of the run could not be removed (the medium was gone).
	Leftovers bool
	// MayBeComplete: the failure came after every file, the manifest included, was
	// written and synced, and the manifest could not be removed; the medium may hold
	// the complete, valid output (Open tells).
	MayBeComplete bool
}

func (e *WriteError) Unwrap() error { return e.Err }

func (e *WriteError) Error() string {
	what, next := "writing to the medium failed", "check the medium and give the provision again"
	switch {
	case errors.Is(e.Err, media.ErrGone):
		what, next = "the medium was removed", "put the medium back in (or take another) and give the provision again"
	case errors.Is(e.Err, syscall.ENOSPC):
		what, next = "the medium is full", "give the provision again on an empty or larger medium"
	case errors.Is(e.Err, context.Canceled):
		what, next = "the provision was cancelled", "give the provision again when it is wanted"
	case errors.Is(e.Err, context.DeadlineExceeded):
		what, next = "the provision took too long and was stopped", "give the provision again"
	case errors.Is(e.Err, syscall.EIO):
		what, next = "the medium could not be written (input/output error: it was removed or is faulty)", "give the provision again on another medium"
	}
	s := fmt.Sprintf("provision %s: %s while writing %s (%v). ", e.ID, what, e.File, e.Err)
	if e.MayBeComplete {
		return s + fmt.Sprintf("All its files had been written, but it is not known whether the medium kept them: check the medium with `jukiterm media open` before it is issued; if it is refused, delete %s/%s/ from it and %s.", MediaDir, e.ID, next)
	}
	s += "The medium holds no valid output from this run"
	if e.Leftovers {
		s += fmt.Sprintf(" (files of the unfinished run may remain in %s/%s/ without a manifest, and cannot be opened: delete that directory before the medium is issued)", MediaDir, e.ID)
	}
	return s + ". To go on, " + next + "."
}
