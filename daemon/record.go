package daemon

import (
	"net/http"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

// record writes an operation to the operation log for the caller and waits until it
// is durable. An error means the operation must be refused: nothing is shown or done
// that the log does not hold.
func (s *Server) record(r *http.Request, action string, detail map[string]any, keyed ...store.Keyed) error {
	operator := callerOf(r).Operator
	if operator == "" {
		operator = uidName(peerOf(r).UID)
	}
	if _, err := s.store.Log(r.Context(), store.Entry{Operator: operator, Action: action, Detail: detail, Keyed: keyed}); err != nil {
		s.log.Error("the operation log could not record an operation: refused", "action", action, "err", err)
		return &api.Error{Status: http.StatusServiceUnavailable, Kind: api.KindInternal,
			Message: "the operation log could not record this operation, so it was refused (nothing is shown or changed): " + err.Error() + "; tell the administrator"}
	}
	return nil
}
