package store

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// ConsistencyProof proves that the tree of OldSize entries is a prefix of the tree of
// NewSize entries (RFC 6962 consistency proof, as tlog computes it): a checker with
// two signed checkpoints of those sizes runs tlog.CheckTree(Proof, NewSize, new root,
// OldSize, old root) with the checkpoints' roots. The roots here are the ones the
// stored hashes give, to compare with the checkpoints'.
type ConsistencyProof struct {
	OldSize int64          `json:"old_size"`
	NewSize int64          `json:"new_size"`
	OldRoot tlog.Hash      `json:"old_root"`
	NewRoot tlog.Hash      `json:"new_root"`
	Proof   tlog.TreeProof `json:"proof"`
}

// ProveConsistency returns the proof that the tree of oldSize entries is a prefix of
// the tree of newSize entries, with both roots.
func (s *Store) ProveConsistency(ctx context.Context, oldSize, newSize int64) (ConsistencyProof, error) {
	p := ConsistencyProof{OldSize: oldSize, NewSize: newSize}
	tx, n, err := s.readTree(ctx)
	if err != nil {
		return p, err
	}
	defer tx.Rollback()
	if oldSize < 1 || oldSize > newSize || newSize > n {
		return p, fmt.Errorf("no consistency proof from %d to %d entries (the log has %d): give two tree sizes, the older first, each at least 1 and at most the log's size", oldSize, newSize, n)
	}
	hr := dbHashes{ctx, tx}
	if p.OldRoot, err = tlog.TreeHash(oldSize, hr); err != nil {
		return p, fmt.Errorf("the root of the tree of %d entries: %w", oldSize, err)
	}
	if p.NewRoot, err = tlog.TreeHash(newSize, hr); err != nil {
		return p, fmt.Errorf("the root of the tree of %d entries: %w", newSize, err)
	}
	if p.Proof, err = tlog.ProveTree(newSize, oldSize, hr); err != nil {
		return p, fmt.Errorf("prove %d entries consistent with %d: %w", newSize, oldSize, err)
	}
	return p, nil
}

// CheckConsistency checks p between two verified checkpoints.
func CheckConsistency(p ConsistencyProof, old, new Checkpoint) error {
	if old.Size != p.OldSize || new.Size != p.NewSize {
		return fmt.Errorf("the proof is from %d to %d entries, the checkpoints are of %d and %d", p.OldSize, p.NewSize, old.Size, new.Size)
	}
	if err := tlog.CheckTree(p.Proof, new.Size, new.Root, old.Size, old.Root); err != nil {
		return fmt.Errorf("the checkpoint of %d entries is not consistent with that of %d: %w", new.Size, old.Size, err)
	}
	return nil
}
