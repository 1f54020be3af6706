package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// The proofs are printed so that a third party can check them with
// golang.org/x/mod/sumdb/tlog alone (docs/oplog.md, "Checking by hand"); jukiterm
// checks each one itself before printing it.

func (a *app) proveCmd() *cobra.Command {
	var size int64
	c := &cobra.Command{
		Use:   "prove N [--size M]",
		Short: "Print and check the inclusion proof of entry N in the tree of M entries",
		Long: "Print entry N's leaf bytes and leaf hash, the RFC 6962 inclusion proof (audit path)\n" +
			"and the root of the tree of M entries (default: the newest exported checkpoint's\n" +
			"size), checked here, and the exported checkpoint of M entries whose signed root\n" +
			"it must be. Hashes are base64 (docs/oplog.md says how to check them by hand).\n" +
			"Exit status 5 when the log's root differs from the exported checkpoint's.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			n, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || n < 0 {
				return withCode(exitUsage, errors.New("N is an entry's index (a number from 0)"))
			}
			if size < 0 {
				return withCode(exitUsage, errors.New("--size is a number of entries (at least N+1)"))
			}
			p, err := a.client().AuditProve(c.Context(), n, size)
			if err != nil {
				return err
			}
			if err := tlog.CheckRecord(p.Proof, p.TreeSize, p.Root, p.Index, tlog.RecordHash(p.LeafBytes)); err != nil || p.LeafHash != tlog.RecordHash(p.LeafBytes) {
				return withCode(exitTampered, fmt.Errorf("the proof jukitermd gave for entry %d does not verify against its root (%v): run jukiterm audit verify and report it", n, err))
			}
			if a.json {
				if err := printJSON(p); err != nil {
					return err
				}
			} else {
				fmt.Printf("Entry %d is in the tree of %d entries (the proof verifies).\n", p.Index, p.TreeSize)
				fmt.Printf("  leaf bytes:   %s\n", base64.StdEncoding.EncodeToString(p.LeafBytes))
				fmt.Printf("  leaf hash:    %s\n", p.LeafHash)
				fmt.Printf("  proof hashes: %d, from the leaf's neighbour up to the root\n", len(p.Proof))
				for _, h := range p.Proof {
					fmt.Printf("                %s\n", h)
				}
				fmt.Printf("  root at %d:  %s\n", p.TreeSize, p.Root)
				printMatch(p.TreeSize, p.Checkpoint)
			}
			return mismatch(p.Checkpoint)
		},
	}
	c.Flags().Int64Var(&size, "size", 0, "the tree size M (an exported checkpoint's); default: the newest exported checkpoint's")
	return a.addJSON(c)
}

func (a *app) consistencyCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "consistency OLD [NEW]",
		Short: "Print and check the consistency proof between two tree sizes or checkpoint files",
		Long: "OLD and NEW are tree sizes or exported checkpoint files (NEW by default: the newest\n" +
			"exported checkpoint). Print both roots and the RFC 6962 consistency proof that the\n" +
			"tree of OLD entries is the start of the tree of NEW entries, checked here; a\n" +
			"checkpoint file's root must be the log's (its signature is checked by jukitermd\n" +
			"when it is in the export directory, and by docs/verify-by-hand.sh).\n" +
			"Exit status 5 when they are not consistent.",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			var sizes [2]int64
			var roots [2]*tlog.Hash
			for i, arg := range args {
				var err error
				if sizes[i], roots[i], err = sizeOrCheckpoint(arg); err != nil {
					return withCode(exitUsage, err)
				}
			}
			p, err := a.client().AuditConsistency(c.Context(), sizes[0], sizes[1])
			if err != nil {
				return err
			}
			for i, r := range []tlog.Hash{p.OldRoot, p.NewRoot} {
				if roots[i] != nil && *roots[i] != r {
					return withCode(exitTampered, fmt.Errorf("the log's tree of %d entries has another root than the checkpoint file %s: the log was altered or the file is not this terminal's; run jukiterm audit verify and report it", []int64{p.OldSize, p.NewSize}[i], args[i]))
				}
			}
			if err := tlog.CheckTree(p.Proof, p.NewSize, p.NewRoot, p.OldSize, p.OldRoot); err != nil {
				return withCode(exitTampered, fmt.Errorf("the tree of %d entries is not consistent with that of %d (%v): run jukiterm audit verify and report it", p.NewSize, p.OldSize, err))
			}
			if a.json {
				if err := printJSON(p); err != nil {
					return err
				}
			} else {
				fmt.Printf("The tree of %d entries is the start of the tree of %d entries (the proof verifies).\n", p.OldSize, p.NewSize)
				fmt.Printf("  root at %d: %s\n", p.OldSize, p.OldRoot)
				fmt.Printf("  root at %d: %s\n", p.NewSize, p.NewRoot)
				fmt.Printf("  proof hashes: %d\n", len(p.Proof))
				for _, h := range p.Proof {
					fmt.Printf("                %s\n", h)
				}
				printMatch(p.OldSize, p.OldCheckpoint)
				printMatch(p.NewSize, p.NewCheckpoint)
			}
			if err := mismatch(p.OldCheckpoint); err != nil {
				return err
			}
			return mismatch(p.NewCheckpoint)
		},
	}
	return a.addJSON(c)
}

// sizeOrCheckpoint reads a tree size, or a checkpoint file's size and root (its
// signature is not checked here).
func sizeOrCheckpoint(arg string) (int64, *tlog.Hash, error) {
	if n, err := strconv.ParseInt(arg, 10, 64); err == nil {
		return n, nil, nil
	}
	b, err := os.ReadFile(arg)
	if err != nil {
		return 0, nil, fmt.Errorf("%s is neither a tree size nor a checkpoint file: %w", arg, err)
	}
	n, err := note.Open(b, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if errors.As(err, &unverified) {
		n, err = unverified.Note, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("%s is not a checkpoint (a signed note): %w", arg, err)
	}
	_, size, root, err := store.ParseCheckpoint(n.Text)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", arg, err)
	}
	return size, &root, nil
}

func printMatch(size int64, c *api.ExportedCheckpoint) {
	switch {
	case c == nil:
		fmt.Printf("  no exported checkpoint of %d entries verifies in the export directory: compare the root with a checkpoint you hold\n", size)
	case c.Matches:
		fmt.Printf("  exported checkpoint %s (signed size %d): its root is this root\n", c.File, c.Size)
	default:
		fmt.Printf("  exported checkpoint %s (signed size %d): ITS ROOT DIFFERS: %s\n", c.File, c.Size, c.Root)
	}
}

func mismatch(c *api.ExportedCheckpoint) error {
	if c != nil && !c.Matches {
		return withCode(exitTampered, fmt.Errorf("the log's tree of %d entries differs from the exported checkpoint %s: the operation log was altered; run jukiterm audit verify and report it", c.Size, c.File))
	}
	return nil
}
