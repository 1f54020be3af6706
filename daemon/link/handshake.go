package link

import (
	"errors"
	"fmt"
	"time"

	"jukiterm/daemon/link/linkpb"
)

// Protocol is the version of the link protocol this build speaks.
const Protocol = 1

// HelloTimeout bounds the wait for the peer's Hello.
const HelloTimeout = 10 * time.Second

// ErrProtocol: the peer did not open with a Hello, or speaks another version.
var ErrProtocol = errors.New("the peer does not speak this link protocol")

// Handshake exchanges Hellos: it sends this side's (software names the program and its
// version) while it waits for the peer's, which must come first and carry Protocol. On
// any other first frame, or another version, the peer gets an Error with code
// "protocol" and the connection is closed. It returns the peer's Hello, its software
// cut to 64 printable ASCII characters for the logs.
func Handshake(c *Conn, software string) (*linkpb.Hello, error) {
	sent := make(chan error, 1)
	go func() {
		timeout := c.WriteTimeout
		if timeout == 0 || timeout > HelloTimeout {
			timeout = HelloTimeout
		}
		sent <- c.send(&linkpb.Frame{Body: &linkpb.Frame_Hello{Hello: &linkpb.Hello{Protocol: Protocol, Software: software}}}, timeout)
	}()
	saved := c.ReadTimeout
	if saved == 0 || saved > HelloTimeout {
		c.ReadTimeout = HelloTimeout
	}
	f, err := c.Recv()
	c.ReadTimeout = saved
	if err != nil {
		var pe *PeerError
		if !errors.As(err, &pe) {
			c.Fail(CodeOf(err), "the link expected a Hello frame")
		} else {
			c.Close()
		}
		<-sent
		return nil, fmt.Errorf("wait for the peer's Hello: %w", err)
	}
	if err := <-sent; err != nil {
		c.Close()
		return nil, fmt.Errorf("send this side's Hello: %w", err)
	}
	h := f.GetHello()
	switch {
	case h == nil:
		c.Fail(CodeProtocol, fmt.Sprintf("the first frame must be a Hello, not %s", FrameKind(f)))
		return nil, fmt.Errorf("%w: its first frame was %s, not a Hello; check that the peer is a jukiterm link peer", ErrProtocol, FrameKind(f))
	case h.GetProtocol() != Protocol:
		c.Fail(CodeProtocol, fmt.Sprintf("this side speaks protocol %d, not %d", Protocol, h.GetProtocol()))
		return nil, fmt.Errorf("%w: it speaks protocol %d and this terminal %d; one side's software must be updated (the peer's is %q)",
			ErrProtocol, h.GetProtocol(), Protocol, printable(h.GetSoftware()))
	}
	h.Software = printable(h.GetSoftware()) // the peer's text, made safe for a log line
	return h, nil
}

// FrameKind names a frame's message for logs and errors ("Notification", "Ack", …).
func FrameKind(f *linkpb.Frame) string {
	switch f.GetBody().(type) {
	case *linkpb.Frame_Hello:
		return "Hello"
	case *linkpb.Frame_Resume:
		return "Resume"
	case *linkpb.Frame_Notification:
		return "Notification"
	case *linkpb.Frame_Ack:
		return "Ack"
	case *linkpb.Frame_FullSetBegin:
		return "FullSetBegin"
	case *linkpb.Frame_FullSetRecord:
		return "FullSetRecord"
	case *linkpb.Frame_FullSetEnd:
		return "FullSetEnd"
	case *linkpb.Frame_Update:
		return "Update"
	case *linkpb.Frame_UpdateAck:
		return "UpdateAck"
	case *linkpb.Frame_Query:
		return "Query"
	case *linkpb.Frame_QueryAnswer:
		return "QueryAnswer"
	case *linkpb.Frame_Error:
		return "Error"
	}
	return "an empty frame"
}

// printable shortens a peer's text for a log line and keeps only printable ASCII.
func printable(s string) string {
	out := make([]byte, 0, min(len(s), 64))
	for i := 0; i < len(s) && len(out) < 64; i++ {
		if s[i] >= 0x20 && s[i] < 0x7f {
			out = append(out, s[i])
		} else {
			out = append(out, '?')
		}
	}
	return string(out)
}
