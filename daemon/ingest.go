package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// MaxIngestBytes bounds one ingest request.
const MaxIngestBytes = 4 << 30

// ingest applies a notification file sent as the request body. The whole body is read
// before anything is applied, so a broken upload applies nothing. The answer streams
// NDJSON events: progress after every durable batch, then the result.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxIngestBytes))
	if err != nil {
		writeError(w, badRequest("the notification file did not arrive whole, nothing was applied: "+err.Error()))
		return
	}
	total := bytes.Count(body, []byte("\n"))
	if len(body) > 0 && body[len(body)-1] != '\n' {
		total++
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
	res, err := s.store.Ingest(r.Context(), bytes.NewReader(body), store.IngestOptions{
		Source: store.SourceOf(body),
		Committed: func(lines int, _ *store.IngestResult) {
			send(api.IngestEvent{Progress: &api.Progress{Lines: lines, Total: total}})
		},
	})
	ev := api.IngestEvent{Result: &res}
	switch {
	case errors.Is(err, store.ErrInterrupted):
		ev.Error = &api.Error{Kind: api.KindShutdown, Message: fmt.Sprintf(
			"the ingest stopped early (jukitermd is shutting down or the client went away): %d applied, %d duplicates, %d rejected are durable; run the same ingest again to apply the rest (applied notifications then count as duplicates)",
			res.Applied, res.Duplicates, res.Rejected)}
	case errors.Is(err, store.ErrBusy), errors.Is(err, store.ErrRotating):
		ev.Error = &api.Error{Kind: api.KindBadRequest, Message: err.Error()}
	case err != nil:
		ev.Error = &api.Error{Kind: api.KindInternal, Message: "the ingest stopped: " + err.Error() +
			"; what the result counts is applied, the rest is not: fix the cause and run the same ingest again"}
	}
	s.log.Info("ingest", "applied", res.Applied, "duplicates", res.Duplicates, "rejected", res.Rejected, "lines", total, "stopped_early", err != nil)
	send(ev)
}
