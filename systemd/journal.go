package systemd

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/coreos/go-systemd/v22/journal"
)

// NewLogger logs to the journal with structured fields when journald runs, else as
// text to w. Callers never log a personal value: counts, kinds and codes of
// operations only.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	if journal.Enabled() {
		return slog.New(&journalHandler{level: level, send: journal.Send})
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// journalHandler is a slog.Handler writing journal entries: the message, a priority
// mapped from the level, and each attribute as an upper-case field.
type journalHandler struct {
	level  slog.Leveler
	attrs  []slog.Attr
	prefix string
	send   func(msg string, p journal.Priority, vars map[string]string) error
}

func (h *journalHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *journalHandler) Handle(_ context.Context, r slog.Record) error {
	vars := map[string]string{"SYSLOG_IDENTIFIER": "jukitermd"}
	for _, a := range h.attrs {
		addField(vars, "", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		addField(vars, h.prefix, a)
		return true
	})
	return h.send(r.Message, priority(r.Level), vars)
}

func (h *journalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), prefixed(h.prefix, as)...)
	return &c
}

func (h *journalHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.prefix = h.prefix + name + "_"
	return &c
}

func prefixed(prefix string, as []slog.Attr) []slog.Attr {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = slog.Attr{Key: prefix + a.Key, Value: a.Value}
	}
	return out
}

// addField adds an attribute as a journal field: upper case, [A-Z0-9_] only, not
// starting with an underscore (those are the journal's own).
func addField(vars map[string]string, prefix string, a slog.Attr) {
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			addField(vars, prefix+a.Key+"_", g)
		}
		return
	}
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, prefix+a.Key)
	name = strings.TrimLeft(name, "_")
	if name == "" || name == "MESSAGE" || name == "PRIORITY" {
		name = "FIELD_" + name
	}
	vars[name] = a.Value.Resolve().String()
}

// priority maps slog levels to syslog priorities.
func priority(l slog.Level) journal.Priority {
	switch {
	case l >= slog.LevelError:
		return journal.PriErr
	case l >= slog.LevelWarn:
		return journal.PriWarning
	case l >= slog.LevelInfo:
		return journal.PriInfo
	}
	return journal.PriDebug
}
