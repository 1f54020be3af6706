package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"jukiterm/daemon/atomicfile"
)

// ErrInconsistent says a checkpoint would not be consistent with one signed before:
// the log was altered, truncated or rolled back. Nothing is signed.
var ErrInconsistent = errors.New("the operation log is not consistent with its last signed checkpoint: nothing was signed; run jukiterm audit verify and report a possible tampering")

// LogSize returns the number of entries in the operation log.
func (s *Store) LogSize() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.n
}

// Checkpoint signs the log's current tree head with signer and records it, after
// checking that the tree is consistent with the last checkpoint signed (and with the
// newest exported one CheckExported was given): the store never signs two
// inconsistent checkpoints. With no entry since the last checkpoint it returns that
// one again. The note is a C2SP tlog-checkpoint for origin. It holds the writer's
// lock from the check to the record, signing included (one HSM signature).
func (s *Store) Checkpoint(ctx context.Context, signer *NoteSigner, origin string) ([]byte, error) {
	if !validText(origin, 256) {
		return nil, fmt.Errorf("checkpoint origin %q: give a one-line name (e.g. jukiterm.example/terminal-01)", origin)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.gc == nil {
		return nil, ErrLogClosed
	}
	if s.forked != nil {
		return nil, fmt.Errorf("%w: %w", ErrInconsistent, s.forked)
	}
	n := s.log.n
	if n == 0 {
		return nil, errors.New("the operation log is empty: there is nothing to checkpoint yet")
	}
	root, err := tlog.TreeHash(n, &s.log.front)
	if err != nil {
		return nil, err
	}
	last, err := s.lastCheckpoint(ctx, s.w, signer.Verifiers())
	if err != nil {
		return nil, err
	}
	for _, prev := range []*Checkpoint{last, s.anchor} {
		if prev == nil {
			continue
		}
		if err := s.consistent(ctx, prev, n, root); err != nil {
			return nil, err
		}
	}
	if last != nil && last.Size == n {
		return last.Note, nil
	}
	msg, err := note.Sign(&note.Note{Text: FormatCheckpoint(origin, n, root)}, signer)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO oplog_checkpoints (size, note) VALUES (?, ?)`, n, msg); err != nil {
		return nil, fmt.Errorf("record checkpoint: %w", err)
	}
	return msg, nil
}

// consistent checks, with a proof from the stored hashes, that the tree of n entries
// with root extends prev. The caller holds s.mu.
func (s *Store) consistent(ctx context.Context, prev *Checkpoint, n int64, root tlog.Hash) error {
	switch {
	case prev.Size > n:
		return fmt.Errorf("%w (the log has %d entries, a checkpoint covers %d: truncated or rolled back)", ErrInconsistent, n, prev.Size)
	case prev.Size == n:
		if prev.Root != root {
			return fmt.Errorf("%w (tree of %d entries, other root)", ErrInconsistent, n)
		}
		return nil
	}
	p, err := tlog.ProveTree(n, prev.Size, dbHashes{ctx, s.w})
	if err != nil {
		return fmt.Errorf("%w (%w)", ErrInconsistent, err)
	}
	if err := tlog.CheckTree(p, n, root, prev.Size, prev.Root); err != nil {
		return fmt.Errorf("%w (from %d to %d entries: %w)", ErrInconsistent, prev.Size, n, err)
	}
	return nil
}

// lastCheckpoint reads and checks the newest checkpoint recorded; nil if none.
func (s *Store) lastCheckpoint(ctx context.Context, q queryer, v note.Verifiers) (*Checkpoint, error) {
	var size int64
	var msg []byte
	err := q.QueryRowContext(ctx, `SELECT size, note FROM oplog_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&size, &msg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the last checkpoint: %w", err)
	}
	c, err := OpenCheckpoint(msg, v)
	if err != nil {
		return nil, fmt.Errorf("%w: the last recorded checkpoint: %w", ErrInconsistent, err)
	}
	if c.Size != size {
		return nil, fmt.Errorf("%w: the checkpoint recorded at size %d says %d", ErrInconsistent, size, c.Size)
	}
	return &c, nil
}

// LatestCheckpoint returns the newest checkpoint recorded, checked with v; nil if none.
func (s *Store) LatestCheckpoint(ctx context.Context, v note.Verifiers) (*Checkpoint, error) {
	return s.lastCheckpoint(ctx, s.r, v)
}

// NeedsCheckpoint tells whether a checkpoint is due: every entries or more since the
// last one, or an entry not yet signed for maxAge or longer (by the entry's time).
// The daemon asks on a ticker and after appends, and calls Checkpoint when it says so.
func (s *Store) NeedsCheckpoint(ctx context.Context, every int64, maxAge time.Duration) (bool, error) {
	n := s.LogSize()
	var size int64
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(size), 0) FROM oplog_checkpoints`).Scan(&size); err != nil {
		return false, fmt.Errorf("read the last checkpoint: %w", err)
	}
	if n <= size {
		return false, nil
	}
	if n-size >= every {
		return true, nil
	}
	var at int64 // the oldest entry not covered yet
	if err := s.r.QueryRowContext(ctx, `SELECT at FROM oplog WHERE idx = ?`, size).Scan(&at); err != nil {
		return false, fmt.Errorf("read entry %d: %w", size, err)
	}
	return s.now().Sub(time.Unix(0, at)) >= maxAge, nil
}

// CheckExported checks the file against a checkpoint exported earlier (the newest on
// the export medium, say): the log must hold at least its entries and the same tree
// over them. Afterwards Checkpoint also refuses to sign anything inconsistent with
// it. The daemon calls it at start; it reads O(log n) stored hashes, where VerifyLog
// recomputes everything.
func (s *Store) CheckExported(ctx context.Context, msg []byte, v note.Verifiers) error {
	c, err := OpenCheckpoint(msg, v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A file that fails here is never checkpointed again by this Store: signing its
	// tree would make a second history beside the exported one.
	fail := func(err error) error {
		s.forked = err
		return err
	}
	if c.Size > s.log.n {
		return fail(fmt.Errorf("%w (the log has %d entries, the exported checkpoint covers %d: the file was truncated or rolled back)", ErrInconsistent, s.log.n, c.Size))
	}
	root, err := tlog.TreeHash(c.Size, dbHashes{ctx, s.w})
	if err != nil {
		return fail(fmt.Errorf("%w (%w)", ErrInconsistent, err))
	}
	if root != c.Root {
		return fail(fmt.Errorf("%w (the tree of the first %d entries differs from the exported checkpoint's: the file was rolled back or altered)", ErrInconsistent, c.Size))
	}
	if s.anchor == nil || c.Size > s.anchor.Size {
		s.anchor = &c
	}
	return nil
}

// ExportCheckpoint writes a signed checkpoint into dir as checkpoint-SIZE (20
// digits, so names sort by size), atomically: a temporary file, fsync, rename, fsync
// of the directory. It returns the file's path.
func ExportCheckpoint(dir string, msg []byte) (string, error) {
	n, err := note.Open(msg, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if errors.As(err, &unverified) {
		n = unverified.Note
	} else if err != nil {
		return "", fmt.Errorf("export checkpoint: %w", err)
	}
	_, size, _, err := ParseCheckpoint(n.Text)
	if err != nil {
		return "", err
	}
	path := ExportedPath(dir, size)
	if err := atomicfile.Write(path, msg, 0o600); err != nil {
		return "", fmt.Errorf("export checkpoint to %s: %w (check the export directory's medium and permissions)", dir, err)
	}
	return path, nil
}

// ExportedPath is the path of the exported checkpoint of size entries in dir.
func ExportedPath(dir string, size int64) string {
	return filepath.Join(dir, fmt.Sprintf("checkpoint-%020d", size))
}

// LatestExported returns the newest checkpoint in an export directory (nil, nil when
// there is none).
func LatestExported(dir string) ([]byte, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read the checkpoint export directory: %w", err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "checkpoint-") && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	slices.Sort(names)
	return os.ReadFile(filepath.Join(dir, names[len(names)-1]))
}
