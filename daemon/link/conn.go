package link

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/proto"

	"jukiterm/daemon/link/linkpb"
)

// MaxFrameSize is the largest frame, in bytes of protobuf after the length, that either
// side sends or accepts. A notification line is at most 64 KiB (record.MaxLine), so a
// frame near the limit is already far from normal.
const MaxFrameSize = 1 << 20

// Errors of the framing. Recv and Send wrap them with what happened; after any of them
// the connection is out of step and must be closed (Fail sends the peer the reason).
var (
	// ErrFrameTooLarge: the peer announced a frame over the limit; it was not read.
	ErrFrameTooLarge = errors.New("frame over the size limit")
	// ErrBadFrame: the bytes are not a frame of this protocol.
	ErrBadFrame = errors.New("not a valid frame")
	// ErrTimeout: no whole frame came within the read timeout.
	ErrTimeout = errors.New("no frame within the time allowed")
	// ErrClosed: the peer closed the connection between frames.
	ErrClosed = errors.New("the peer closed the link")
)

// Conn carries frames over an authenticated connection (usually a *tls.Conn). Recv is
// for one goroutine; Send may be called from several.
type Conn struct {
	nc net.Conn // nil when reading from a plain buffer (fuzzing)
	r  *bufio.Reader
	w  io.Writer

	// ReadTimeout bounds the wait for each frame in Recv; zero waits without limit.
	ReadTimeout time.Duration
	// WriteTimeout bounds each Send; zero waits without limit.
	WriteTimeout time.Duration
	// MaxSize is the frame size limit, MaxFrameSize unless changed before first use.
	MaxSize int

	sendMu sync.Mutex
	bw     *bufio.Writer
}

// NewConn wraps nc. Set the timeouts before the first Recv or Send.
func NewConn(nc net.Conn) *Conn {
	c := newConn(nc, nc)
	c.nc = nc
	return c
}

func newConn(r io.Reader, w io.Writer) *Conn {
	return &Conn{r: bufio.NewReaderSize(r, 64<<10), w: w, MaxSize: MaxFrameSize,
		bw: bufio.NewWriterSize(w, 64<<10)}
}

// Recv reads the next frame. A frame with no message, or an Error frame from the peer,
// is returned as an error (*PeerError for the latter); io.EOF between frames is
// ErrClosed.
func (c *Conn) Recv() (*linkpb.Frame, error) {
	if c.nc != nil { // a zero ReadTimeout clears a deadline an earlier read set (Handshake's)
		deadline := time.Time{}
		if c.ReadTimeout > 0 {
			deadline = time.Now().Add(c.ReadTimeout)
		}
		if err := c.nc.SetReadDeadline(deadline); err != nil {
			if errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) {
				return nil, fmt.Errorf("%w (%w)", ErrClosed, err)
			}
			return nil, fmt.Errorf("set the read deadline: %w", err)
		}
	}
	f := &linkpb.Frame{}
	err := protodelim.UnmarshalOptions{MaxSize: int64(c.MaxSize)}.UnmarshalFrom(c.r, f)
	var tooLarge *protodelim.SizeTooLargeError
	var ne net.Error
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%w (between frames)", ErrClosed)
	case errors.As(err, &tooLarge):
		return nil, fmt.Errorf("%w: the peer announced a frame of %d bytes, the limit is %d; the link is closed (the peer's software must send smaller frames)",
			ErrFrameTooLarge, tooLarge.Size, c.MaxSize)
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return nil, fmt.Errorf("%w: nothing came for %s; the link is closed and the peer should connect again", ErrTimeout, c.ReadTimeout)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("%w: the frame ended early (%w): the link was cut or the peer sent a broken frame; the peer should connect again and resend", ErrBadFrame, err)
	case strings.Contains(err.Error(), "remote error: tls:"):
		// TLS 1.3: a client learns that the server refused its certificate only here.
		var remote net.Addr
		if c.nc != nil {
			remote = c.nc.RemoteAddr()
		}
		return nil, refusal(err, remote)
	case isReadError(err):
		return nil, fmt.Errorf("read a frame: %w", err)
	default:
		return nil, fmt.Errorf("%w: %w; the link is closed (check that the peer speaks this protocol)", ErrBadFrame, err)
	}
	switch b := f.Body.(type) {
	case nil:
		return nil, fmt.Errorf("%w: a frame with no message the terminal knows; the peer may speak a newer protocol", ErrBadFrame)
	case *linkpb.Frame_Error:
		return nil, &PeerError{Code: b.Error.GetCode(), Message: b.Error.GetMessage()}
	}
	return f, nil
}

// isReadError tells a failure of the connection itself from a failure to decode.
func isReadError(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, net.ErrClosed)
}

// Send writes one frame, refusing one over the size limit before anything is written.
func (c *Conn) Send(f *linkpb.Frame) error { return c.send(f, c.WriteTimeout) }

// SendAll writes frames in order and flushes them together (the acknowledgements of a
// batch, say): fewer TLS records and system calls than one Send each. A frame over the
// size limit is refused before anything is written.
func (c *Conn) SendAll(fs []*linkpb.Frame) error {
	for _, f := range fs {
		if f.GetBody() == nil {
			return fmt.Errorf("%w: a frame with no message cannot be sent", ErrBadFrame)
		}
		if n := proto.Size(f); n > c.MaxSize {
			return fmt.Errorf("%w: a %T frame of %d bytes, the limit is %d; nothing was sent", ErrFrameTooLarge, f.GetBody(), n, c.MaxSize)
		}
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.nc != nil {
		deadline := time.Time{}
		if c.WriteTimeout > 0 {
			deadline = time.Now().Add(c.WriteTimeout)
		}
		if err := c.nc.SetWriteDeadline(deadline); err != nil {
			return fmt.Errorf("set the write deadline: %w", err)
		}
	}
	for _, f := range fs {
		if _, err := protodelim.MarshalTo(c.bw, f); err != nil {
			return fmt.Errorf("send a frame: %w", err)
		}
	}
	if err := c.bw.Flush(); err != nil {
		return fmt.Errorf("send a frame: %w", err)
	}
	return nil
}

func (c *Conn) send(f *linkpb.Frame, timeout time.Duration) error {
	if f.GetBody() == nil {
		return fmt.Errorf("%w: a frame with no message cannot be sent", ErrBadFrame)
	}
	if n := proto.Size(f); n > c.MaxSize {
		return fmt.Errorf("%w: a %T frame of %d bytes, the limit is %d; nothing was sent", ErrFrameTooLarge, f.GetBody(), n, c.MaxSize)
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.nc != nil {
		deadline := time.Time{}
		if timeout > 0 {
			deadline = time.Now().Add(timeout)
		}
		if err := c.nc.SetWriteDeadline(deadline); err != nil {
			return fmt.Errorf("set the write deadline: %w", err)
		}
	}
	if _, err := protodelim.MarshalTo(c.bw, f); err != nil {
		return fmt.Errorf("send a frame: %w", err)
	}
	if err := c.bw.Flush(); err != nil {
		return fmt.Errorf("send a frame: %w", err)
	}
	return nil
}

// failTimeout bounds the Error frame Fail sends before closing.
const failTimeout = 5 * time.Second

// Fail sends the peer an Error frame with code and message (no personal value in it)
// and closes the connection. The send is best effort: the connection closes either way.
func (c *Conn) Fail(code, message string) error {
	err := c.send(&linkpb.Frame{Body: &linkpb.Frame_Error{Error: &linkpb.Error{Code: code, Message: message}}}, failTimeout)
	return errors.Join(err, c.Close())
}

// Close closes the connection.
func (c *Conn) Close() error {
	if c.nc == nil {
		return nil
	}
	return c.nc.Close()
}

// CodeOf gives the error code to send the peer for a Recv error: what went wrong with
// the frame, or CodeInternal.
func CodeOf(err error) string {
	switch {
	case errors.Is(err, ErrFrameTooLarge):
		return CodeFrameTooLarge
	case errors.Is(err, ErrBadFrame):
		return CodeBadFrame
	case errors.Is(err, ErrTimeout):
		return CodeTimeout
	}
	return CodeInternal
}
