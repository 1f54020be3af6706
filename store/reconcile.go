package store

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// ReconcileOptions bound an audit reconciliation.
type ReconcileOptions struct {
	From, To time.Time      // entries at or after From and before To
	Loc      *time.Location // the terminal's local time (default time.Local)
	// Office hours, local: use outside them (or on a Saturday or Sunday) is reported.
	WorkStart, WorkEnd int // hours; default 8 and 20
	// DailyLimit: more searches and views by one operator on one day is reported as
	// unusual volume; default 300.
	DailyLimit int
}

// Reconcile is the audit report over a period: per operator and application, what was
// done against what was expected, and every use that needs an explanation.
type Reconcile struct {
	From           time.Time       `json:"from"`
	To             time.Time       `json:"to"`
	Lines          []ReconcileLine `json:"lines"`
	NoApplication  []Finding       `json:"no_application"`
	BadApplication []Finding       `json:"bad_application"` // unknown, closed, expired or not yet valid
	OutOfHours     []Finding       `json:"out_of_hours"`
	UnusualVolume  []Volume        `json:"unusual_volume"`
}

// ReconcileLine counts one operator's use of one application ("" for none).
type ReconcileLine struct {
	Operator     string `json:"operator"`
	Application  string `json:"application"`
	Searches     int    `json:"searches"`
	Views        int    `json:"views"`
	Provisions   int    `json:"provisions"` // bulk provisions and transfers written`
	Records      int    `json:"records"`    // records found by the searches, viewed, and provided
	Expected     int    `json:"expected"`   // the application's expected count (all operators)
	OverExpected bool   `json:"over_expected"`
}

// Finding is one entry that needs an explanation.
type Finding struct {
	Index       int64     `json:"index"`
	At          time.Time `json:"at"`
	Operator    string    `json:"operator"`
	Action      string    `json:"action"`
	Application string    `json:"application,omitempty"`
	Why         string    `json:"why"`
}

// Volume is one operator's unusual day.
type Volume struct {
	Operator string `json:"operator"`
	Day      string `json:"day"`
	Count    int    `json:"count"`
}

// Reconcile reads the operation log's searches, views and provisions over the period and reports
// them per operator and application.
func (s *Store) Reconcile(ctx context.Context, o ReconcileOptions) (Reconcile, error) {
	if o.Loc == nil {
		o.Loc = time.Local
	}
	if o.WorkStart == 0 && o.WorkEnd == 0 {
		o.WorkStart, o.WorkEnd = 8, 20
	}
	if o.DailyLimit <= 0 {
		o.DailyLimit = 300
	}
	rep := Reconcile{From: o.From, To: o.To, Lines: []ReconcileLine{}, NoApplication: []Finding{},
		BadApplication: []Finding{}, OutOfHours: []Finding{}, UnusualVolume: []Volume{}}
	apps, err := s.Applications(ctx)
	if err != nil {
		return rep, err
	}
	byID := map[string]Application{}
	for _, a := range apps {
		byID[a.ID] = a
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+rowCols+` FROM oplog WHERE at >= ? AND at < ?
		AND action IN ('search', 'view', 'provision', 'transfer', 'provision.unverified') ORDER BY idx`, o.From.UnixNano(), o.To.UnixNano())
	if err != nil {
		return rep, fmt.Errorf("audit reconcile: %w", err)
	}
	defer rows.Close()
	type key struct{ op, app string }
	lines := map[key]*ReconcileLine{}
	perDay := map[[2]string]int{}
	appRecords := map[string]int{}
	for rows.Next() {
		var r row
		if err := scanRow(rows, &r); err != nil {
			return rep, err
		}
		if !r.intact() {
			return rep, fmt.Errorf("%w: entry %d does not match its digest: run jukiterm audit verify", ErrLogTampered, r.idx)
		}
		e, err := r.entry()
		if err != nil {
			return rep, err
		}
		app, _ := e.Detail["application"].(string)
		l := lines[key{e.Operator, app}]
		if l == nil {
			l = &ReconcileLine{Operator: e.Operator, Application: app}
			lines[key{e.Operator, app}] = l
		}
		records := 0
		switch e.Action {
		case "search":
			l.Searches++
			if n, ok := e.Detail["results"].(float64); ok {
				records = int(n)
			}
		case "provision", "transfer", "provision.unverified": // unverified: may have gone out
			l.Provisions++
			if n, ok := e.Detail["matched"].(float64); ok {
				records = int(n)
			}
		default:
			l.Views++
			if found, _ := e.Detail["found"].(bool); found {
				records = 1
			}
		}
		l.Records += records
		appRecords[app] += records
		local := e.At.In(o.Loc)
		f := Finding{Index: e.Index, At: e.At, Operator: e.Operator, Action: e.Action, Application: app}
		// A view follows a search, which named (or did not name) the application.
		switch a, known := byID[app]; {
		case e.Action == "view":
		case app == "":
			f.Why = "no application named"
			rep.NoApplication = append(rep.NoApplication, f)
		case !known:
			f.Why = "unknown application"
			rep.BadApplication = append(rep.BadApplication, f)
		default:
			if state := a.StateAt(e.At, o.Loc); state != "valid" {
				f.Why = "application " + state
				rep.BadApplication = append(rep.BadApplication, f)
			}
		}
		if h := local.Hour(); h < o.WorkStart || h >= o.WorkEnd || local.Weekday() == time.Saturday || local.Weekday() == time.Sunday {
			f.Why = "outside office hours (" + local.Format("Mon 15:04") + ")"
			rep.OutOfHours = append(rep.OutOfHours, f)
		}
		perDay[[2]string{e.Operator, local.Format(time.DateOnly)}]++
	}
	if err := rows.Err(); err != nil {
		return rep, err
	}
	for _, l := range lines {
		if a, ok := byID[l.Application]; ok {
			l.Expected = a.Expected
			l.OverExpected = appRecords[l.Application] > a.Expected
		}
		rep.Lines = append(rep.Lines, *l)
	}
	sort.Slice(rep.Lines, func(i, j int) bool {
		if rep.Lines[i].Operator != rep.Lines[j].Operator {
			return rep.Lines[i].Operator < rep.Lines[j].Operator
		}
		return rep.Lines[i].Application < rep.Lines[j].Application
	})
	for k, n := range perDay {
		if n > o.DailyLimit {
			rep.UnusualVolume = append(rep.UnusualVolume, Volume{Operator: k[0], Day: k[1], Count: n})
		}
	}
	sort.Slice(rep.UnusualVolume, func(i, j int) bool {
		return rep.UnusualVolume[i].Day+rep.UnusualVolume[i].Operator < rep.UnusualVolume[j].Day+rep.UnusualVolume[j].Operator
	})
	return rep, nil
}
