package provision

import (
	"context"
	"errors"
	"fmt"

	"jukiterm/store"
	"jukiterm/store/record"
)

// ErrTooMany says a query of a request matches store.MaxLimit persons or more, which a
// provision does not list: the request is refused.
var ErrTooMany = errors.New("a query matches too many persons")

// QueryError says one query of a request could not be run as it is.
type QueryError struct {
	ID  string
	Err error
}

func (e *QueryError) Error() string { return fmt.Sprintf("query_id %q: %v", e.ID, e.Err) }
func (e *QueryError) Unwrap() error { return e.Err }

// StoreQueries turns a request's queries into normalised searches of the file of
// prefecture p, each allowed up to store.MaxLimit matches; the first that does not
// normalise is a *QueryError.
func StoreQueries(qs []Query, p *record.Prefecture) ([]store.Query, error) {
	sqs := make([]store.Query, len(qs))
	for i, q := range qs {
		sqs[i] = q.StoreQuery()
		sqs[i].Limit = store.MaxLimit
		if err := sqs[i].Normalize(p); err != nil {
			return nil, &QueryError{ID: q.ID, Err: err}
		}
	}
	return sqs, nil
}

// Search runs sqs (StoreQueries of qs) on one snapshot of st: every person a query
// matches is a Result, a query that matches nobody is in notFound. seq is the
// snapshot's 更新順番号. progress, if not nil, is called every 1,000 queries and at the
// end. A query reaching store.MaxLimit matches is a *QueryError wrapping ErrTooMany.
func Search(ctx context.Context, st *store.Store, qs []Query, sqs []store.Query, progress func(done, total int)) (results []Result, notFound []string, seq int64, err error) {
	seq, err = st.SearchMany(ctx, sqs, func(i int, recs []record.Record) error {
		if len(recs) >= store.MaxLimit {
			return &QueryError{ID: qs[i].ID, Err: fmt.Errorf("%w: %d or more; narrow it (a name with the birth date, sex or address)", ErrTooMany, store.MaxLimit)}
		}
		if len(recs) == 0 {
			notFound = append(notFound, qs[i].ID)
		}
		for _, rec := range recs {
			results = append(results, Result{QueryID: qs[i].ID, Person: rec})
		}
		if progress != nil && ((i+1)%1000 == 0 || i+1 == len(qs)) {
			progress(i+1, len(qs))
		}
		return nil
	})
	return results, notFound, seq, err
}
