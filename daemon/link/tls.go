package link

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"
)

// HandshakeTimeout bounds a TLS handshake, so a peer that connects and says nothing
// does not hold a connection.
const HandshakeTimeout = 10 * time.Second

// Identity is this end of a link: its certificate (DER) and the private key of that
// certificate as a crypto.Signer (in production the HSM's jukiterm-tls key through
// crypto11).
type Identity struct {
	Certificate []byte
	Key         crypto.Signer
}

// Policy says which peers a link accepts: those pinned in Pins with role Role, whose
// certificates are valid at Now (time.Now when nil).
type Policy struct {
	Pins *PinSet
	Role Role
	Now  func() time.Time
}

// ServerConfig builds the TLS configuration of a listener: TLS 1.3 only, a client
// certificate required and checked against the policy, no session resumption (every
// connection is checked against the pins of the moment).
func ServerConfig(id Identity, p Policy) (*tls.Config, error) {
	cert, err := id.certificate()
	if err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:             tls.VersionTLS13,
		MaxVersion:             tls.VersionTLS13,
		Certificates:           []tls.Certificate{cert},
		ClientAuth:             tls.RequireAnyClientCert,
		VerifyConnection:       p.verify,
		SessionTicketsDisabled: true,
		Time:                   p.Now,
	}, nil
}

// ClientConfig builds the TLS configuration of a connection this end opens: TLS 1.3
// only, this end's certificate always sent, the server's checked against the policy.
// The pin replaces the check of a chain to a CA (InsecureSkipVerify only turns that off;
// VerifyConnection still refuses any key that is not pinned).
func ClientConfig(id Identity, p Policy) (*tls.Config, error) {
	cert, err := id.certificate()
	if err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:           tls.VersionTLS13,
		MaxVersion:           tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
		InsecureSkipVerify:   true,
		VerifyConnection:     p.verify,
		Time:                 p.Now,
	}, nil
}

func (id Identity) certificate() (tls.Certificate, error) {
	if id.Key == nil || len(id.Certificate) == 0 {
		return tls.Certificate{}, errors.New("the link needs this terminal's certificate and key: make them with `jukiterm peer init` (not wired yet) or SelfSigned")
	}
	leaf, err := x509.ParseCertificate(id.Certificate)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("this terminal's link certificate cannot be read (%w): make a new one", err)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if k, ok := leaf.PublicKey.(equaler); !ok || !k.Equal(id.Key.Public()) {
		return tls.Certificate{}, errors.New("this terminal's link certificate is not for its key in the HSM: make a new certificate for the key jukiterm-tls")
	}
	return tls.Certificate{Certificate: [][]byte{id.Certificate}, PrivateKey: id.Key, Leaf: leaf}, nil
}

func (p Policy) check() error {
	if p.Pins == nil {
		return errors.New("the link has no pin set: pin its peers first")
	}
	if p.Role != RoleCS && p.Role != RoleNational && p.Role != RoleTerminal {
		return fmt.Errorf("the link expects peers of role %q; the role is cs, national or terminal", p.Role)
	}
	return nil
}

func (p Policy) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// verify is the VerifyConnection of both ends: the peer's leaf certificate must carry a
// pinned key, pinned for this link's role, and be within its validity period.
func (p Policy) verify(cs tls.ConnectionState) error {
	pin, err := p.peer(cs)
	if err != nil {
		return err
	}
	leaf := cs.PeerCertificates[0]
	now := p.now()
	switch {
	case now.Before(leaf.NotBefore):
		return &RefusedError{Reason: ReasonNotYetValid, Fingerprint: pin.SPKISHA256, Peer: pin.Name}
	case now.After(leaf.NotAfter):
		return &RefusedError{Reason: ReasonExpired, Fingerprint: pin.SPKISHA256, Peer: pin.Name}
	}
	return nil
}

func (p Policy) peer(cs tls.ConnectionState) (Pin, error) {
	if len(cs.PeerCertificates) == 0 {
		return Pin{}, &RefusedError{Reason: ReasonNoCertificate}
	}
	fp := SPKIFingerprint(cs.PeerCertificates[0])
	pin, ok := p.Pins.Lookup(fp)
	switch {
	case !ok:
		return Pin{}, &RefusedError{Reason: ReasonUnknown, Fingerprint: fp}
	case pin.Role != p.Role:
		return Pin{}, &RefusedError{Reason: ReasonWrongRole, Fingerprint: fp, Peer: pin.Name}
	}
	return pin, nil
}

// PeerOf gives the authenticated peer of a connection whose handshake is done, checked
// again against this policy (a pin removed since the handshake is refused).
func (p Policy) PeerOf(conn *tls.Conn) (Pin, error) {
	cs := conn.ConnectionState()
	if !cs.HandshakeComplete {
		return Pin{}, errors.New("the link's TLS handshake is not done: the peer is not known yet")
	}
	pin, err := p.peer(cs)
	if err != nil {
		var re *RefusedError
		if errors.As(err, &re) {
			re.Remote = conn.RemoteAddr().String()
		}
		return Pin{}, err
	}
	return pin, nil
}

// Accept runs the server side of the TLS handshake on a connection a listener
// accepted, within HandshakeTimeout (or ctx). On failure the connection is closed and
// the error is a *RefusedError.
func Accept(ctx context.Context, nc net.Conn, cfg *tls.Config) (*tls.Conn, error) {
	return handshake(ctx, tls.Server(nc, cfg), nc)
}

// Dial connects to a peer and runs the client side of the TLS handshake, within
// HandshakeTimeout (or ctx). A failed handshake is a *RefusedError.
func Dial(ctx context.Context, addr string, cfg *tls.Config) (*tls.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w (check the address and the line)", addr, err)
	}
	return handshake(ctx, tls.Client(nc, cfg), nc)
}

func handshake(ctx context.Context, tc *tls.Conn, nc net.Conn) (*tls.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, HandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, refusal(err, nc.RemoteAddr())
	}
	return tc, nil
}
