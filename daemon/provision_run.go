package daemon

import (
	"bytes"
	"crypto/ecdsa"
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
	"jukiterm/devices/media"
	"jukiterm/store"
	"jukiterm/store/record"
)

// MaxProvisionBytes bounds a provision request file; MaxProvisionRows its queries.
const (
	MaxProvisionBytes = 256 << 20
	MaxProvisionRows  = 1_000_000
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
	sqs := make([]store.Query, len(qs))
	for i, q := range qs {
		sqs[i] = q.StoreQuery()
		sqs[i].Limit = store.DefaultLimit
		if err := sqs[i].Normalize(s.store.Prefecture()); err != nil {
			msg := fmt.Sprintf("the request file was refused and none of its queries was run: query_id %q: %v; correct the file and send it again whole", q.ID, err)
			return api.ProvisionResult{}, []api.RequestProblem{{QueryID: q.ID, Message: err.Error()}}, refused("request", nil, badRequest(msg))
		}
	}
	// 3. The medium: issued to this operator, approved, mass storage only, unlocked.
	conn, vol, ref := s.media.find(ctx, s.store, req.Medium, c.Operator)
	if ref != nil {
		s.log.Warn("provision refused: medium", "serial", req.Medium, "code", ref.Code, "operator", c.Operator)
		return api.ProvisionResult{}, nil, refused("medium", map[string]any{"model": conn.Model, "code": ref.Code},
			&api.Error{Status: http.StatusForbidden, Kind: api.KindDenied, Message: ref.Error() + "; nothing was written"})
	}
	defer closeVolume(vol)
	// 4. The queries, on one snapshot of the file.
	var results []provision.Result
	var notFound []string
	seq, err := s.store.SearchMany(ctx, sqs, func(i int, recs []record.Record) error {
		if len(recs) == 0 {
			notFound = append(notFound, qs[i].ID)
		}
		for _, rec := range recs {
			results = append(results, provision.Result{QueryID: qs[i].ID, Person: rec})
		}
		if (i+1)%1000 == 0 || i+1 == len(qs) {
			progress(api.ProvisionProgress{Stage: "search", Done: i + 1, Total: len(qs)})
		}
		return nil
	})
	if err != nil {
		return api.ProvisionResult{}, nil, refused("search", nil, fmt.Errorf("the queries could not be run, nothing was written: %w", err))
	}
	// 5. Write, then read back.
	kind := "provision"
	if rc.Kind == store.RecipientDepartment {
		kind = "transfer"
	}
	p := provision.Provision{ID: provision.NewID(now), Application: app.ID, Operator: c.Operator, TerminalID: s.store.TerminalID(),
		Time: now, UpdateSeq: seq, RequestSHA256: reqSum, Queries: len(qs), Results: results, NotFound: notFound,
		Recipient: provision.Recipient{ID: rc.ID, Name: rc.Name, Basis: rc.LegalBasis, AgeRecipient: rc.AgeRecipient, Items: rc.Items}}
	rec := store.ProvisionRecord{ID: p.ID, At: now, Application: app.ID, Recipient: rc.ID, Kind: kind, Operator: c.Operator,
		Medium: req.Medium, Queries: len(qs), Matched: len(results), NotFound: len(notFound), UpdateSeq: seq, RequestSHA256: reqSum}
	_, err = provision.Write(ctx, vol, p, s.media.Signer, func(done, total int) {
		progress(api.ProvisionProgress{Stage: "write", Done: done, Total: total})
	})
	var manifestSum string
	if err == nil {
		manifestSum, err = provision.VerifyVolume(vol, p.ID, s.media.Signer.Public().(*ecdsa.PublicKey))
		if err != nil && errors.Is(err, media.ErrGone) {
			// Written and synced whole, then pulled before it was read back: the
			// medium most likely holds the complete provision.
			rec.Outcome, rec.Message = store.ProvisionUnverified, "written whole, but the medium was removed before it was read back: "+err.Error()
			s.log.Warn("provision written but not read back", "id", p.ID, "medium", req.Medium, "err", err)
			if lerr := s.store.RecordProvision(ctx, rec); lerr != nil {
				s.log.Error("the provision could not be recorded", "id", p.ID, "err", lerr)
			}
			return api.ProvisionResult{}, nil, &api.Error{Kind: api.KindInternal, Message: fmt.Sprintf(
				"provision %s was written whole, but the medium was removed before the terminal could read it back. Do not hand it over yet: put it back, and check it with `jukiterm media open` (or run the provision again, which writes a new one)", p.ID)}
		}
	}
	if err != nil {
		rec.Outcome, rec.Message = store.ProvisionFailed, err.Error()
		s.log.Error("provision failed", "id", p.ID, "medium", req.Medium, "err", err)
		if lerr := s.store.RecordProvision(ctx, rec); lerr != nil {
			s.log.Error("the failed provision could not be recorded", "id", p.ID, "err", lerr)
		}
		return api.ProvisionResult{}, nil, &api.Error{Kind: api.KindInternal, Message: fmt.Sprintf(
			"provision %s failed: %v. The medium holds no valid output of it (any partial file fails verification); put the medium back, unlocked, and run the provision again", p.ID, err)}
	}
	rec.Outcome, rec.ManifestSHA256 = store.ProvisionWritten, manifestSum
	if err := s.store.RecordProvision(ctx, rec); err != nil {
		return api.ProvisionResult{}, nil, &api.Error{Kind: api.KindInternal, Message: fmt.Sprintf(
			"provision %s was written to the medium, but the terminal could not record it (%v): do not hand the medium over; tell the administrator", p.ID, err)}
	}
	s.log.Info("provision written", "id", p.ID, "kind", kind, "application", app.ID, "recipient", rc.ID, "medium", req.Medium,
		"operator", c.Operator, "queries", len(qs), "matched", len(results), "not_found", len(notFound))
	provided := 0
	if ps, err := s.store.Provisions(ctx, app.ID); err == nil {
		for _, x := range ps {
			if x.Outcome == store.ProvisionWritten {
				provided += x.Matched
			}
		}
	}
	return api.ProvisionResult{ID: p.ID, Kind: kind, Application: app.ID, Recipient: rc.ID, Medium: req.Medium,
		Directory: path.Join(provision.MediaDir, p.ID), Queries: len(qs), Matched: len(results), NotFound: len(notFound),
		UpdateSeq: seq, ManifestSHA256: manifestSum, ApplicationExpected: app.Expected, ApplicationProvided: provided}, nil, nil
}

func (s *Server) listProvisions(w http.ResponseWriter, r *http.Request) {
	ps, err := s.store.Provisions(r.Context(), r.URL.Query().Get("application"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, ps)
}
