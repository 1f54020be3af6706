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
	as, err := QueryMany(ctx, p, software, []*linkpb.Query{q})
	if err != nil {
		return nil, err
	}
	if as[0].Err != nil {
		return nil, fmt.Errorf("the national server refused the query: %w", as[0].Err)
	}
	return as[0].Records, nil
}

// Answer is the national server's answer to one query of QueryMany.
type Answer struct {
	Records []record.Record
	Err     error // the server refused this query
}

// QueryMany asks the national server many queries on one connection, pipelined (each
// with its own id), and returns the answers in the queries' order. The whole is bounded
// by QueryTimeout plus 10 ms a query.
func QueryMany(ctx context.Context, p Peer, software string, qs []*linkpb.Query) ([]Answer, error) {
	if p.Address == "" {
		return nil, errors.New("no national server is pinned: the administrator pins it with `jukiterm peer add --national`")
	}
	out := make([]Answer, len(qs))
	if len(qs) == 0 {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, QueryTimeout+time.Duration(len(qs))*10*time.Millisecond)
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
	sendErr := make(chan error, 1)
	go func() {
		for i := 0; i < len(qs); i += 256 {
			frames := make([]*linkpb.Frame, 0, 256)
			for j, q := range qs[i:min(i+256, len(qs))] {
				q.Id = uint64(i + j + 1)
				frames = append(frames, &linkpb.Frame{Body: &linkpb.Frame_Query{Query: q}})
			}
			if err := c.SendAll(frames); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- nil
	}()
	answered := make([]bool, len(qs))
	for n := 0; n < len(qs); {
		f, err := c.Recv()
		if err != nil {
			return nil, fmt.Errorf("the national server stopped answering after %d of %d queries: %w", n, len(qs), err)
		}
		a := f.GetQueryAnswer()
		if a == nil || a.GetId() < 1 || a.GetId() > uint64(len(qs)) || answered[a.GetId()-1] {
			c.Fail(link.CodeUnexpected, "a QueryAnswer to one of the queries was expected")
			return nil, fmt.Errorf("the national server answered with an unexpected %s", link.FrameKind(f))
		}
		i := a.GetId() - 1
		answered[i] = true
		n++
		if a.GetError() != "" {
			out[i].Err = errors.New(a.GetError())
			continue
		}
		for _, b := range a.GetRecords() {
			var r record.Record
			if err := json.Unmarshal(b, &r); err != nil {
				return nil, fmt.Errorf("the national server's answer holds a record that cannot be read: %w", err)
			}
			out[i].Records = append(out[i].Records, r)
		}
	}
	if err := <-sendErr; err != nil {
		return nil, err
	}
	return out, nil
}

// QueryOf is the national query of a local search's keys.
func QueryOf(code, number, kana, name, birth string, sex int, address string) *linkpb.Query {
	q := &linkpb.Query{}
	switch {
	case code != "":
		q.Key = &linkpb.Query_ResidentCode{ResidentCode: code}
	case number != "":
		q.Key = &linkpb.Query_MyNumber{MyNumber: number}
	default:
		q.Key = &linkpb.Query_Four{Four: &linkpb.FourItems{NameKana: kana, Name: name, Birth: birth, Sex: uint32(sex), Address: address}}
	}
	return q
}
