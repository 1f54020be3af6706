package daemon

import (
	"fmt"
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
		operator = fmt.Sprintf("uid %d", peerOf(r).UID)
	}
	if _, err := s.store.Log(r.Context(), store.Entry{Operator: operator, Action: action, Detail: detail, Keyed: keyed}); err != nil {
		s.log.Error("the operation log could not record an operation: refused", "action", action, "err", err)
		return &api.Error{Status: http.StatusServiceUnavailable, Kind: api.KindInternal,
			Message: "the operation log could not record this operation, so it was refused (nothing is shown or changed): " + err.Error() + "; tell the administrator"}
	}
	return nil
}

// searchKeyed lists the personal values of a search and of its results for the log.
func searchKeyed(q store.Query, codes []string) []store.Keyed {
	var k []store.Keyed
	add := func(field, v string) {
		if v != "" {
			k = append(k, store.Keyed{Field: field, Value: v})
		}
	}
	add("resident_code", q.Code)
	add("my_number", q.Number)
	add("name_kana", q.Kana)
	add("name", q.Name)
	add("birth", q.Birth)
	add("address", q.Address)
	for _, c := range codes {
		add("result_resident_code", c)
	}
	return k
}
