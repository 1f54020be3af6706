package fingerprint

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// The wire format of one frame (docs/fingerprint.md): each frame is one bulk transfer,
// commands on the OUT endpoint, replies on the IN endpoint. Integers are big-endian.
//
//	off  size
//	0    2    magic "JF"
//	2    1    version (1)
//	3    1    kind: 'C' command, 'R' reply
//	4    1    op: Info, Pair, Enroll, Verify, Delete, List, Cancel
//	5    1    status (0 in commands)
//	6    2    seq: the reply's number within its command, from 0 (0 in commands)
//	8    2    body length n (at most MaxBody)
//	10   16   nonce: the host's fresh nonce, echoed by every reply to that command
//	26   n    body
//	26+n 32   MAC: HMAC-SHA-256 under the pairing key (zero when there is no key)
const (
	Version    = 1
	HeaderSize = 26
	MACSize    = 32
	NonceSize  = 16
	MaxBody    = 512
	MaxFrame   = HeaderSize + MaxBody + MACSize
	KeySize    = 32
)

// Frame kinds.
const (
	KindCommand byte = 'C'
	KindReply   byte = 'R'
)

// Op is a command.
type Op byte

// Commands.
const (
	OpInfo   Op = 1 // body: —; reply: slots u16, flags u8 (1 = paired), model (rest)
	OpPair   Op = 2 // body: key [32]; reply MAC'd under the new key
	OpEnroll Op = 3 // body: slot u32, samples u8; replies: events, then slot u32
	OpVerify Op = 4 // body: — (all templates) or slot u32 (that one); replies: events, then Match (slot u32) or NoMatch
	OpDelete Op = 5 // body: slot u32
	OpList   Op = 6 // body: —; reply: count u16, slot u32 × count
	OpCancel Op = 7 // body: —; ends the operation under way (it answers Cancelled)
)

var opNames = map[Op]string{OpInfo: "info", OpPair: "pair", OpEnroll: "enroll", OpVerify: "verify",
	OpDelete: "delete", OpList: "list", OpCancel: "cancel"}

func (o Op) String() string {
	if n, ok := opNames[o]; ok {
		return n
	}
	return fmt.Sprintf("op %d", byte(o))
}

// Status is a reply's status.
type Status byte

// Reply statuses. Event replies are intermediate; every other status ends the command.
const (
	StatusOK            Status = 0x00
	StatusEvent         Status = 0x01 // body: event u8, n u8, of u8
	StatusMatch         Status = 0x02 // body: slot u32
	StatusNoMatch       Status = 0x03
	StatusCancelled     Status = 0x10
	StatusNotPaired     Status = 0x11
	StatusAlreadyPaired Status = 0x12
	StatusBadSlot       Status = 0x13
	StatusSlotInUse     Status = 0x14
	StatusSamplesDiffer Status = 0x15
	StatusBadMAC        Status = 0x16 // the reader refused the command's MAC
	StatusBadCommand    Status = 0x17 // malformed, unknown or repeated nonce
	StatusBusy          Status = 0x18
)

// Frame is one parsed frame. Body aliases the parsed buffer.
type Frame struct {
	Kind   byte
	Op     Op
	Status Status
	Seq    uint16
	Nonce  [NonceSize]byte
	Body   []byte
	MAC    [MACSize]byte
}

// ErrMalformed says a frame could not be parsed.
var ErrMalformed = errors.New("malformed frame")

// Parse parses one frame. It accepts exactly one frame: no trailing bytes.
func Parse(b []byte) (Frame, error) {
	var f Frame
	if len(b) < HeaderSize+MACSize {
		return f, fmt.Errorf("%w: %d bytes, shorter than the %d of an empty frame", ErrMalformed, len(b), HeaderSize+MACSize)
	}
	if b[0] != 'J' || b[1] != 'F' {
		return f, fmt.Errorf("%w: bad magic % x", ErrMalformed, b[:2])
	}
	if b[2] != Version {
		return f, fmt.Errorf("%w: version %d, want %d", ErrMalformed, b[2], Version)
	}
	f.Kind, f.Op, f.Status = b[3], Op(b[4]), Status(b[5])
	if f.Kind != KindCommand && f.Kind != KindReply {
		return f, fmt.Errorf("%w: kind 0x%02x", ErrMalformed, f.Kind)
	}
	if _, ok := opNames[f.Op]; !ok {
		return f, fmt.Errorf("%w: unknown op %d", ErrMalformed, byte(f.Op))
	}
	f.Seq = binary.BigEndian.Uint16(b[6:])
	if f.Kind == KindCommand && (f.Status != 0 || f.Seq != 0) {
		return f, fmt.Errorf("%w: a command with status or seq set", ErrMalformed)
	}
	n := int(binary.BigEndian.Uint16(b[8:]))
	if n > MaxBody {
		return f, fmt.Errorf("%w: body of %d bytes, more than %d", ErrMalformed, n, MaxBody)
	}
	if len(b) != HeaderSize+n+MACSize {
		return f, fmt.Errorf("%w: %d bytes for a body of %d", ErrMalformed, len(b), n)
	}
	copy(f.Nonce[:], b[10:HeaderSize])
	f.Body = b[HeaderSize : HeaderSize+n]
	copy(f.MAC[:], b[HeaderSize+n:])
	return f, nil
}

// Signed returns the frame's bytes up to the MAC: what the MAC covers.
func (f *Frame) Signed() []byte {
	b := make([]byte, HeaderSize, HeaderSize+len(f.Body)+MACSize)
	b[0], b[1], b[2], b[3], b[4], b[5] = 'J', 'F', Version, f.Kind, byte(f.Op), byte(f.Status)
	binary.BigEndian.PutUint16(b[6:], f.Seq)
	binary.BigEndian.PutUint16(b[8:], uint16(len(f.Body)))
	copy(b[10:], f.Nonce[:])
	return append(b, f.Body...)
}

// Marshal returns the frame's wire bytes.
func (f *Frame) Marshal() []byte { return append(f.Signed(), f.MAC[:]...) }

// Domain-separation labels of the two MACs.
const (
	commandLabel = "jukiterm fingerprint command v1\x00"
	replyLabel   = "jukiterm fingerprint reply v1\x00"
)

// CommandMAC is the MAC of a command: HMAC-SHA-256(key, label ‖ command up to its MAC).
func CommandMAC(key []byte, cmd *Frame) [MACSize]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(commandLabel))
	m.Write(cmd.Signed())
	var out [MACSize]byte
	m.Sum(out[:0])
	return out
}

// ReplyMAC is the MAC of a reply: HMAC-SHA-256(key, label ‖ the command it answers up
// to its MAC ‖ the reply up to its MAC). It binds the reply to the command's nonce,
// op and arguments, and to its own status, seq and body.
func ReplyMAC(key []byte, cmd, reply *Frame) [MACSize]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(replyLabel))
	m.Write(cmd.Signed())
	m.Write(reply.Signed())
	var out [MACSize]byte
	m.Sum(out[:0])
	return out
}

// VerifyMAC compares MACs in constant time.
func VerifyMAC(want, got [MACSize]byte) bool { return hmac.Equal(want[:], got[:]) }

// Event is an intermediate status of enroll or verify, for the person at the reader.
type Event byte

// Events.
const (
	EventPlaceFinger   Event = 1 // the reader waits for a finger
	EventSample        Event = 2 // an enrollment sample was taken (n of of)
	EventLiftFinger    Event = 3 // lift the finger before the next sample
	EventRetry         Event = 4 // the capture was poor: place the finger again
	EventNotMatched    Event = 5 // sent by the driver, not the reader: a verify found no match
	EventMatched       Event = 6 // sent by the driver: a verify matched
	EventSamplesDiffer Event = 7 // sent by the driver: enrollment samples came from different fingers
)

// Message is the text to show the person at the reader.
func (e Event) Message() string {
	switch e {
	case EventPlaceFinger:
		return "Place your finger on the reader"
	case EventSample:
		return "Sample taken"
	case EventLiftFinger:
		return "Lift your finger, then place it again"
	case EventRetry:
		return "The reader could not read the finger: place it again, flat and still"
	case EventNotMatched:
		return "Finger not recognised"
	case EventMatched:
		return "Finger recognised"
	case EventSamplesDiffer:
		return "The samples came from different fingers: start the enrollment again with one finger"
	}
	return fmt.Sprintf("reader event %d", byte(e))
}

func (e Event) String() string { return e.Message() }

// Slot body helpers.
func putU32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
