package link

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"jukiterm/daemon/link/linkpb"
)

// party is one end of a link in a test: a fresh P-256 key (the same crypto.Signer
// interface the HSM's key has) and a self-signed certificate for it.
type party struct {
	id   Identity
	cert *x509.Certificate
	fp   [32]byte
}

func newParty(t *testing.T, name string, notBefore, notAfter time.Time) party {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := selfSigned(key, name, notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	return makeParty(t, Identity{Certificate: der, Key: key})
}

func makeParty(t *testing.T, id Identity) party {
	t.Helper()
	cert, err := x509.ParseCertificate(id.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	return party{id: id, cert: cert, fp: SPKIFingerprint(cert)}
}

func pins(t *testing.T, ps ...Pin) *PinSet {
	t.Helper()
	s, err := NewPinSet(ps)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// serve accepts connections on a loopback TCP listener with cfg and reports each
// Accept's result.
type accepted struct {
	conn *tls.Conn
	err  error
}

func serve(t *testing.T, cfg *tls.Config) (string, <-chan accepted) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	out := make(chan accepted, 4)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c, err := Accept(context.Background(), nc, cfg)
				if c != nil {
					t.Cleanup(func() { c.Close() })
				}
				out <- accepted{c, err}
			}()
		}
	}()
	return ln.Addr().String(), out
}

func wait(t *testing.T, ch <-chan accepted) accepted {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(15 * time.Second):
		t.Fatal("the listener reported nothing")
	}
	return accepted{}
}

var (
	now      = time.Now()
	yearFrom = now.Add(-time.Hour)
	yearTo   = now.Add(365 * 24 * time.Hour)
)

// world is a terminal, a CS of 052019 and a national server, each pinning the others.
type world struct {
	terminal, cs, national party
	terminalPins, peerPins *PinSet
}

func newWorld(t *testing.T) world {
	t.Helper()
	w := world{
		terminal: newParty(t, "terminal", yearFrom, yearTo),
		cs:       newParty(t, "cs-052019", yearFrom, yearTo),
		national: newParty(t, "national", yearFrom, yearTo),
	}
	w.terminalPins = pins(t,
		Pin{Name: "秋田市CS", Role: RoleCS, Municipality: "052019", SPKISHA256: w.cs.fp},
		Pin{Name: "全国サーバ", Role: RoleNational, SPKISHA256: w.national.fp})
	w.peerPins = pins(t, Pin{Name: "秋田県 terminal", Role: RoleTerminal, SPKISHA256: w.terminal.fp})
	return w
}

func serverConfig(t *testing.T, id Identity, p Policy) *tls.Config {
	t.Helper()
	cfg, err := ServerConfig(id, p)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func clientConfig(t *testing.T, id Identity, p Policy) *tls.Config {
	t.Helper()
	cfg, err := ClientConfig(id, p)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestCSToTerminal: a pinned CS connects to the terminal's CS listener; both ends know
// who the other is, exchange Hellos and carry a notification and its Ack.
func TestCSToTerminal(t *testing.T) {
	w := newWorld(t)
	termPolicy := Policy{Pins: w.terminalPins, Role: RoleCS}
	csPolicy := Policy{Pins: w.peerPins, Role: RoleTerminal}
	addr, acc := serve(t, serverConfig(t, w.terminal.id, termPolicy))
	cc, err := Dial(context.Background(), addr, clientConfig(t, w.cs.id, csPolicy))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	a := wait(t, acc)
	if a.err != nil {
		t.Fatal(a.err)
	}
	peer, err := termPolicy.PeerOf(a.conn)
	if err != nil || peer.Role != RoleCS || peer.Municipality != "052019" || peer.Name != "秋田市CS" {
		t.Fatalf("terminal sees %+v %v", peer, err)
	}
	if st := a.conn.ConnectionState(); st.Version != tls.VersionTLS13 {
		t.Fatalf("TLS version %#x", st.Version)
	}
	back, err := csPolicy.PeerOf(cc)
	if err != nil || back.Role != RoleTerminal {
		t.Fatalf("CS sees %+v %v", back, err)
	}

	term, cs := NewConn(a.conn), NewConn(cc)
	done := make(chan error, 1)
	go func() {
		if _, err := Handshake(term, "jukitermd test"); err != nil {
			done <- err
			return
		}
		f, err := term.Recv()
		if err != nil {
			done <- err
			return
		}
		n := f.GetNotification()
		done <- term.Send(&linkpb.Frame{Body: &linkpb.Frame_Ack{Ack: &linkpb.Ack{Seq: n.GetSeq(), Outcome: linkpb.Outcome_APPLIED, UpdateSeq: 5}}})
	}()
	if _, err := Handshake(cs, "cs simulator"); err != nil {
		t.Fatal(err)
	}
	note := everyFrame()[2]
	if err := cs.Send(note); err != nil {
		t.Fatal(err)
	}
	f, err := cs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	want := &linkpb.Ack{Seq: 42, Outcome: linkpb.Outcome_APPLIED, UpdateSeq: 5}
	if !proto.Equal(f.GetAck(), want) {
		t.Fatalf("ack %v", f)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestTerminalToNational: the terminal connects to the national server, the other way.
func TestTerminalToNational(t *testing.T) {
	w := newWorld(t)
	natPolicy := Policy{Pins: w.peerPins, Role: RoleTerminal}
	termPolicy := Policy{Pins: w.terminalPins, Role: RoleNational}
	addr, acc := serve(t, serverConfig(t, w.national.id, natPolicy))
	cc, err := Dial(context.Background(), addr, clientConfig(t, w.terminal.id, termPolicy))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	a := wait(t, acc)
	if a.err != nil {
		t.Fatal(a.err)
	}
	if p, err := termPolicy.PeerOf(cc); err != nil || p.Name != "全国サーバ" {
		t.Fatalf("terminal sees %+v %v", p, err)
	}
	if p, err := natPolicy.PeerOf(a.conn); err != nil || p.Role != RoleTerminal {
		t.Fatalf("national sees %+v %v", p, err)
	}
}

// refusedAt checks that the listener refused the connection for reason, and that the
// client learnt of it (at its handshake, or at its first read in TLS 1.3).
func refusedAt(t *testing.T, acc <-chan accepted, cc *tls.Conn, dialErr error, reason string, fp [32]byte) {
	t.Helper()
	a := wait(t, acc)
	var re *RefusedError
	if !errors.As(a.err, &re) || re.Reason != reason {
		t.Fatalf("listener: %v, want refused (%s)", a.err, reason)
	}
	if re.Fingerprint != fp || re.Remote == "" {
		t.Fatalf("refusal names key %x at %q", re.Fingerprint, re.Remote)
	}
	if dialErr == nil {
		_, dialErr = NewConn(cc).Recv()
	}
	if !errors.As(dialErr, &re) || re.Reason != ReasonRefusedByPeer {
		t.Fatalf("client: %v, want refused-by-peer", dialErr)
	}
}

func TestRefusedPeers(t *testing.T) {
	w := newWorld(t)
	stranger := newParty(t, "stranger", yearFrom, yearTo)
	expired := newParty(t, "old CS", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	early := newParty(t, "early CS", now.Add(24*time.Hour), now.Add(48*time.Hour))
	termPins := pins(t,
		Pin{Name: "秋田市CS", Role: RoleCS, Municipality: "052019", SPKISHA256: w.cs.fp},
		Pin{Name: "old CS", Role: RoleCS, Municipality: "052027", SPKISHA256: expired.fp},
		Pin{Name: "early CS", Role: RoleCS, Municipality: "052035", SPKISHA256: early.fp},
		Pin{Name: "全国サーバ", Role: RoleNational, SPKISHA256: w.national.fp})
	addr, acc := serve(t, serverConfig(t, w.terminal.id, Policy{Pins: termPins, Role: RoleCS}))
	for _, tc := range []struct {
		name   string
		client party
		reason string
	}{
		{"unknown certificate", stranger, ReasonUnknown},
		{"expired certificate", expired, ReasonExpired},
		{"not yet valid", early, ReasonNotYetValid},
		{"pinned for another role", w.national, ReasonWrongRole},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The client is told the terminal's key, so only the terminal refuses.
			cc, err := Dial(context.Background(), addr, clientConfig(t, tc.client.id, Policy{Pins: w.peerPins, Role: RoleTerminal}))
			if cc != nil {
				defer cc.Close()
			}
			refusedAt(t, acc, cc, err, tc.reason, tc.client.fp)
		})
	}
}

// TestClockDecidesValidity: the validity period is checked against the policy's clock.
func TestClockDecidesValidity(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		clock  time.Time
		reason string
	}{
		{yearTo.Add(time.Hour), ReasonExpired},
		{yearFrom.Add(-time.Hour), ReasonNotYetValid},
	} {
		clock := tc.clock
		addr, acc := serve(t, serverConfig(t, w.terminal.id, Policy{Pins: w.terminalPins, Role: RoleCS, Now: func() time.Time { return clock }}))
		cc, err := Dial(context.Background(), addr, clientConfig(t, w.cs.id, Policy{Pins: w.peerPins, Role: RoleTerminal}))
		if cc != nil {
			defer cc.Close()
		}
		refusedAt(t, acc, cc, err, tc.reason, w.cs.fp)
	}
}

// TestClientRefusesUnpinnedServer: the terminal refuses a national server whose key is
// not the pinned one.
func TestClientRefusesUnpinnedServer(t *testing.T) {
	w := newWorld(t)
	impostor := newParty(t, "impostor", yearFrom, yearTo)
	addr, acc := serve(t, serverConfig(t, impostor.id, Policy{Pins: w.peerPins, Role: RoleTerminal}))
	_, err := Dial(context.Background(), addr, clientConfig(t, w.terminal.id, Policy{Pins: w.terminalPins, Role: RoleNational}))
	var re *RefusedError
	if !errors.As(err, &re) || re.Reason != ReasonUnknown || re.Fingerprint != impostor.fp {
		t.Fatalf("%v, want the impostor refused as unknown", err)
	}
	if a := wait(t, acc); a.err == nil {
		t.Fatal("the impostor's handshake succeeded")
	}
}

// TestNotTLSRefused: a plain TCP client sending garbage and an HTTP client are refused
// as not-tls.
func TestNotTLSRefused(t *testing.T) {
	w := newWorld(t)
	addr, acc := serve(t, serverConfig(t, w.terminal.id, Policy{Pins: w.terminalPins, Role: RoleCS}))

	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte("HELO jukiterm\r\nthis is not TLS at all\r\n"))
	a := wait(t, acc)
	var re *RefusedError
	if !errors.As(a.err, &re) || re.Reason != ReasonNotTLS || re.Remote == "" {
		t.Fatalf("garbage: %v, want not-tls", a.err)
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := nc.Read(make([]byte, 1)); err == nil {
		t.Fatalf("the listener answered garbage with %d bytes", n)
	}
	nc.Close()

	client := &http.Client{Timeout: 5 * time.Second}
	if resp, err := client.Get("http://" + addr + "/"); err == nil {
		resp.Body.Close()
		t.Fatalf("HTTP got an answer: %s", resp.Status)
	}
	a = wait(t, acc)
	if !errors.As(a.err, &re) || re.Reason != ReasonNotTLS {
		t.Fatalf("HTTP: %v, want not-tls", a.err)
	}
}

// TestOldTLSRefused: a client that offers only TLS 1.2 is refused.
func TestOldTLSRefused(t *testing.T) {
	w := newWorld(t)
	addr, acc := serve(t, serverConfig(t, w.terminal.id, Policy{Pins: w.terminalPins, Role: RoleCS}))
	cfg := clientConfig(t, w.cs.id, Policy{Pins: w.peerPins, Role: RoleTerminal})
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	if c, err := Dial(context.Background(), addr, cfg); err == nil {
		c.Close()
		t.Fatal("a TLS 1.2 client was accepted")
	}
	a := wait(t, acc)
	var re *RefusedError
	if !errors.As(a.err, &re) || re.Reason != ReasonTLSVersion {
		t.Fatalf("%v, want tls-version", a.err)
	}
}

// TestPeerOfAfterPinRemoved: PeerOf checks against the pins it is given, so a peer
// whose pin was removed since its handshake is no longer accepted.
func TestPeerOfAfterPinRemoved(t *testing.T) {
	w := newWorld(t)
	p := Policy{Pins: w.terminalPins, Role: RoleCS}
	addr, acc := serve(t, serverConfig(t, w.terminal.id, p))
	cc, err := Dial(context.Background(), addr, clientConfig(t, w.cs.id, Policy{Pins: w.peerPins, Role: RoleTerminal}))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	a := wait(t, acc)
	if a.err != nil {
		t.Fatal(a.err)
	}
	p.Pins = pins(t, Pin{Name: "全国サーバ", Role: RoleNational, SPKISHA256: w.national.fp})
	var re *RefusedError
	if _, err := p.PeerOf(a.conn); !errors.As(err, &re) || re.Reason != ReasonUnknown {
		t.Fatalf("%v, want unknown", err)
	}
}
