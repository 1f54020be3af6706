package daemon

import (
	"errors"
	"fmt"
	"net/http"

	"jukiterm/daemon/api"

	"jukiterm/store"
)

func mediaError(err error) error {
	switch {
	case errors.Is(err, store.ErrMedia), errors.Is(err, store.ErrNoMedium), errors.Is(err, store.ErrNoOperator):
		return badRequest(err.Error())
	}
	return err
}

// mediaChange answers POST /v1/media/{change}: register, issue, return or retire.
func (s *Server) mediaChange(change string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.MediaRequest
		if err := decodeJSON(w, r, &req); err != nil {
			writeError(w, err)
			return
		}
		actor, now, ctx := callerOf(r).Operator, s.sessions.now(), r.Context()
		var err error
		switch change {
		case "register":
			var m store.Medium
			m.Serial, m.Label = req.Serial, req.Label
			if req.Model == "" { // the stick is plugged in: its descriptor says
				if info, ok := s.media.device(req.Serial); ok {
					req.Model = fmt.Sprintf("%04x:%04x", info.VendorID, info.ProductID)
				} else {
					writeError(w, badRequest("stick "+req.Serial+" is not connected: plug it in, or give its model with --model VVVV:PPPP"))
					return
				}
			}
			if m.VendorID, m.ProductID, err = parseModel(req.Model); err != nil {
				writeError(w, badRequest(err.Error()))
				return
			}
			if !s.media.approved(m.VendorID, m.ProductID) {
				writeError(w, badRequest("model "+req.Model+" is not on the approved list of hardware-encrypted, security-locked media (approved_media in the configuration): such a stick would be refused at every use, so it is not registered"))
				return
			}
			err = s.store.RegisterMedium(ctx, m, actor, now)
		case "issue":
			err = s.store.IssueMedium(ctx, req.Serial, req.To, req.Due, actor, now)
		case "return":
			err = s.store.ReturnMedium(ctx, req.Serial, actor, now)
		case "retire":
			if req.Reason == "" {
				req.Reason = "retired (no reason given)"
			}
			err = s.store.RetireMedium(ctx, req.Serial, req.Reason, actor, now)
		}
		if err != nil {
			writeError(w, mediaError(err))
			return
		}
		m, err := s.store.GetMedium(ctx, req.Serial)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, m)
	}
}

// listMedia answers GET /v1/media: the ledger, and what is connected now with the
// verdict for the caller.
func (s *Server) listMedia(w http.ResponseWriter, r *http.Request) {
	ms, err := s.store.Media(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, api.MediaList{Media: ms, Connected: s.media.connected(r.Context(), s.store, callerOf(r).Operator)})
}
