package link

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// Reasons a peer is refused at the TLS handshake (RefusedError.Reason).
const (
	// ReasonUnknown: the peer's key is not pinned.
	ReasonUnknown = "unknown"
	// ReasonExpired: the peer's certificate is past its NotAfter.
	ReasonExpired = "expired"
	// ReasonNotYetValid: the peer's certificate is before its NotBefore.
	ReasonNotYetValid = "not-yet-valid"
	// ReasonWrongRole: the key is pinned, for another role than this link's.
	ReasonWrongRole = "wrong-role"
	// ReasonNoCertificate: the peer sent no certificate.
	ReasonNoCertificate = "no-certificate"
	// ReasonNotTLS: the peer's first bytes are not TLS (plain TCP, HTTP, …).
	ReasonNotTLS = "not-tls"
	// ReasonTLSVersion: the peer does not speak TLS 1.3.
	ReasonTLSVersion = "tls-version"
	// ReasonRefusedByPeer: the peer refused this end's certificate.
	ReasonRefusedByPeer = "refused-by-peer"
	// ReasonTimeout: the handshake did not finish in time.
	ReasonTimeout = "timeout"
	// ReasonHandshake: any other failure of the handshake.
	ReasonHandshake = "handshake"
)

// RefusedError is a connection refused at the TLS handshake, for the log as
// link.refused. Fingerprint is the peer key's (zero when it sent none), Peer the pinned
// name when the key is pinned, Remote the peer's address.
type RefusedError struct {
	Reason      string
	Fingerprint [32]byte
	Peer        string
	Remote      string
	Err         error // the TLS error, if any
}

func (e *RefusedError) Error() string {
	who := "a peer"
	if e.Remote != "" {
		who = "the peer at " + e.Remote
	}
	if e.Peer != "" {
		who = fmt.Sprintf("peer %q", e.Peer)
		if e.Remote != "" {
			who += " at " + e.Remote
		}
	}
	key := ""
	if e.Fingerprint != [32]byte{} {
		key = " (key " + FormatFingerprint(e.Fingerprint) + ")"
	}
	var what string
	switch e.Reason {
	case ReasonUnknown:
		what = "its key is not pinned: if it is expected, check the fingerprint with its operator by telephone and pin it with `jukiterm peer add`"
	case ReasonExpired:
		what = "its certificate has expired: its operator must renew it (a new certificate for the same key keeps the pin)"
	case ReasonNotYetValid:
		what = "its certificate is not valid yet: check this terminal's clock and the peer's"
	case ReasonWrongRole:
		what = "its key is pinned for another kind of link: check which address it should connect to, or pin it again with the right role"
	case ReasonNoCertificate:
		what = "it sent no certificate: it must present the certificate that was pinned"
	case ReasonNotTLS:
		what = "it does not speak TLS (plain TCP or HTTP): only jukiterm link peers may connect to this port"
	case ReasonTLSVersion:
		what = "it does not speak TLS 1.3: its software must be updated"
	case ReasonRefusedByPeer:
		what = "it refused this terminal's certificate: give its operator this terminal's fingerprint (`jukiterm peer list` shows it) to pin"
	case ReasonTimeout:
		what = "the handshake did not finish in time: check the line"
	default:
		what = "the TLS handshake failed: check the line and the peer's configuration"
	}
	msg := fmt.Sprintf("link refused (%s): %s%s: %s", e.Reason, who, key, what)
	if e.Err != nil && e.Reason != ReasonUnknown && e.Reason != ReasonExpired && e.Reason != ReasonNotYetValid && e.Reason != ReasonWrongRole {
		msg += fmt.Sprintf(" (%v)", e.Err)
	}
	return msg
}

func (e *RefusedError) Unwrap() error { return e.Err }

// refusal makes every handshake failure a *RefusedError with its reason.
func refusal(err error, remote net.Addr) *RefusedError {
	r := &RefusedError{Reason: ReasonHandshake, Err: err}
	var re *RefusedError
	var rh tls.RecordHeaderError
	var ne net.Error
	msg := err.Error()
	switch {
	case errors.As(err, &re):
		r = re
	case errors.As(err, &rh):
		r.Reason = ReasonNotTLS
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		r.Reason = ReasonTimeout
	case strings.Contains(msg, "didn't provide a certificate"):
		r.Reason = ReasonNoCertificate
	case strings.Contains(msg, "unsupported versions") || strings.Contains(msg, "protocol version"):
		r.Reason = ReasonTLSVersion
	case strings.Contains(msg, "remote error: tls:"):
		r.Reason = ReasonRefusedByPeer
	}
	if remote != nil && r.Remote == "" {
		r.Remote = remote.String()
	}
	return r
}
