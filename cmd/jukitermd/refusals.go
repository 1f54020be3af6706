package main

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"

	"jukiterm/daemon/link"
	"jukiterm/store"
)

// refusalEvery bounds the link.refused entries: one per remote address and reason in
// this period, the others counted into the next.
const refusalEvery = time.Minute

// refusals records refused link connections in the operation log (link.refused),
// bounded so that a flood of connections cannot fill the log.
type refusals struct {
	st   *store.Store
	log  *slog.Logger
	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

func newRefusals(st *store.Store, log *slog.Logger) *refusals {
	return &refusals{st: st, log: log, last: map[string]time.Time{}, held: map[string]int{}}
}

func (r *refusals) record(e *link.RefusedError) {
	host, _, err := net.SplitHostPort(e.Remote)
	if err != nil {
		host = e.Remote
	}
	key := host + " " + e.Reason
	now := time.Now()
	r.mu.Lock()
	if t, ok := r.last[key]; ok && now.Sub(t) < refusalEvery {
		r.held[key]++
		r.mu.Unlock()
		return
	}
	if len(r.last) > 10000 { // forget old addresses rather than grow without bound
		for k, t := range r.last {
			if now.Sub(t) >= refusalEvery {
				delete(r.last, k)
				delete(r.held, k)
			}
		}
	}
	r.last[key] = now
	more := r.held[key]
	delete(r.held, key)
	r.mu.Unlock()
	d := map[string]any{"reason": e.Reason, "remote": e.Remote, "peer": e.Peer, "since_last": more}
	if e.Fingerprint != [32]byte{} {
		d["spki_sha256"] = link.FormatFingerprint(e.Fingerprint)
	}
	r.log.Warn("a link connection refused", "reason", e.Reason, "remote", e.Remote, "peer", e.Peer, "more_since_last", more)
	if _, err := r.st.Log(context.Background(), store.Entry{Operator: "jukitermd", Action: "link.refused", Detail: d}); err != nil {
		r.log.Error("the operation log could not record a refused link", "err", err)
	}
}
