package systemd

import (
	"log/slog"
	"testing"

	"github.com/coreos/go-systemd/v22/journal"
)

func TestJournalEntries(t *testing.T) {
	type entry struct {
		msg  string
		pri  journal.Priority
		vars map[string]string
	}
	var got []entry
	h := &journalHandler{level: slog.LevelInfo, send: func(m string, p journal.Priority, v map[string]string) error {
		got = append(got, entry{m, p, v})
		return nil
	}}
	log := slog.New(h).With("component", "ingest")
	log.Debug("hidden")
	log.Info("ingest", "applied", 3, "stopped-early", false)
	log.WithGroup("peer").Warn("request denied", "uid", 1000)
	log.Error("shutdown", "_private", "x")
	if len(got) != 3 {
		t.Fatalf("%d entries, want 3 (debug is below the level)", len(got))
	}
	if e := got[0]; e.msg != "ingest" || e.pri != journal.PriInfo || e.vars["APPLIED"] != "3" ||
		e.vars["STOPPED_EARLY"] != "false" || e.vars["COMPONENT"] != "ingest" || e.vars["SYSLOG_IDENTIFIER"] != "jukitermd" {
		t.Fatalf("info entry %+v", e)
	}
	if e := got[1]; e.pri != journal.PriWarning || e.vars["PEER_UID"] != "1000" {
		t.Fatalf("warn entry %+v", e)
	}
	if e := got[2]; e.pri != journal.PriErr || e.vars["PRIVATE"] != "x" {
		t.Fatalf("error entry %+v", e)
	}
}
