package store

import (
	"context"
	"errors"
	"testing"
)

func linkLines(start uint64, ns ...any) []LinkLine {
	var out []LinkLine
	for i, x := range ns {
		out = append(out, LinkLine{Seq: start + uint64(i), Line: mustJSON(x)})
	}
	return out
}

func countRows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var c int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestApplyFromCS: a CS link's notifications are applied as a file's are, each with
// its outcome; another municipality's is wrong-peer; the link's sequence is durable
// with them, so a resend is answered as duplicates without applying or recording
// anything twice; sequence numbers must increase.
func TestApplyFromCS(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	other := person(3).with("municipality", "052027", "id", "o-3", "address", "秋田県能代市上町1番1号")
	in := linkLines(1, person(1), person(2), other, person(1).with("id", "t-1b"), person(4).with("my_number", "123"))
	got, err := s.ApplyFromCS(ctx, "052019", in, "cs-052019")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ outcome, rule string }{
		{OutcomeApplied, ""}, {OutcomeApplied, ""}, {OutcomeRejected, "wrong-peer"},
		{OutcomeRejected, "entering-current-resident"}, {OutcomeRejected, "bad-my-number"},
	}
	if len(got) != len(want) {
		t.Fatalf("outcomes %+v", got)
	}
	for i, w := range want {
		if got[i].Seq != uint64(i+1) || got[i].Outcome != w.outcome || got[i].Rule != w.rule {
			t.Errorf("line %d: %+v, want %s %s", i+1, got[i], w.outcome, w.rule)
		}
	}
	if got[0].UpdateSeq != 1 || got[1].UpdateSeq != 2 {
		t.Errorf("更新順番号 %d %d", got[0].UpdateSeq, got[1].UpdateSeq)
	}
	if last, _ := s.CSLastSeq(ctx, "052019"); last != 5 {
		t.Fatalf("the link reached %d, want 5", last)
	}
	rej := countRows(t, s, "rejections")
	if rej != 3 {
		t.Fatalf("%d rejections recorded", rej)
	}
	// The CS did not get the acks and sends again from 4, then new ones.
	again, err := s.ApplyFromCS(ctx, "052019", linkLines(4, person(1).with("id", "t-1b"), person(4).with("my_number", "123"), person(5)), "cs-052019")
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Outcome != OutcomeDuplicate || again[1].Outcome != OutcomeDuplicate || again[2].Outcome != OutcomeApplied || again[2].UpdateSeq != 3 {
		t.Fatalf("a resend: %+v", again)
	}
	if c := countRows(t, s, "rejections"); c != rej {
		t.Fatalf("a resend recorded its rejections again: %d", c)
	}
	if _, err := s.ApplyFromCS(ctx, "052019", []LinkLine{{Seq: 9, Line: mustJSON(person(6))}, {Seq: 8, Line: mustJSON(person(7))}}, "cs-052019"); !errors.Is(err, ErrLinkOrder) {
		t.Fatalf("decreasing sequence numbers: %v", err)
	}
	if last, _ := s.CSLastSeq(ctx, "052027"); last != 0 {
		t.Fatalf("another CS's link: %d", last)
	}
	es, err := s.ReadLog(ctx, 0, int(s.LogSize()))
	if err != nil {
		t.Fatal(err)
	}
	var batches int
	for _, e := range es {
		if e.Action == "link.batch" {
			batches++
			if e.Operator != "cs-052019" || e.Detail["municipality"] != "052019" || e.Detail["first_seq"] == nil {
				t.Errorf("link.batch entry %+v", e)
			}
		}
	}
	if batches != 2 {
		t.Fatalf("%d link.batch entries", batches)
	}
}

// TestOutbox: every applied update, from a file or a link, is queued for the national
// server in its own transaction, read back in 更新順番号 order with the version it made
// (from history once replaced), and trimmed only by an acknowledgement.
func TestOutbox(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	ingest(t, s, person(1), person(2), person(1).with("id", "bad", "my_number", "1")) // 2 applied
	mustApply(t, s, change(1, "a", "転居", "address", "秋田県秋田市中通二丁目2番2号"))
	if _, err := s.ApplyFromCS(ctx, "052019", linkLines(1, person(3)), "cs-052019"); err != nil {
		t.Fatal(err)
	}
	st, err := s.Outbox(ctx)
	if err != nil || st.Backlog != 4 || st.Oldest != 1 || st.Acked != 0 {
		t.Fatalf("outbox %+v %v", st, err)
	}
	items, err := s.OutboxNext(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 4 {
		t.Fatalf("%d items", len(items))
	}
	for i, it := range items {
		if it.UpdateSeq != int64(i+1) || it.Record.UpdateSeq != it.UpdateSeq {
			t.Errorf("item %d: %d %d", i, it.UpdateSeq, it.Record.UpdateSeq)
		}
	}
	if items[0].Record.Address != "秋田県秋田市山王一丁目1番1号" || items[0].Record.RetentionFlag {
		t.Errorf("the first version of person 1 (now in history): %+v", items[0].Record)
	}
	if items[2].Record.Address != "秋田県秋田市中通二丁目2番2号" {
		t.Errorf("the 転居: %+v", items[2].Record)
	}
	if rest, _ := s.OutboxNext(ctx, 2, 1); len(rest) != 1 || rest[0].UpdateSeq != 3 {
		t.Fatalf("after 2, limit 1: %+v", rest)
	}
	if err := s.OutboxAck(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.OutboxAck(ctx, 1); err != nil { // a late, older acknowledgement
		t.Fatal(err)
	}
	st, _ = s.Outbox(ctx)
	if st.Backlog != 2 || st.Oldest != 3 || st.Acked != 2 {
		t.Fatalf("after the ack: %+v", st)
	}
}
