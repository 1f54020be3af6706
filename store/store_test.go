package store

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestIngestSearchShow(t *testing.T) {
	s := openTemp(t)
	res := ingest(t, s, person(1), person(2).with("name", "男鹿　花", "name_kana", "オガ　ハナ", "sex", 2), person(1).with("id", "t-3"))
	if res.Applied != 2 || res.Rejected != 1 || res.Duplicates != 0 {
		t.Fatalf("result %+v", res)
	}
	if r := res.Rejections[0]; r.Line != 3 || r.Rule != "entering-current-resident" || r.ID != "t-3" {
		t.Fatalf("rejection %+v", r)
	}
	q := Query{Kana: "あきた　たろう"}
	if err := q.Normalize(s.Prefecture()); err != nil {
		t.Fatal(err)
	}
	got, err := s.Search(context.Background(), q)
	if err != nil || len(got) != 1 || got[0].ResidentCode != "12000000001" {
		t.Fatalf("search: %v %+v", err, got)
	}
	mustApply(t, s, change(2, "a", "転居", "address", "秋田県秋田市旭北錦町1番1号"))
	p, err := s.Get(context.Background(), "12000000002", true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Address != "秋田県秋田市旭北錦町1番1号" || len(p.Versions()) != 1 || p.Versions()[0].Address != "秋田県秋田市山王一丁目1番1号" {
		t.Fatalf("show: %+v", p)
	}
	if p.UpdateSeq <= p.Versions()[0].UpdateSeq || !p.Versions()[0].RetentionFlag {
		t.Fatalf("history row: seq %d after %d, retention %v", p.UpdateSeq, p.Versions()[0].UpdateSeq, p.Versions()[0].RetentionFlag)
	}
}

// The good corpus is a story of one file: every reason, applied in order.
func TestGoodCorpusApplies(t *testing.T) {
	f, err := os.Open("record/testdata/notifications.good.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := openTemp(t)
	res, err := s.Ingest(context.Background(), f, IngestOptions{})
	if err != nil || res.Applied != 16 || res.Rejected != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	p, err := s.Get(context.Background(), "12000000099", true)
	if err != nil || p.Status != "removed" || p.Reason != "転出" || len(p.Versions()) != 11 || p.NameKana != "オガ　タロー" {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestByteOrderMarkAccepted(t *testing.T) {
	s := openTemp(t)
	res := ingest(t, s, "\uFEFF"+string(lines(person(1))[:len(lines(person(1)))-1]), person(2))
	if res.Applied != 2 || res.Rejected != 0 {
		t.Fatalf("%+v", res)
	}
}

func TestBadFormatKeepsItsKeys(t *testing.T) {
	s := openTemp(t)
	res := ingest(t, s, person(1).with("adress", "x"))
	r := res.Rejections[0]
	if r.Rule != "bad-format" || r.ID != "t-1" || !strings.Contains(r.Message, `did you mean "address"`) {
		t.Fatalf("%+v", r)
	}
	var muni string
	s.w.QueryRow(`SELECT municipality FROM rejections`).Scan(&muni)
	if muni != "052019" {
		t.Fatalf("rejection recorded for municipality %q", muni)
	}
}

func TestAddressSearchIgnoresSpacing(t *testing.T) {
	s := openTemp(t)
	mustApply(t, s, person(1).with("address", "秋田県 横手市  中央町1"))
	q := Query{Address: "秋田県 横手市", Birth: "1990-01-15"}
	if err := q.Normalize(s.Prefecture()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Search(context.Background(), q); err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
}

// TestServedOnlyUnderItsKey: a file made under one storage key refuses another, so it
// is never served (or written) under a key it was not made with.
func TestServedOnlyUnderItsKey(t *testing.T) {
	s := openTemp(t)
	mustApply(t, s, person(1))
	path := s.Path()
	s.Close()
	if _, err := Open(path, Options{CacheMiB: 16, Keys: EphemeralKeys()}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("open under another key: %v", err)
	}
	if _, err := Open(path, Options{CacheMiB: 16}); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("open without a key: %v", err)
	}
	again, err := Open(path, Options{CacheMiB: 16, Keys: testKeys})
	if err != nil {
		t.Fatalf("open under its own key: %v", err)
	}
	again.Close()
}
