package api

import (
	"golang.org/x/mod/sumdb/tlog"

	"jukiterm/store"
)

// ExportedCheckpoint is the exported checkpoint of a proof's tree size, if one is in
// the export directory and its signature verifies: Matches tells whether its root is
// the one the log's stored hashes give (false: the log was altered).
type ExportedCheckpoint struct {
	File    string    `json:"file"`
	Size    int64     `json:"size"`
	Origin  string    `json:"origin"`
	Root    tlog.Hash `json:"root"`
	Matches bool      `json:"matches"`
}

// InclusionAnswer is an inclusion proof with the exported checkpoint of its size.
type InclusionAnswer struct {
	store.InclusionProof
	Checkpoint *ExportedCheckpoint `json:"checkpoint,omitempty"`
}

// ConsistencyAnswer is a consistency proof with the exported checkpoints of its sizes.
type ConsistencyAnswer struct {
	store.ConsistencyProof
	OldCheckpoint *ExportedCheckpoint `json:"old_checkpoint,omitempty"`
	NewCheckpoint *ExportedCheckpoint `json:"new_checkpoint,omitempty"`
}
