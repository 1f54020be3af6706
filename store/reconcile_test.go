package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestReconcileScriptedMonth: a month of scripted use with known anomalies; the report
// finds each of them and nothing else.
func TestReconcileScriptedMonth(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	jst := time.FixedZone("JST", 9*3600)
	at := func(day, hour, min int) time.Time { return time.Date(2026, 6, day, hour, min, 0, 0, jst) }
	for _, a := range []Application{
		{ID: "P-1", Body: "秋田県警察本部", Purpose: "本人確認", LegalBasis: "住基法 別表第5", Expected: 12, ValidFrom: "2026-06-01", ValidTo: "2026-06-30"},
		{ID: "P-2", Body: "秋田市", Purpose: "年金", LegalBasis: "住基法 別表第6", Expected: 5, ValidFrom: "2026-06-01", ValidTo: "2026-06-10"},
		{ID: "P-3", Body: "税務課", Purpose: "課税", LegalBasis: "条例", Expected: 100, ValidFrom: "2026-06-01", ValidTo: "2026-06-30"},
	} {
		if err := s.AddApplication(ctx, a, "admin", at(1, 9, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddApplication(ctx, Application{ID: "P-1", Body: "x", Purpose: "x", LegalBasis: "x", ValidFrom: "2026-06-01", ValidTo: "2026-06-02"}, "admin", at(1, 9, 0)); !errors.Is(err, ErrBadApplication) {
		t.Fatalf("a second P-1: %v", err)
	}
	if err := s.CloseApplication(ctx, "P-3", "admin", "申請取下げ", at(15, 12, 0)); err != nil {
		t.Fatal(err)
	}
	log := func(when time.Time, op, action, app string, results int) {
		t.Helper()
		d := map[string]any{"application": app}
		if action == "search" {
			d["results"] = results
		} else {
			d["found"] = results > 0
		}
		if _, err := s.Log(ctx, Entry{At: when, Operator: op, Action: action, Detail: d,
			Keyed: []Keyed{{Field: "resident_code", Value: "12000000001"}}}); err != nil {
			t.Fatal(err)
		}
	}
	// Ordinary use: sato, weekdays in office hours, within P-1's expected count.
	for day := 1; day <= 5; day++ {
		log(at(day, 10, 0), "sato", "search", "P-1", 1)
		log(at(day, 10, 5), "sato", "view", "P-1", 1)
	}
	// Anomalies, one of each:
	log(at(8, 11, 0), "suzuki", "search", "", 1)     // no application
	log(at(11, 10, 0), "suzuki", "search", "P-2", 1) // P-2 expired on the 10th
	log(at(16, 10, 0), "suzuki", "search", "P-3", 1) // P-3 closed on the 15th
	log(at(12, 10, 0), "suzuki", "search", "P-9", 1) // unknown
	log(at(9, 22, 30), "sato", "search", "P-1", 1)   // at night
	log(at(13, 10, 0), "sato", "search", "P-1", 1)   // a Saturday
	for i := 0; i < 301; i++ {                       // unusual volume in one day
		log(at(17, 9, 0).Add(time.Duration(i)*time.Second), "tanaka", "search", "P-3", 0)
	}
	log(at(14, 9, 0), "other", "search", "P-1", 1)              // Sunday, and P-1 now over: 10+2+1+1 = 14 > 12
	log(at(2, 10, 0).AddDate(0, 1, 0), "sato", "search", "", 1) // next month: outside the period

	rep, err := s.Reconcile(ctx, ReconcileOptions{From: at(1, 0, 0), To: at(1, 0, 0).AddDate(0, 1, 0), Loc: jst})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.NoApplication) != 1 || rep.NoApplication[0].Operator != "suzuki" {
		t.Errorf("no application: %+v", rep.NoApplication)
	}
	bad := map[string]string{}
	for _, f := range rep.BadApplication {
		bad[f.Application] = f.Why
	}
	if len(rep.BadApplication) != 3+301 || bad["P-2"] != "application expired" || bad["P-3"] != "application closed" || bad["P-9"] != "unknown application" {
		t.Errorf("bad application: %d findings, %v", len(rep.BadApplication), bad)
	}
	if len(rep.OutOfHours) != 3 {
		t.Errorf("out of hours: %+v", rep.OutOfHours)
	}
	if len(rep.UnusualVolume) != 1 || rep.UnusualVolume[0].Operator != "tanaka" || rep.UnusualVolume[0].Count != 301 {
		t.Errorf("unusual volume: %+v", rep.UnusualVolume)
	}
	for _, l := range rep.Lines {
		if l.Application == "P-1" && (!l.OverExpected || l.Expected != 12) {
			t.Errorf("P-1 is over its expected count: %+v", l)
		}
		if l.Application == "P-3" && l.OverExpected {
			t.Errorf("P-3 is not over: %+v", l)
		}
		if l.Operator == "sato" && l.Application == "P-1" && (l.Searches != 7 || l.Views != 5 || l.Records != 12) {
			t.Errorf("sato under P-1: %+v", l)
		}
	}
}
