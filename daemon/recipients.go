package daemon

import (
	"errors"
	"net/http"

	"strconv"

	"filippo.io/age"

	"jukiterm/daemon/provision"
	"jukiterm/store"
)

func (s *Server) addRecipient(w http.ResponseWriter, r *http.Request) {
	var rc store.Recipient
	if err := decodeJSON(w, r, &rc); err != nil {
		writeError(w, err)
		return
	}
	if _, err := age.ParseX25519Recipient(rc.AgeRecipient); err != nil {
		writeError(w, badRequest("the recipient's age public key "+strconv.Quote(rc.AgeRecipient)+" is not an age X25519 key (age1…): ask the body for the public key of its age identity"))
		return
	}
	items, err := provision.ParseItems(rc.Items)
	if err != nil {
		writeError(w, badRequest(err.Error()))
		return
	}
	rc.Items = items
	if err := s.store.AddRecipient(r.Context(), rc, callerOf(r).Operator, s.sessions.now()); err != nil {
		if errors.Is(err, store.ErrRecipient) {
			err = badRequest(err.Error())
		}
		writeError(w, err)
		return
	}
	got, err := s.store.GetRecipient(r.Context(), rc.ID)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, got)
}

func (s *Server) listRecipients(w http.ResponseWriter, r *http.Request) {
	rs, err := s.store.Recipients(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, rs)
}
