package daemon

import (
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"jukiterm/daemon/api"
	"jukiterm/daemon/archive"
	"jukiterm/store"
	"jukiterm/store/kana"
	"jukiterm/store/record"
)

// SetAudit gives the server the verifier of the operation log's checkpoints and the
// directory they are exported to (before Serve).
func (s *Server) SetAudit(v note.Verifiers, exportDir string) { s.verifier, s.exportDir = v, exportDir }

// AuditLookupRequest asks where a personal value appears in the operation log.
type AuditLookupRequest struct {
	Value string `json:"value"`
}

// auditVerify recomputes the operation log and checks it against its checkpoints and
// the given exported checkpoint (the request body; none: the newest in the export
// directory).
func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request) {
	if s.verifier == nil {
		writeError(w, errUnavailable("this jukitermd has no checkpoint verifier configured"))
		return
	}
	var from []byte
	if err := decodeJSON(w, r, &from); err != nil {
		writeError(w, err)
		return
	}
	if len(from) == 0 && s.exportDir != "" {
		from, _ = store.LatestExported(s.exportDir)
	}
	rep, err := s.store.VerifyLog(r.Context(), s.verifier, from)
	if err != nil && !errors.Is(err, store.ErrLogTampered) {
		writeError(w, err)
		return
	}
	if lerr := s.record(r, "audit.verify", map[string]any{"entries": rep.Entries, "ok": err == nil}); lerr != nil {
		writeError(w, lerr)
		return
	}
	writeJSON(w, rep)
}

// auditLookup tells whether and when a personal value appears in the log.
func (s *Server) auditLookup(w http.ResponseWriter, r *http.Request) {
	var req AuditLookupRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	// Values are logged as searched, after normalisation (kana as katakana, text in
	// its stored form): the value is looked up as given and in those forms.
	forms := []string{req.Value}
	if k, err := kana.Normalize(req.Value); err == nil {
		forms = append(forms, k)
	}
	forms = append(forms, record.NormalizeText(req.Value))
	var hits []store.LookupHit
	seen := map[int64]bool{}
	for i, v := range forms {
		if slices.Contains(forms[:i], v) {
			continue
		}
		h, err := s.store.Lookup(r.Context(), v)
		if err != nil {
			writeError(w, err)
			return
		}
		for _, x := range h {
			if !seen[x.Index] {
				seen[x.Index] = true
				hits = append(hits, x)
			}
		}
	}
	slices.SortFunc(hits, func(a, b store.LookupHit) int { return int(a.Index - b.Index) })
	if lerr := s.record(r, "audit.lookup", map[string]any{"hits": len(hits)}, store.Keyed{Field: "looked_up", Value: req.Value}); lerr != nil {
		writeError(w, lerr)
		return
	}
	if hits == nil {
		hits = []store.LookupHit{}
	}
	writeJSON(w, hits)
}

// exportedAt returns the exported checkpoint of size entries, compared with root; nil
// when there is none (or it does not verify: audit verify says why).
func (s *Server) exportedAt(size int64, root tlog.Hash) *api.ExportedCheckpoint {
	if s.exportDir == "" || s.verifier == nil {
		return nil
	}
	path := store.ExportedPath(s.exportDir, size)
	msg, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	c, err := store.OpenCheckpoint(msg, s.verifier)
	if err != nil || c.Size != size {
		return nil
	}
	return &api.ExportedCheckpoint{File: path, Size: c.Size, Origin: c.Origin, Root: c.Root, Matches: c.Root == root}
}

// proofSize reads a tree size from the query; default: the newest exported
// checkpoint's size (a tree an auditor holds a signed head of), else the whole log.
func (s *Server) proofSize(r *http.Request, key string) (int64, error) {
	if v := r.URL.Query().Get(key); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, badRequest(fmt.Sprintf("the tree size %q is not a number", v))
		}
		return n, nil
	}
	if s.exportDir != "" && s.verifier != nil {
		if msg, _ := store.LatestExported(s.exportDir); msg != nil {
			if c, err := store.OpenCheckpoint(msg, s.verifier); err == nil {
				return c.Size, nil
			}
		}
	}
	return s.store.LogSize(), nil
}

// auditProve returns the inclusion proof of one entry in the tree of the given size
// (default: that of the newest exported checkpoint), with its root and the exported
// checkpoint of that size.
func (s *Server) auditProve(w http.ResponseWriter, r *http.Request) {
	idx, err := strconv.ParseInt(r.PathValue("index"), 10, 64)
	if err != nil {
		writeError(w, badRequest("the entry index is not a number"))
		return
	}
	size, err := s.proofSize(r, "size")
	if err != nil {
		writeError(w, err)
		return
	}
	p, err := s.store.ProveInclusion(r.Context(), idx, size)
	if err != nil {
		writeError(w, badRequest(err.Error()))
		return
	}
	if err := s.record(r, "audit.prove", map[string]any{"index": idx, "size": size}); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, api.InclusionAnswer{InclusionProof: p, Checkpoint: s.exportedAt(size, p.Root)})
}

// auditConsistency returns the consistency proof between the trees of two sizes
// (old, new; new by default: the newest exported checkpoint's), with both roots and
// the exported checkpoints of those sizes.
func (s *Server) auditConsistency(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	oldSize, err := strconv.ParseInt(q.Get("old"), 10, 64)
	if err != nil {
		writeError(w, badRequest("the old tree size is not a number"))
		return
	}
	newSize, err := s.proofSize(r, "new")
	if err != nil {
		writeError(w, err)
		return
	}
	p, err := s.store.ProveConsistency(r.Context(), oldSize, newSize)
	if err != nil {
		writeError(w, badRequest(err.Error()))
		return
	}
	if err := s.record(r, "audit.consistency", map[string]any{"old": oldSize, "new": newSize}); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, api.ConsistencyAnswer{ConsistencyProof: p,
		OldCheckpoint: s.exportedAt(oldSize, p.OldRoot), NewCheckpoint: s.exportedAt(newSize, p.NewRoot)})
}

// SetArchive gives the server what archives of the operation log need: the age
// recipients they are encrypted to and the HSM key that signs them (before Serve).
func (s *Server) SetArchive(recipients []string, signer crypto.Signer) {
	s.archiveTo, s.archiveSigner = recipients, signer
}

// ArchiveDir is where archives of the operation log are written: beside the exported
// checkpoints, for the same media or system.
func ArchiveDir(exportDir string) string { return filepath.Join(exportDir, "archives") }

// auditExport writes an encrypted, signed archive of the entries of a period.
func (s *Server) auditExport(w http.ResponseWriter, r *http.Request) {
	var req ReconcileRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	from, to, err := req.period()
	if err != nil {
		writeError(w, err)
		return
	}
	if s.archiveSigner == nil {
		writeError(w, errUnavailable("this jukitermd cannot sign archives (no HSM signing key)"))
		return
	}
	entries, err := s.store.ArchiveRange(r.Context(), from, to)
	if err != nil {
		writeError(w, err)
		return
	}
	name := fmt.Sprintf("oplog-%s-%s-%s.age", req.From, req.To, s.sessions.now().UTC().Format("20060102T150405Z"))
	path, err := archive.Write(ArchiveDir(s.exportDir), name, entries, s.archiveTo, s.archiveSigner)
	if err != nil {
		writeError(w, badRequest("the archive was not written: "+err.Error()))
		return
	}
	if err := s.record(r, "audit.export", map[string]any{"from": req.From, "to": req.To, "entries": len(entries), "file": path}); err != nil {
		os.Remove(path)
		os.Remove(path + ".sig")
		writeError(w, err)
		return
	}
	writeJSON(w, map[string]any{"file": path, "entries": len(entries)})
}
