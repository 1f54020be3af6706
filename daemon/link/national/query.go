package national

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"jukiterm/daemon/link"
	"jukiterm/daemon/link/linkpb"
	"jukiterm/store/record"
)

// QueryTimeout bounds a national query, connection included.
const QueryTimeout = 30 * time.Second

// Query asks the national server about persons this prefecture does not hold, by
// 住民票コード, 個人番号 or 4情報 (one of them set in q), on a connection of its own.
// The answer is returned, never stored.
func Query(ctx context.Context, p Peer, software string, q *linkpb.Query) ([]record.Record, error) {
	if p.Address == "" {
		return nil, errors.New("no national server is pinned: the administrator pins it with `jukiterm peer add --national`")
	}
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout)
	defer cancel()
	tc, err := link.Dial(ctx, p.Address, p.TLS)
	if err != nil {
		return nil, fmt.Errorf("the national server cannot be reached: %w", err)
	}
	c := link.NewConn(tc)
	defer c.Close()
	c.ReadTimeout, c.WriteTimeout = QueryTimeout, QueryTimeout
	go func() { <-ctx.Done(); c.Close() }()
	if _, err := link.Handshake(c, software); err != nil {
		return nil, err
	}
	q.Id = 1
	if err := c.Send(&linkpb.Frame{Body: &linkpb.Frame_Query{Query: q}}); err != nil {
		return nil, err
	}
	f, err := c.Recv()
	if err != nil {
		return nil, fmt.Errorf("the national server did not answer: %w", err)
	}
	a := f.GetQueryAnswer()
	if a == nil || a.GetId() != q.Id {
		c.Fail(link.CodeUnexpected, "a QueryAnswer to the query was expected")
		return nil, fmt.Errorf("the national server answered with a %s instead of the query's answer", link.FrameKind(f))
	}
	if a.GetError() != "" {
		return nil, fmt.Errorf("the national server refused the query: %s", a.GetError())
	}
	out := make([]record.Record, 0, len(a.GetRecords()))
	for _, b := range a.GetRecords() {
		var r record.Record
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("the national server's answer holds a record that cannot be read: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}
