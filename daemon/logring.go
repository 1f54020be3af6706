package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"jukiterm/daemon/api"
)

// LogRing keeps the newest lines of jukitermd's own log in memory, for `jukiterm
// service logs`: the vendor reads the daemon's log without access to the journal.
// The daemon's log lines carry no personal value (names, codes, numbers, addresses of
// residents); TestServiceEndToEnd (cmd/jukiterm) checks it over a daemon's whole output.
type LogRing struct {
	mu    sync.Mutex
	lines []api.LogLine
	next  int
	full  bool
	now   func() time.Time
}

// NewLogRing keeps the newest n lines.
func NewLogRing(n int) *LogRing {
	if n <= 0 {
		n = 2000
	}
	return &LogRing{lines: make([]api.LogLine, n), now: time.Now}
}

// Write takes one formatted line (a slog text handler writes each record at once).
func (l *LogRing) Write(p []byte) (int, error) {
	line := string(bytes.TrimRight(p, "\n"))
	level := ""
	if i := bytes.Index(p, []byte("level=")); i >= 0 {
		rest := p[i+len("level="):]
		if j := bytes.IndexByte(rest, ' '); j >= 0 {
			level = string(rest[:j])
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines[l.next] = api.LogLine{At: l.now().UTC().Format(time.RFC3339Nano), Level: level, Text: line}
	l.next = (l.next + 1) % len(l.lines)
	if l.next == 0 {
		l.full = true
	}
	return len(p), nil
}

// Since returns the kept lines at or after since (all with a zero since), oldest
// first.
func (l *LogRing) Since(since time.Time) []api.LogLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	var all []api.LogLine
	if l.full {
		all = append(all, l.lines[l.next:]...)
	}
	all = append(all, l.lines[:l.next]...)
	out := []api.LogLine{}
	for _, x := range all {
		if t, err := time.Parse(time.RFC3339Nano, x.At); err == nil && !t.Before(since) {
			out = append(out, x)
		}
	}
	return out
}

// Handler returns a handler that sends each record to next and, formatted as text,
// to the ring, at level or above.
func (l *LogRing) Handler(next slog.Handler, level slog.Leveler) slog.Handler {
	return teeHandler{next, slog.NewTextHandler(l, &slog.HandlerOptions{Level: level})}
}

type teeHandler struct{ a, b slog.Handler }

func (t teeHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	return t.a.Enabled(ctx, lv) || t.b.Enabled(ctx, lv)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	if t.a.Enabled(ctx, r.Level) {
		errs = append(errs, t.a.Handle(ctx, r.Clone()))
	}
	if t.b.Enabled(ctx, r.Level) {
		errs = append(errs, t.b.Handle(ctx, r.Clone()))
	}
	return errors.Join(errs...)
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{t.a.WithAttrs(as), t.b.WithAttrs(as)}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{t.a.WithGroup(name), t.b.WithGroup(name)}
}

// SetLogRing gives the server the ring its logger writes to (before Serve).
func (s *Server) SetLogRing(l *LogRing) { s.service.ring = l }
