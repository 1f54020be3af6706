package store

import (
	"crypto/sha256"
	"sync"
	"time"

	"jukiterm/store/record"
)

// The rule ids of the logic checks are the ingest's contract (FORMATS.md §2), so which
// rule a crafted notification fails tells its sender something of the file: whether a
// code is in it, and by repeating with other dates or municipalities, more. Every
// ingested line's codes are keyed in the operation log under the sender (audit
// lookup finds each probe); besides, the store watches for the pattern itself: when
// one sender's notifications for one person are rejected under the file's rules
// ProbeThreshold times within ProbeWindow, an ingest.probe entry, with the person's
// 住民票コード keyed, is written in that batch's transaction for the auditor (and
// again at each further ProbeThreshold).

// ProbeThreshold and ProbeWindow bound what counts as probing (variables for tests).
var (
	ProbeThreshold = 3
	ProbeWindow    = 24 * time.Hour
)

// probeWatch counts, in memory, file-rule rejections per sender and person.
type probeWatch struct {
	mu   sync.Mutex
	seen map[[32]byte][]time.Time // by SHA-256 of sender and code: never the code itself
}

// rejected counts one rejection of operator's notification for code under rule, and
// tells how many there were in the window when that count is a multiple of
// ProbeThreshold (0 otherwise).
func (p *probeWatch) rejected(operator, code, rule string, now time.Time) int {
	if !record.FileRules[rule] || code == "" {
		return 0
	}
	key := sha256.Sum256([]byte(operator + "\x00" + code))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen == nil {
		p.seen = map[[32]byte][]time.Time{}
	}
	times := p.seen[key][:0]
	for _, t := range p.seen[key] {
		if now.Sub(t) < ProbeWindow {
			times = append(times, t)
		}
	}
	times = append(times, now)
	p.seen[key] = times
	if len(p.seen) > 100_000 { // forget the oldest patterns first: bounded memory
		p.prune(now)
	}
	if len(times)%ProbeThreshold == 0 {
		return len(times)
	}
	return 0
}

// prune drops what is out of the window (under mu).
func (p *probeWatch) prune(now time.Time) {
	for k, ts := range p.seen {
		if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= ProbeWindow {
			delete(p.seen, k)
		}
	}
}

// probeEntry is the operation log's note of a suspected probe.
func probeEntry(operator, code string, count int) Entry {
	return Entry{Operator: operator, Action: "ingest.probe",
		Detail: map[string]any{"rejections": count, "window_hours": int(ProbeWindow.Hours()),
			"what": "notifications for one person rejected again and again under the file's rules"},
		Keyed: []Keyed{{Field: "resident_code", Value: code}}}
}
