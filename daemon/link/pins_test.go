package link

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func TestNewPinSetRejects(t *testing.T) {
	fp := [32]byte{1}
	good := Pin{Name: "秋田市CS", Role: RoleCS, Municipality: "052019", SPKISHA256: fp}
	for name, ps := range map[string][]Pin{
		"no name":               {{Role: RoleNational, SPKISHA256: fp}},
		"control character":     {{Name: "a\nb", Role: RoleNational, SPKISHA256: fp}},
		"same name twice":       {good, {Name: "秋田市CS", Role: RoleNational, SPKISHA256: [32]byte{2}}},
		"unknown role":          {{Name: "x", Role: "prefecture", SPKISHA256: fp}},
		"CS without its code":   {{Name: "x", Role: RoleCS, SPKISHA256: fp}},
		"CS with a bad check":   {{Name: "x", Role: RoleCS, Municipality: "052018", SPKISHA256: fp}},
		"national with a code":  {{Name: "x", Role: RoleNational, Municipality: "052019", SPKISHA256: fp}},
		"no fingerprint":        {{Name: "x", Role: RoleNational}},
		"one key for two peers": {good, {Name: "全国サーバ", Role: RoleNational, SPKISHA256: fp}},
	} {
		if _, err := NewPinSet(ps); !errors.Is(err, ErrBadPin) {
			t.Errorf("%s: %v, want ErrBadPin", name, err)
		}
	}
	s, err := NewPinSet([]Pin{good, {Name: "全国サーバ", Role: RoleNational, SPKISHA256: [32]byte{2}}})
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := s.Lookup(fp); !ok || p.Municipality != "052019" {
		t.Fatalf("Lookup: %+v %v", p, ok)
	}
	if _, ok := s.Lookup([32]byte{3}); ok {
		t.Fatal("Lookup found an unpinned key")
	}
}

// TestIdentityChecked: a certificate that is not for the key, or no pin set, is refused
// when the configuration is built, not at the first connection.
func TestIdentityChecked(t *testing.T) {
	a := newParty(t, "a", yearFrom, yearTo)
	b := newParty(t, "b", yearFrom, yearTo)
	ps := pins(t, Pin{Name: "b", Role: RoleCS, Municipality: "052019", SPKISHA256: b.fp})
	mixed := Identity{Certificate: a.id.Certificate, Key: b.id.Key}
	if _, err := ServerConfig(mixed, Policy{Pins: ps, Role: RoleCS}); err == nil || !strings.Contains(err.Error(), "not for its key") {
		t.Errorf("certificate of another key: %v", err)
	}
	if _, err := ClientConfig(Identity{}, Policy{Pins: ps, Role: RoleCS}); err == nil {
		t.Error("no identity accepted")
	}
	if _, err := ServerConfig(a.id, Policy{Role: RoleCS}); err == nil {
		t.Error("no pin set accepted")
	}
	if _, err := ServerConfig(a.id, Policy{Pins: ps, Role: "cs "}); err == nil {
		t.Error("unknown role accepted")
	}
}

// TestNoCertificateRefused: a TLS 1.3 client that presents no certificate is refused.
func TestNoCertificateRefused(t *testing.T) {
	w := newWorld(t)
	addr, acc := serve(t, serverConfig(t, w.terminal.id, Policy{Pins: w.terminalPins, Role: RoleCS}))
	cfg := clientConfig(t, w.cs.id, Policy{Pins: w.peerPins, Role: RoleTerminal})
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &tls.Certificate{}, nil }
	cc, err := Dial(context.Background(), addr, cfg)
	if cc != nil {
		defer cc.Close()
	}
	refusedAt(t, acc, cc, err, ReasonNoCertificate, [32]byte{})
}

// TestSilentClientTimesOut: a client that connects and says nothing is dropped when the
// handshake's time is up.
func TestSilentClientTimesOut(t *testing.T) {
	w := newWorld(t)
	cfg := serverConfig(t, w.terminal.id, Policy{Pins: w.terminalPins, Role: RoleCS})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = Accept(ctx, sc, cfg)
	var re *RefusedError
	if !errors.As(err, &re) || re.Reason != ReasonTimeout {
		t.Fatalf("%v, want timeout", err)
	}
}
