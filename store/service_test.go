package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestServiceEntries: the service sessions' entries are read alone, through their own
// index, oldest first, from a time on.
func TestServiceEntries(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	t0 := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	for i, a := range []string{"search", "service.start", "view", "service.command", "servicex", "service.end"} {
		if _, err := s.Log(ctx, Entry{At: t0.Add(time.Duration(i) * time.Minute), Operator: "v+s", Action: a, Detail: map[string]any{"session": "S-1"}}); err != nil {
			t.Fatal(err)
		}
	}
	es, err := s.ServiceEntries(ctx)
	if err != nil || len(es) != 3 || es[0].Action != "service.start" || es[2].Action != "service.end" {
		t.Fatalf("%+v %v", es, err)
	}
	es, _ = s.ServiceEntriesSince(ctx, t0.Add(2*time.Minute))
	if len(es) != 2 || es[0].Action != "service.command" {
		t.Fatalf("since: %+v", es)
	}
	var plan, detail string
	var a, b int
	if err := s.r.QueryRow(`EXPLAIN QUERY PLAN SELECT idx FROM oplog INDEXED BY oplog_service WHERE at >= 0 AND action LIKE 'service.%' ORDER BY idx`).Scan(&a, &b, &plan, &detail); err != nil {
		t.Fatal(err)
	}
	if detail == "" || !strings.Contains(detail, "oplog_service") {
		t.Fatalf("the plan does not use the service index: %q", detail)
	}
}
