package link

import "fmt"

// Error codes carried by an Error frame (docs/links.md, "Error codes"). The side that
// sends one closes the connection after it.
const (
	// CodeProtocol: the first frame was not a Hello, or the peer speaks another protocol
	// version.
	CodeProtocol = "protocol"
	// CodeFrameTooLarge: a frame was longer than the limit (MaxFrameSize).
	CodeFrameTooLarge = "frame-too-large"
	// CodeBadFrame: bytes that are not a valid frame.
	CodeBadFrame = "bad-frame"
	// CodeUnexpected: a message that is not allowed in the connection's state (e.g. a
	// Notification before the Resume, an Update sent to a CS).
	CodeUnexpected = "unexpected"
	// CodeSequence: a sequence number out of order (a Notification's seq not above the
	// last one, an UpdateAck for an update never sent).
	CodeSequence = "sequence"
	// CodeTimeout: nothing came within the time allowed.
	CodeTimeout = "timeout"
	// CodeShutdown: this end is stopping; connect again later.
	CodeShutdown = "shutdown"
	// CodeInternal: this end failed (e.g. the file could not be written); the peer
	// should connect again later and resend what was not acknowledged.
	CodeInternal = "internal"
)

// PeerError is an Error frame the peer sent before closing the connection.
type PeerError struct {
	Code    string
	Message string
}

func (e *PeerError) Error() string {
	return fmt.Sprintf("the peer closed the link with error %q: %s", e.Code, e.Message)
}
