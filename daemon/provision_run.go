package daemon

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/daemon/provision"
	"jukiterm/store"
)

// MaxProvisionBytes bounds a provision request file; MaxProvisionRows its queries.
const (
	MaxProvisionBytes = 64 << 20
	MaxProvisionRows  = provision.DefaultMaxRows
)

// provisionRun answers POST /v1/provisions: check the application, the recipient, the
// whole request file and the medium; run the queries on one snapshot of the file;
// write the encrypted, signed result to the medium; read it back; record it. The
// answer streams NDJSON progress, then the result or the error.
func (s *Server) provisionRun(w http.ResponseWriter, r *http.Request) {
	var req api.ProvisionRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxProvisionBytes*2))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, badRequest("the provision request did not arrive whole, nothing was done: "+err.Error()))
		return
	}
	if err := readToEnd(dec); err != nil {
		writeError(w, err)
		return
	}
	sum := sha256.Sum256(req.Request)
	reqSum := hex.EncodeToString(sum[:])
	// Logged before anything is looked up: a provision the log cannot name is not made.
	if err := s.record(r, "provision.request", map[string]any{"application": req.Application, "medium": req.Medium,
		"request_sha256": reqSum, "request_bytes": len(req.Request)}); err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	flusher, _ := w.(http.Flusher)
	send := func(ev api.ProvisionEvent) {
		enc.Encode(ev)
		if flusher != nil {
			flusher.Flush()
		}
	}
	res, problems, err := s.provide(r, req, reqSum, func(p api.ProvisionProgress) { send(api.ProvisionEvent{Progress: &p}) })
	if err != nil {
		var ae *api.Error
		if !errors.As(err, &ae) {
			ae = &api.Error{Kind: api.KindInternal, Message: err.Error()}
		}
		send(api.ProvisionEvent{Error: ae, Problems: problems})
		return
	}
	send(api.ProvisionEvent{Result: &res})
}

// provide does the provision; the error is an *api.Error for the operator.
func (s *Server) provide(r *http.Request, req api.ProvisionRequest, reqSum string, progress func(api.ProvisionProgress)) (api.ProvisionResult, []api.RequestProblem, error) {
	ctx, c := r.Context(), callerOf(r)
	now := s.sessions.now()
	refused := func(why string, detail map[string]any, err error) error {
		if detail == nil {
			detail = map[string]any{}
		}
		detail["application"], detail["medium"], detail["request_sha256"], detail["why"] = req.Application, req.Medium, reqSum, why
		if lerr := s.record(r, "provision.refused", detail); lerr != nil {
			return lerr
		}
		return err
	}
	// 1. The application, valid today, and its recipient.
	app, err := s.store.GetApplication(ctx, req.Application)
	if err != nil {
		return api.ProvisionResult{}, nil, refused("application", nil, badRequest(err.Error()))
	}
	if st := app.State(now.In(time.Local).Format(time.DateOnly)); st != "valid" {
		return api.ProvisionResult{}, nil, refused("application", nil, badRequest(fmt.Sprintf(
			"application %s is %s (valid %s to %s): a provision is made only under a valid application; nothing was written", app.ID, st, app.ValidFrom, app.ValidTo)))
	}
	rc, err := s.store.RecipientFor(ctx, app)
	if err != nil {
		return api.ProvisionResult{}, nil, refused("recipient", nil, badRequest(err.Error()+"; nothing was written"))
	}
	if req.Recipient != "" && req.Recipient != rc.ID {
		return api.ProvisionResult{}, nil, refused("recipient", nil, badRequest(fmt.Sprintf(
			"application %s is for recipient %s, not %s: nothing was written", app.ID, rc.ID, req.Recipient)))
	}
	// 2. The request file, whole, before anything is looked up or written.
	qs, err := provision.ParseRequest(bytes.NewReader(req.Request), MaxProvisionRows)
	if err != nil {
		var re *provision.RequestError
		if errors.As(err, &re) {
			probs := make([]api.RequestProblem, len(re.Problems))
			for i, p := range re.Problems {
				probs[i] = api.RequestProblem{Line: p.Line, QueryID: p.QueryID, Column: p.Column, Message: p.Message}
			}
			return api.ProvisionResult{}, probs, refused("request", map[string]any{"problems": len(re.Problems) + re.More}, badRequest(err.Error()))
		}
		return api.ProvisionResult{}, nil, refused("request", nil, badRequest("the request file could not be read, nothing was written: "+err.Error()))
	}
	sqs, err := provision.StoreQueries(qs, s.store.Prefecture())
	if qe := (*provision.QueryError)(nil); errors.As(err, &qe) {
		msg := fmt.Sprintf("the request file was refused and none of its queries was run: query_id %q: %v; correct the file and send it again whole", qe.ID, qe.Err)
		return api.ProvisionResult{}, []api.RequestProblem{{QueryID: qe.ID, Message: qe.Err.Error()}}, refused("request", nil, badRequest(msg))
	}
	// 3. The medium: issued to this operator, approved, mass storage only, unlocked.
	conn, dev, vol, ref := s.media.find(ctx, s.store, req.Medium, c.Operator)
	if ref != nil {
		s.log.Warn("provision refused: medium", "serial", req.Medium, "code", ref.Code, "operator", c.Operator)
		return api.ProvisionResult{}, nil, refused("medium", map[string]any{"model": conn.Model, "code": ref.Code},
			&api.Error{Status: http.StatusForbidden, Kind: api.KindDenied, Message: ref.Error() + "; nothing was written"})
	}
	defer closeVolume(vol)
	unlock, ref := s.media.claim(req.Medium) // one provision at a time on a stick
	if ref != nil {
		return api.ProvisionResult{}, nil, refused("medium", map[string]any{"code": ref.Code},
			&api.Error{Status: http.StatusConflict, Kind: api.KindBusy, Message: ref.Error() + "; nothing was written"})
	}
	defer unlock()
	// 4. The queries, on one snapshot of the file.
	results, notFound, seq, err := provision.Search(ctx, s.store, qs, sqs, func(done, total int) {
		progress(api.ProvisionProgress{Stage: "search", Done: done, Total: total})
	})
	if errors.Is(err, provision.ErrTooMany) {
		return api.ProvisionResult{}, nil, refused("request", nil, badRequest("the request was refused and nothing was written: "+err.Error()))
	}
	if err != nil {
		return api.ProvisionResult{}, nil, refused("search", nil, fmt.Errorf("the queries could not be run, nothing was written: %w", err))
	}
	// 4b. The queries this file matched nobody for, asked of the national server
	// (機構への照会) when one is pinned; its answers go out with the file's.
	results, notFound, nationalRows, nationalErr := s.askNational(ctx, qs, sqs, results, notFound)
	// 5. Write, then read back.
	kind := "provision"
	if rc.Kind == store.RecipientDepartment {
		kind = "transfer"
	}
	p := provision.Provision{ID: provision.NewID(now), Application: app.ID, Operator: c.Operator, TerminalID: s.store.TerminalID(),
		Time: now, UpdateSeq: seq, RequestSHA256: reqSum, Queries: len(qs), Results: results, NotFound: notFound, NationalRows: nationalRows,
		Recipient: provision.Recipient{ID: rc.ID, Name: rc.Name, Basis: rc.LegalBasis, AgeRecipient: rc.AgeRecipient, Items: rc.Items}}
	rec := store.ProvisionRecord{ID: p.ID, At: now, Application: app.ID, Recipient: rc.ID, Kind: kind, Operator: c.Operator,
		Medium: req.Medium, Queries: len(qs), Matched: len(results), NotFound: len(notFound), UpdateSeq: seq, RequestSHA256: reqSum}
	// 5. Logged before anything is written: what goes out, with every query's keys
	// and every result's 住民票コード keyed, as a search's are.
	entries := provision.LogEntries(rec, sqs, results)
	if nationalRows > 0 || nationalErr != "" {
		entries = append(entries, store.Entry{Operator: c.Operator, Action: "provision.national", Detail: map[string]any{
			"provision": p.ID, "application": app.ID, "rows": nationalRows, "error": nationalErr}})
	}
	if _, err := s.store.LogBatch(ctx, entries); err != nil {
		s.log.Error("the operation log could not record a provision: refused", "err", err)
		return api.ProvisionResult{}, nil, &api.Error{Kind: api.KindInternal, Message: "the operation log could not record the provision, so nothing was written: " + err.Error() + "; tell the administrator"}
	}
	// 6. The policy once more just before writing: the ledger may have changed during
	// the queries (the stick retired or issued to another), or the stick replugged.
	if ref := s.media.recheck(ctx, s.store, dev, c.Operator); ref != nil {
		rec.Outcome, rec.Message = store.ProvisionFailed, ref.Error()
		s.recordOutcome(ctx, rec)
		return api.ProvisionResult{}, nil, &api.Error{Status: http.StatusForbidden, Kind: api.KindDenied, Message: ref.Error() + "; nothing was written"}
	}
	// 7. Write, then read back as a recipient would.
	manifestSum, err := s.writeAndCheck(ctx, vol, p, progress)
	if err != nil {
		return api.ProvisionResult{}, nil, s.provisionFailed(ctx, vol, rec, err)
	}
	rec.Outcome, rec.ManifestSHA256 = store.ProvisionWritten, manifestSum
	if err := s.store.RecordProvision(ctx, rec); err != nil {
		return api.ProvisionResult{}, nil, s.unrecorded(vol, rec, err)
	}
	s.log.Info("provision written", "id", p.ID, "kind", kind, "application", app.ID, "recipient", rc.ID, "medium", req.Medium,
		"operator", c.Operator, "queries", len(qs), "matched", len(results), "not_found", len(notFound))
	return api.ProvisionResult{ID: p.ID, Kind: kind, Application: app.ID, Recipient: rc.ID, Medium: req.Medium,
		Directory: path.Join(provision.MediaDir, p.ID), Queries: len(qs), Matched: len(results), NotFound: len(notFound),
		UpdateSeq: seq, ManifestSHA256: manifestSum, ApplicationExpected: app.Expected,
		ApplicationProvided: s.providedUnder(ctx, app.ID), NationalRows: nationalRows, NationalError: nationalErr}, nil, nil
}

func (s *Server) listProvisions(w http.ResponseWriter, r *http.Request) {
	ps, err := s.store.Provisions(r.Context(), r.URL.Query().Get("application"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, ps)
}
