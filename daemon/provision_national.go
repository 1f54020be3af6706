package daemon

import (
	"context"

	"jukiterm/daemon/provision"
	"jukiterm/store"
)

// askNational asks the national server the queries of a bulk provision that this file
// matched nobody for, when one is pinned. Its answers join the results (and leave the
// not-found list); when it cannot be reached, the provision goes on with the file's
// results alone and says why. It returns the results, the not-found list, the rows the
// national server answered and the reason it was not asked or did not answer ("").
func (s *Server) askNational(ctx context.Context, qs []provision.Query, sqs []store.Query, results []provision.Result, notFound []string) ([]provision.Result, []string, int, string) {
	if s.links.NationalMany == nil || len(notFound) == 0 {
		return results, notFound, 0, ""
	}
	index := make(map[string]int, len(qs))
	for i, q := range qs {
		index[q.ID] = i
	}
	ask := make([]store.Query, len(notFound))
	for i, id := range notFound {
		ask[i] = sqs[index[id]]
	}
	answers, err := s.links.NationalMany(ctx, ask)
	if err != nil {
		s.log.Warn("a bulk provision's national queries failed: the file's results go out alone", "err", err, "queries", len(ask))
		return results, notFound, 0, "the national server did not answer (" + err.Error() + "): the queries this file matched nobody for stay not found"
	}
	if answers == nil { // no national server pinned
		return results, notFound, 0, ""
	}
	rows := 0
	var still []string
	for i, a := range answers {
		if a.Err != nil || len(a.Records) == 0 {
			still = append(still, notFound[i])
			continue
		}
		for _, r := range a.Records {
			results = append(results, provision.Result{QueryID: notFound[i], Person: r})
			rows++
		}
	}
	return results, still, rows, ""
}
