package link

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"jukiterm/daemon/link/linkpb"
)

// everyFrame holds one frame of each message, with every field set.
func everyFrame() []*linkpb.Frame {
	line := []byte(`{"id":"052019-000001","municipality":"052019","reason":"転居","changed_on":"2026-11-01","notified_on":"2026-11-02","resident_code":"12345678901","address":"秋田県秋田市山王四丁目1番1号"}`)
	return []*linkpb.Frame{
		{Body: &linkpb.Frame_Hello{Hello: &linkpb.Hello{Protocol: 1, Software: "jukiterm 0.1.0"}}},
		{Body: &linkpb.Frame_Resume{Resume: &linkpb.Resume{LastAcked: 41}}},
		{Body: &linkpb.Frame_Notification{Notification: &linkpb.Notification{Seq: 42, Line: line}}},
		{Body: &linkpb.Frame_Ack{Ack: &linkpb.Ack{Seq: 42, Outcome: linkpb.Outcome_REJECTED, Rule: "wrong-peer", Message: "not this CS's municipality"}}},
		{Body: &linkpb.Frame_Ack{Ack: &linkpb.Ack{Seq: 43, Outcome: linkpb.Outcome_APPLIED, UpdateSeq: 1001}}},
		{Body: &linkpb.Frame_FullSetBegin{FullSetBegin: &linkpb.FullSetBegin{Municipality: "052019", Count: 2}}},
		{Body: &linkpb.Frame_FullSetRecord{FullSetRecord: &linkpb.FullSetRecord{Line: line}}},
		{Body: &linkpb.Frame_FullSetEnd{FullSetEnd: &linkpb.FullSetEnd{}}},
		{Body: &linkpb.Frame_Update{Update: &linkpb.Update{UpdateSeq: 1001, Record: []byte(`{"resident_code":"12345678901"}`)}}},
		{Body: &linkpb.Frame_UpdateAck{UpdateAck: &linkpb.UpdateAck{UpdateSeq: 1001}}},
		{Body: &linkpb.Frame_Query{Query: &linkpb.Query{Id: 7, Key: &linkpb.Query_ResidentCode{ResidentCode: "12345678901"}}}},
		{Body: &linkpb.Frame_Query{Query: &linkpb.Query{Id: 8, Key: &linkpb.Query_MyNumber{MyNumber: "123456789018"}}}},
		{Body: &linkpb.Frame_Query{Query: &linkpb.Query{Id: 9, Key: &linkpb.Query_Four{Four: &linkpb.FourItems{NameKana: "アキタ　タロウ", Birth: "1980-01-02", Sex: 1, Address: "青森県", Name: "秋田　太郎"}}}}},
		{Body: &linkpb.Frame_QueryAnswer{QueryAnswer: &linkpb.QueryAnswer{Id: 9, Records: [][]byte{[]byte(`{}`), []byte(`{"a":1}`)}}}},
		{Body: &linkpb.Frame_QueryAnswer{QueryAnswer: &linkpb.QueryAnswer{Id: 10, Error: "not found"}}},
	}
}

// pipe gives the two ends of an in-memory connection as Conns.
func pipe(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return NewConn(a), NewConn(b)
}

func TestFramesRoundTrip(t *testing.T) {
	a, b := pipe(t)
	frames := everyFrame()
	go func() {
		for _, f := range frames {
			if err := a.Send(f); err != nil {
				t.Error(err)
				return
			}
		}
		a.Close()
	}()
	for i, want := range frames {
		got, err := b.Recv()
		if err != nil {
			t.Fatalf("frame %d (%s): %v", i, FrameKind(want), err)
		}
		if !proto.Equal(got, want) {
			t.Fatalf("frame %d: got %v, want %v", i, got, want)
		}
	}
	if _, err := b.Recv(); !errors.Is(err, ErrClosed) {
		t.Fatalf("after the last frame and a close: %v, want ErrClosed", err)
	}
}

// TestOverlongFrameRefused: a frame announced over the limit is refused from its length
// alone: Recv answers at once although the body never comes, and allocates nothing near
// its size.
func TestOverlongFrameRefused(t *testing.T) {
	for _, size := range []uint64{MaxFrameSize + 1, 1 << 40} {
		a, b := net.Pipe()
		go a.Write(protowire.AppendVarint(nil, size)) // the body never follows
		c := NewConn(b)
		c.ReadTimeout = 5 * time.Second
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := c.Recv()
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("size %d: %v, want ErrFrameTooLarge", size, err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<10 {
			t.Errorf("size %d: Recv allocated %d bytes", size, grew)
		}
		if CodeOf(err) != CodeFrameTooLarge {
			t.Errorf("CodeOf = %q", CodeOf(err))
		}
		a.Close()
		b.Close()
	}
}

// TestSendRefusesOverlong: a frame over the limit is not sent at all.
func TestSendRefusesOverlong(t *testing.T) {
	a, b := pipe(t)
	a.WriteTimeout = 2 * time.Second
	big := &linkpb.Frame{Body: &linkpb.Frame_Notification{Notification: &linkpb.Notification{Seq: 1, Line: bytes.Repeat([]byte("x"), MaxFrameSize)}}}
	if err := a.Send(big); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("Send of %d bytes: %v, want ErrFrameTooLarge", proto.Size(big), err)
	}
	if err := a.Send(&linkpb.Frame{}); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("Send of an empty frame: %v", err)
	}
	ok := &linkpb.Frame{Body: &linkpb.Frame_Resume{Resume: &linkpb.Resume{LastAcked: 3}}}
	go a.Send(ok)
	got, err := b.Recv()
	if err != nil || !proto.Equal(got, ok) {
		t.Fatalf("the next frame after a refused one: %v %v (something of the big one was sent)", got, err)
	}
}

func TestRecvBadInput(t *testing.T) {
	cases := map[string]struct {
		in   []byte
		want error
	}{
		"empty frame":       {[]byte{0}, ErrBadFrame},
		"cut in the middle": {append(protowire.AppendVarint(nil, 10), 0x0a, 0x02), ErrBadFrame},
		"not protobuf":      {append(protowire.AppendVarint(nil, 4), 0xff, 0xff, 0xff, 0xff), ErrBadFrame},
		"endless varint":    {bytes.Repeat([]byte{0xff}, 11), ErrBadFrame},
		"HTTP":              {[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ErrBadFrame},
	}
	for name, tc := range cases {
		c := newConn(bytes.NewReader(tc.in), &bytes.Buffer{})
		if _, err := c.Recv(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func TestRecvTimeout(t *testing.T) {
	_, b := pipe(t)
	b.ReadTimeout = 50 * time.Millisecond
	start := time.Now()
	if _, err := b.Recv(); !errors.Is(err, ErrTimeout) {
		t.Fatalf("%v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Recv waited %s", d)
	}
}

// TestProtocolMismatch: a peer of protocol 2, or one that does not open with a Hello,
// gets Error{code: "protocol"} and the connection closes.
func TestProtocolMismatch(t *testing.T) {
	for name, first := range map[string]*linkpb.Frame{
		"version 2":       {Body: &linkpb.Frame_Hello{Hello: &linkpb.Hello{Protocol: 2, Software: "future"}}},
		"no Hello first":  everyFrame()[2],
		"version missing": {Body: &linkpb.Frame_Hello{Hello: &linkpb.Hello{Software: "old"}}},
	} {
		t.Run(name, func(t *testing.T) {
			us, peer := pipe(t)
			peer.ReadTimeout = 5 * time.Second
			done := make(chan error, 1)
			go func() { _, err := Handshake(us, "jukiterm test"); done <- err }()
			go peer.Send(first)
			if f, err := peer.Recv(); err != nil || f.GetHello().GetProtocol() != Protocol {
				t.Fatalf("our Hello: %v %v", f, err)
			}
			_, err := peer.Recv()
			var pe *PeerError
			if !errors.As(err, &pe) || pe.Code != CodeProtocol {
				t.Fatalf("peer got %v, want Error %q", err, CodeProtocol)
			}
			if err := <-done; !errors.Is(err, ErrProtocol) {
				t.Fatalf("Handshake: %v, want ErrProtocol", err)
			}
			if _, err := peer.Recv(); !errors.Is(err, ErrClosed) {
				t.Fatalf("after the Error: %v, want the link closed", err)
			}
		})
	}
}

func TestHandshakeOK(t *testing.T) {
	a, b := pipe(t)
	done := make(chan error, 1)
	go func() {
		h, err := Handshake(a, "jukiterm A")
		// The peer's text comes back printable and short, safe for a log line.
		if want := ("jukiterm B??[2Jforged log line" + strings.Repeat("x", 100))[:64]; err == nil && h.GetSoftware() != want {
			err = errors.New("A got " + h.GetSoftware())
		}
		done <- err
	}()
	h, err := Handshake(b, "jukiterm B\n\x1b[2Jforged log line"+strings.Repeat("x", 100))
	if err != nil || h.GetSoftware() != "jukiterm A" {
		t.Fatalf("B: %v %v", h, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestHandshakePeerError: a peer that answers with an Error (e.g. it refuses this
// version) is reported with its code and message.
func TestHandshakePeerError(t *testing.T) {
	us, peer := pipe(t)
	done := make(chan error, 1)
	go func() { _, err := Handshake(us, "jukiterm test"); done <- err }()
	peer.Recv()
	peer.Fail(CodeShutdown, "stopping")
	err := <-done
	var pe *PeerError
	if !errors.As(err, &pe) || pe.Code != CodeShutdown || !strings.Contains(err.Error(), "stopping") {
		t.Fatalf("%v, want the peer's Error", err)
	}
}

// TestZeroTimeoutClearsDeadline: a read with a timeout, then reads without one (a link
// after its Hello) wait as long as it takes.
func TestZeroTimeoutClearsDeadline(t *testing.T) {
	a, b := pipe(t)
	b.ReadTimeout = 50 * time.Millisecond
	go a.Send(&linkpb.Frame{Body: &linkpb.Frame_UpdateAck{UpdateAck: &linkpb.UpdateAck{UpdateSeq: 1}}})
	if _, err := b.Recv(); err != nil {
		t.Fatal(err)
	}
	b.ReadTimeout = 0
	go func() {
		time.Sleep(150 * time.Millisecond)
		a.Send(&linkpb.Frame{Body: &linkpb.Frame_UpdateAck{UpdateAck: &linkpb.UpdateAck{UpdateSeq: 2}}})
	}()
	f, err := b.Recv()
	if err != nil || f.GetUpdateAck().GetUpdateSeq() != 2 {
		t.Fatalf("a read without a timeout after one with: %v %v", f, err)
	}
}
