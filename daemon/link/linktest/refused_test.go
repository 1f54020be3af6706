package linktest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"jukiterm/daemon/link"
	"jukiterm/daemon/link/cs"
	"jukiterm/hwsim/cssim"
	"jukiterm/hwsim/linkworld"
)

// TestRefusedCS: a CS with an unknown key, one with an expired certificate, a key
// pinned as the national server, a plain TCP client and an HTTP client are refused at
// the handshake, each reported (link.refused) with its reason; a CS pinned for one
// municipality has another's notifications rejected as wrong-peer (TestThreeCSToNational).
func TestRefusedCS(t *testing.T) {
	good := NewParty(t, "cs-052019")
	natKey := NewParty(t, "national-impostor")
	expired := expiredParty(t)
	w := Start(t,
		link.Pin{Name: "cs-052019", Role: link.RoleCS, Municipality: "052019", SPKISHA256: good.SPKI()},
		link.Pin{Name: "cs-052027", Role: link.RoleCS, Municipality: "052027", SPKISHA256: expired.SPKI()},
		link.Pin{Name: "national", Role: link.RoleNational, SPKISHA256: natKey.SPKI()})
	ctx := context.Background()
	for name, c := range map[string]struct {
		party  Party
		reason string
	}{
		"unknown key":    {NewParty(t, "stranger"), link.ReasonUnknown},
		"expired":        {expired, link.ReasonExpired},
		"national's key": {natKey, link.ReasonWrongRole},
	} {
		sim := w.CS(t, "052019", c.party)
		sim.Retries = 1
		if _, err := sim.Run(ctx, [][]byte{[]byte(`{}`)}); err == nil {
			t.Errorf("%s: let in", name)
		}
		e := nextRefusal(t, w)
		if e.Reason != c.reason {
			t.Errorf("%s: refused as %q, want %q (%v)", name, e.Reason, c.reason, e)
		}
		for len(w.Refused) > 0 { // the retry's
			<-w.Refused
		}
	}
	// Plain TCP with garbage, and HTTP.
	nc, err := net.Dial("tcp", w.CSAddr)
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte("HELLO jukiterm\r\n\r\n"))
	if e := nextRefusal(t, w); e.Reason != link.ReasonNotTLS {
		t.Errorf("plain TCP: %q", e.Reason)
	}
	nc.Close()
	hc := &http.Client{Timeout: 5 * time.Second}
	if _, err := hc.Get("http://" + w.CSAddr + "/v1/health"); err == nil {
		t.Error("an HTTP client got an answer")
	}
	if e := nextRefusal(t, w); e.Reason != link.ReasonNotTLS {
		t.Errorf("HTTP: %q", e.Reason)
	}
	// HTTPS without a client certificate.
	hs := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if _, err := hs.Get("https://" + w.CSAddr + "/"); err == nil {
		t.Error("an HTTPS client got an answer")
	}
	if e := nextRefusal(t, w); e.Reason != link.ReasonNoCertificate {
		t.Errorf("HTTPS without a certificate: %q", e.Reason)
	}
	// The pinned CS still gets in.
	if res, err := w.CS(t, "052019", good).Run(ctx, cssim.CSLines(7, "052019", "052027", 10, 0).Lines); err != nil || res.Applied != 10 {
		t.Fatalf("the pinned CS: %+v %v", res, err)
	}
}

func nextRefusal(t *testing.T, w *World) *link.RefusedError {
	t.Helper()
	select {
	case e := <-w.Refused:
		return e
	case <-time.After(15 * time.Second):
		t.Fatal("no refusal reported")
		return nil
	}
}

// expiredParty has a certificate that expired yesterday.
func expiredParty(t *testing.T) Party {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "cs-old"},
		NotBefore: time.Now().AddDate(-2, 0, 0), NotAfter: time.Now().AddDate(0, 0, -1),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}
	c, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	p, err := linkworld.PartyOf(k, c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHandshakeFlood: 200 silent connections from one address take at most
// MaxHandshakesPerHost handshakes; the rest are closed at once, and a pinned CS from
// another address gets through meanwhile.
func TestHandshakeFlood(t *testing.T) {
	good := NewParty(t, "cs-052019")
	w := Start(t, link.Pin{Name: "cs-052019", Role: link.RoleCS, Municipality: "052019", SPKISHA256: good.SPKI()})
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	var conns []net.Conn
	for range 200 {
		nc, err := d.Dial("tcp", w.CSAddr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, nc)
	}
	closed := 0
	for _, nc := range conns {
		nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := nc.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			closed++ // closed by the terminal at once
		}
		defer nc.Close()
	}
	if closed < 200-cs.MaxHandshakesPerHost {
		t.Fatalf("%d of 200 connections from one host closed at once, want at least %d", closed, 200-cs.MaxHandshakesPerHost)
	}
	start := time.Now()
	if res, err := w.CS(t, "052019", good).Run(context.Background(), cssim.CSLines(3, "052019", "052027", 20, 0).Lines); err != nil || res.Applied != 20 {
		t.Fatalf("the pinned CS during the flood: %+v %v", res, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the pinned CS waited %v", d)
	}
}
