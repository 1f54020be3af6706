package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestMediaLedger: a stick is registered, issued, returned and retired; each change is
// a ledger line and an operation-log entry; impossible changes are refused and change
// nothing.
func TestMediaLedger(t *testing.T) {
	ctx := context.Background()
	s := openLogStore(t, newClock())
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	if err := s.AddOperator(ctx, "sato", "佐藤", 3, []Role{RoleProvision}, "admin", "test", now); err != nil {
		t.Fatal(err)
	}
	m := Medium{Serial: "SIM-0001", VendorID: 0x1d50, ProductID: 0x6198, Label: "提供用 1"}
	if err := s.RegisterMedium(ctx, m, "admin", now); err != nil {
		t.Fatal(err)
	}
	for what, err := range map[string]error{
		"a second registration":   s.RegisterMedium(ctx, m, "admin", now),
		"a serial with a space":   s.RegisterMedium(ctx, Medium{Serial: "A B"}, "admin", now),
		"issue to nobody":         s.IssueMedium(ctx, "SIM-0001", "nobody", "", "admin", now),
		"issue of an unknown one": s.IssueMedium(ctx, "SIM-9", "sato", "", "admin", now),
		"a bad return date":       s.IssueMedium(ctx, "SIM-0001", "sato", "26/12/2026", "admin", now),
		"return of one in stock":  s.ReturnMedium(ctx, "SIM-0001", "admin", now),
		"retire without a reason": s.RetireMedium(ctx, "SIM-0001", "", "admin", now),
	} {
		if err == nil {
			t.Errorf("%s was accepted", what)
		}
	}
	if err := s.RegisterMedium(ctx, m, "admin", now); err == nil || !strings.Contains(err.Error(), "registered already") {
		t.Fatalf("a second registration: %v", err)
	}
	steps := []func() error{
		func() error { return s.IssueMedium(ctx, "SIM-0001", "sato", "2026-12-26", "admin", now) },
		func() error { return s.ReturnMedium(ctx, "SIM-0001", "admin", now) },
		func() error { return s.IssueMedium(ctx, "SIM-0001", "sato", "", "admin", now) },
		func() error { return s.RetireMedium(ctx, "SIM-0001", "lost on the way back", "admin", now) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if i == 0 {
			if err := s.IssueMedium(ctx, "SIM-0001", "sato", "", "admin", now); !errors.Is(err, ErrMedia) || !strings.Contains(err.Error(), "issued to sato") {
				t.Fatalf("issue of an issued medium: %v", err)
			}
		}
	}
	if err := s.IssueMedium(ctx, "SIM-0001", "sato", "", "admin", now); err == nil {
		t.Fatal("a retired medium was issued")
	}
	got, err := s.GetMedium(ctx, "SIM-0001")
	if err != nil || got.State != MediumRetired || got.Holder != "" || got.Reason != "lost on the way back" || got.VendorID != 0x1d50 {
		t.Fatalf("the retired medium: %+v %v", got, err)
	}
	if _, err := s.GetMedium(ctx, "SIM-9"); !errors.Is(err, ErrNoMedium) {
		t.Fatalf("an unknown medium: %v", err)
	}
	hist, _ := s.MediaHistory(ctx, "SIM-0001")
	var changes []string
	for _, c := range hist {
		changes = append(changes, c.Change+":"+c.Holder)
	}
	if strings.Join(changes, " ") != "register: issue:sato return:sato issue:sato retire:sato" {
		t.Fatalf("ledger: %v", changes)
	}
	entries, _ := s.ReadLog(ctx, 0, 100)
	var actions []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "media.") {
			actions = append(actions, e.Action)
		}
	}
	if strings.Join(actions, " ") != "media.register media.issue media.return media.issue media.retire" {
		t.Fatalf("log: %v", actions)
	}
}

// TestRecipientsAndProvisions: a recipient is found by an application's recipient or
// its requesting body; a provision is kept with its log entry.
func TestRecipientsAndProvisions(t *testing.T) {
	ctx := context.Background()
	s := openLogStore(t, newClock())
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	r := Recipient{ID: "police", Name: "秋田県警察本部", Kind: RecipientBody, LegalBasis: "住基法 別表第5 第1号",
		AgeRecipient: "age1example", Items: []string{"resident_code", "name"}}
	if err := s.AddRecipient(ctx, r, "admin", now); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRecipient(ctx, Recipient{ID: "x", Name: "x", LegalBasis: "x", Kind: "friend", Items: []string{"name"}}, "admin", now); !errors.Is(err, ErrRecipient) {
		t.Fatalf("a bad kind: %v", err)
	}
	for _, a := range []Application{{ID: "A1", Body: "秋田県警察本部"}, {ID: "A2", Body: "police"}, {ID: "A3", Body: "どこか", Recipient: "police"}} {
		got, err := s.RecipientFor(ctx, a)
		if err != nil || got.ID != "police" || len(got.Items) != 2 {
			t.Fatalf("%s: %+v %v", a.ID, got, err)
		}
	}
	if _, err := s.RecipientFor(ctx, Application{ID: "A4", Body: "どこか"}); !errors.Is(err, ErrNoRecipient) {
		t.Fatalf("an application of an unregistered body: %v", err)
	}
	if err := s.AddApplication(ctx, Application{ID: "A5", Body: "b", Purpose: "p", LegalBasis: "l", ValidFrom: "2026-11-01", ValidTo: "2026-12-31", Recipient: "nobody"}, "admin", now); err == nil {
		t.Fatal("an application with an unknown recipient was accepted")
	}
	p := ProvisionRecord{ID: "P1", At: now, Application: "A3", Recipient: "police", Kind: "provision", Operator: "sato",
		Medium: "SIM-0001", Queries: 10, Matched: 8, NotFound: 3, Outcome: ProvisionWritten, ManifestSHA256: "ab", UpdateSeq: 7}
	if err := s.RecordProvision(ctx, p); err != nil {
		t.Fatal(err)
	}
	f := p
	f.ID, f.Outcome, f.Message = "P2", ProvisionFailed, "the medium was removed"
	if err := s.RecordProvision(ctx, f); err != nil {
		t.Fatal(err)
	}
	ps, err := s.Provisions(ctx, "A3")
	if err != nil || len(ps) != 2 || ps[1].Kind != "provision" || ps[0].Message == "" && ps[1].Message == "" {
		t.Fatalf("provisions: %+v %v", ps, err)
	}
	entries, _ := s.ReadLog(ctx, 0, 100)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); got != "recipient.add provision provision.failed" {
		t.Fatalf("log: %s", got)
	}
}
