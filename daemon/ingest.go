package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ingest applies a notification file sent as the request body, reading it as it
// arrives (never whole: memory stays bounded whatever its size). The sender names the
// file by its SHA-256 in a header, the key to resume an interrupted ingest of it; the
// body is checked against it at the end. The answer streams NDJSON events: progress
// after every durable batch, then the result. What a batch applied stays even if the
// body breaks off later: the same file again resumes after it.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	source := r.Header.Get(api.HeaderIngestSHA256)
	if source != "" && !sha256Hex.MatchString(source) {
		writeError(w, badRequest("the ingest request names its file by a malformed SHA-256 ("+api.HeaderIngestSHA256+
			" must be 64 lower-case hex digits), nothing was applied: use a jukiterm of the same version as jukitermd"))
		return
	}
	total, _ := strconv.Atoi(r.Header.Get(api.HeaderIngestLines)) // for progress only
	operator := callerOf(r).Operator
	if operator == "" {
		operator = uidName(peerOf(r).UID)
	}
	// Progress goes out while the body still comes in.
	if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
		s.log.Warn("ingest: progress reports wait for the whole file", "err", err)
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	flusher, _ := w.(http.Flusher)
	send := func(ev api.IngestEvent) {
		enc.Encode(ev)
		if flusher != nil {
			flusher.Flush()
		}
	}
	res, err := s.store.Ingest(r.Context(), r.Body, store.IngestOptions{
		Source:      source,
		LogOperator: operator, // 操作者ＩＤ stays "system": the notifications are the CS's
		Committed: func(lines int, _ *store.IngestResult) {
			send(api.IngestEvent{Progress: &api.Progress{Lines: lines, Total: total}})
		},
	})
	ev := api.IngestEvent{Result: &res}
	durable := fmt.Sprintf("%d applied, %d duplicates, %d rejected are durable", res.Applied, res.Duplicates, res.Rejected)
	switch {
	case errors.Is(err, store.ErrInterrupted):
		ev.Error = &api.Error{Kind: api.KindShutdown, Message: "the ingest stopped early (jukitermd is shutting down or the client went away): " +
			durable + "; run the same ingest again to apply the rest (it resumes after what is durable)"}
	case errors.Is(err, store.ErrReadFailed):
		ev.Error = &api.Error{Kind: api.KindBadRequest, Message: "the notification file stopped arriving before its end (" + err.Error() + "): " +
			durable + "; run the same ingest again to apply the rest (it resumes after what is durable)"}
	case errors.Is(err, store.ErrSourceMismatch):
		ev.Error = &api.Error{Kind: api.KindBadRequest, Message: "the file received is not the one named when the ingest began (it changed while it was sent?): " +
			durable + "; this ingest will not be resumed: make sure nothing writes to the file, then run the ingest again (applied notifications then count as duplicates)"}
	case errors.Is(err, store.ErrResumeMismatch):
		ev.Error = &api.Error{Kind: api.KindBadRequest, Message: err.Error() +
			"; an interrupted ingest of the file named is kept to be resumed: send that file unchanged with `jukiterm ingest FILE`, which names a file by its own SHA-256"}
	case errors.Is(err, store.ErrBusy), errors.Is(err, store.ErrRotating):
		ev.Error = &api.Error{Kind: api.KindBadRequest, Message: err.Error()}
	case err != nil:
		ev.Error = &api.Error{Kind: api.KindInternal, Message: "the ingest stopped: " + err.Error() +
			"; what the result counts is applied, the rest is not: fix the cause and run the same ingest again"}
	}
	s.log.Info("ingest", "applied", res.Applied, "duplicates", res.Duplicates, "rejected", res.Rejected, "lines", total, "stopped_early", err != nil)
	send(ev)
}
