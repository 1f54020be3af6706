package daemon

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// KeyRotator rotates the storage key. jukitermd provides it: it holds the HSM and the
// TPM that seal the new key.
type KeyRotator interface {
	// StartRotation begins a rotation in the background, or does nothing when one is
	// under way already.
	StartRotation() error
	// Rotation says how the rotation under way, or the last one, stands.
	Rotation() api.Rotation
}

// SetRotator gives the server its key rotator (before Serve).
func (s *Server) SetRotator(r KeyRotator) { s.rotator = r }

// RotationPoll is how often the rotate call reports progress.
var RotationPoll = 250 * time.Millisecond

// rotate starts (or joins) a key rotation and streams its progress until it ends. The
// rotation does not depend on the request: a client that goes away leaves it running.
func (s *Server) rotate(w http.ResponseWriter, r *http.Request) {
	if s.rotator == nil {
		writeError(w, &api.Error{Status: http.StatusServiceUnavailable, Kind: api.KindInternal,
			Message: "this jukitermd cannot rotate keys (it was started without its HSM and TPM)"})
		return
	}
	// The request is logged before anything changes (the rotation logs its own begin
	// and end in the store).
	if err := s.record(r, "key.rotate.request", nil); err != nil {
		writeError(w, err)
		return
	}
	if err := s.rotator.StartRotation(); err != nil {
		if errors.Is(err, store.ErrIngestRunning) {
			err = badRequest(err.Error())
		}
		writeError(w, err)
		return
	}
	s.log.Info("key rotation requested", "uid", peerOf(r).UID)
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	flusher, _ := w.(http.Flusher)
	tick := time.NewTicker(RotationPoll)
	defer tick.Stop()
	for {
		st := s.rotator.Rotation()
		if err := enc.Encode(st); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		if !st.Running {
			return
		}
		select {
		case <-tick.C:
		case <-r.Context().Done():
			return
		}
	}
}
