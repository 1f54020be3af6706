package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPeers(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	key := func(c string) string { return strings.Repeat(c, 64) }
	cs := Peer{Role: PeerCS, Municipality: "052019", SPKISHA256: key("a"), NotAfter: now.AddDate(1, 0, 0), Reason: "秋田市 通知 2026-88"}
	if err := s.AddPeer(ctx, cs, "admin", now); err != nil {
		t.Fatal(err)
	}
	nat := Peer{Role: PeerNational, Address: "zenkoku.example:7443", SPKISHA256: key("b"), NotAfter: now.AddDate(2, 0, 0), Reason: "機構 通知"}
	if err := s.AddPeer(ctx, nat, "admin", now); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]Peer{
		"same municipality": {Role: PeerCS, Municipality: "052019", SPKISHA256: key("c"), Reason: "x"},
		"same key":          {Role: PeerCS, Municipality: "052027", SPKISHA256: key("a"), Reason: "x"},
		"bad code":          {Role: PeerCS, Municipality: "52019", SPKISHA256: key("d"), Reason: "x"},
		"no address":        {Role: PeerNational, SPKISHA256: key("e"), Reason: "x"},
		"no reason":         {Role: PeerCS, Municipality: "052035", SPKISHA256: key("f")},
		"not a key":         {Role: PeerCS, Municipality: "052035", SPKISHA256: "abc", Reason: "x"},
		"another role":      {Role: "admin", SPKISHA256: key("9"), Reason: "x"},
	} {
		if err := s.AddPeer(ctx, bad, "admin", now); !errors.Is(err, ErrPeer) {
			t.Errorf("%s: %v", name, err)
		}
	}
	ps, err := s.Peers(ctx, false)
	if err != nil || len(ps) != 2 || ps[0].Name != "cs-052019" || ps[1].Name != "national" || ps[1].Address != "zenkoku.example:7443" || !ps[0].NotAfter.Equal(cs.NotAfter) {
		t.Fatalf("peers %+v %v", ps, err)
	}
	if err := s.RemovePeer(ctx, "cs-052019", "証明書更新", "admin", now); err != nil {
		t.Fatal(err)
	}
	if err := s.RemovePeer(ctx, "cs-052019", "again", "admin", now); !errors.Is(err, ErrPeer) {
		t.Fatalf("removed twice: %v", err)
	}
	cs.SPKISHA256 = key("c")
	if err := s.AddPeer(ctx, cs, "admin", now); err != nil {
		t.Fatalf("a new key after the removal: %v", err)
	}
	all, _ := s.Peers(ctx, true)
	cur, _ := s.Peers(ctx, false)
	if len(all) != 3 || len(cur) != 2 || all[0].RemovedAt == nil {
		t.Fatalf("all %+v, current %+v", all, cur)
	}
	es, _ := s.ReadLog(ctx, 0, int(s.LogSize()))
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, " ") != "peer.add peer.add peer.remove peer.add" {
		t.Fatalf("log %v", actions)
	}
}
