package fingerprint

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"sort"
	"sync"

	fp "jukiterm/devices/fingerprint"
)

// sensor is the firmware of one attachment of the simulated reader: it takes command
// frames on endpoint 0x01 and queues reply frames for endpoint 0x81, speaking
// devices/fingerprint's protocol. Templates and the pairing key live in the Sim's
// state directory, so they outlast an unplug.
type sensor struct {
	sim *Sim

	mu     sync.Mutex
	queue  [][]byte
	ready  chan struct{} // a token while queue is not empty
	op     *running
	seen   map[[fp.NonceSize]byte]bool
	order  [][fp.NonceSize]byte
	closed bool
}

type running struct {
	cmd    *fp.Frame
	key    []byte
	seq    uint16
	cancel context.CancelFunc
	done   chan struct{}
}

func newSensor(s *Sim) *sensor {
	return &sensor{sim: s, ready: make(chan struct{}, 1), seen: map[[fp.NonceSize]byte]bool{}}
}

// shutdown ends the operation under way without a reply (the device is gone).
func (g *sensor) shutdown() {
	g.mu.Lock()
	g.closed = true
	op := g.op
	g.mu.Unlock()
	if op != nil {
		op.cancel()
		<-op.done
	}
}

// Out takes one command frame. Frames that do not parse are dropped, as a device
// drops garbage: the host times out.
func (g *sensor) Out(ep uint8, b []byte) error {
	if ep != fp.SimulatedSensor.Out {
		return errors.New("usbsim fingerprint: no such OUT endpoint")
	}
	cmd, err := fp.Parse(b)
	if err != nil || cmd.Kind != fp.KindCommand {
		return nil
	}
	cmd.Body = append([]byte(nil), cmd.Body...)
	g.command(&cmd)
	return nil
}

// In hands out the next queued reply.
func (g *sensor) In(ctx context.Context, ep uint8, buf []byte) (int, error) {
	if ep != fp.SimulatedSensor.In {
		return 0, errors.New("usbsim fingerprint: no such IN endpoint")
	}
	for {
		g.mu.Lock()
		if len(g.queue) > 0 {
			f := g.queue[0]
			g.queue = g.queue[1:]
			if len(g.queue) > 0 {
				g.signal()
			}
			g.mu.Unlock()
			return copy(buf, f), nil
		}
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-g.ready:
		}
	}
}

func (g *sensor) signal() {
	select {
	case g.ready <- struct{}{}:
	default:
	}
}

// send queues a reply to cmd, MAC'd under key when there is one. Call with g.mu held.
func (g *sensor) send(cmd *fp.Frame, key []byte, seq uint16, st fp.Status, body []byte) {
	if g.closed {
		return
	}
	r := &fp.Frame{Kind: fp.KindReply, Op: cmd.Op, Status: st, Seq: seq, Nonce: cmd.Nonce, Body: body}
	if key != nil {
		r.MAC = fp.ReplyMAC(key, cmd, r)
	}
	g.queue = append(g.queue, r.Marshal())
	g.signal()
}

func (g *sensor) command(cmd *fp.Frame) {
	st, err := g.sim.load()
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		g.send(cmd, nil, 0, fp.StatusBusy, nil)
		return
	}
	var key []byte
	if st.PairingKey != "" {
		key, _ = hex.DecodeString(st.PairingKey)
	}
	reply := func(s fp.Status, body []byte) { g.send(cmd, key, 0, s, body) }
	// A repeated nonce is a replayed command: refused, whatever it is.
	if g.seen[cmd.Nonce] {
		reply(fp.StatusBadCommand, nil)
		return
	}
	g.remember(cmd.Nonce)
	switch {
	case cmd.Op == fp.OpInfo:
		g.info(cmd, key)
		return
	case cmd.Op == fp.OpPair:
		g.pair(cmd, key, st)
		return
	case key == nil:
		reply(fp.StatusNotPaired, nil)
		return
	case !fp.VerifyMAC(fp.CommandMAC(key, cmd), cmd.MAC):
		reply(fp.StatusBadMAC, nil)
		return
	case cmd.Op == fp.OpCancel:
		if op := g.op; op != nil {
			op.cancel()
			g.mu.Unlock()
			<-op.done // it queued its Cancelled reply
			g.mu.Lock()
		}
		reply(fp.StatusOK, nil)
		return
	case g.op != nil:
		reply(fp.StatusBusy, nil)
		return
	}
	switch cmd.Op {
	case fp.OpVerify:
		if len(cmd.Body) != 0 && len(cmd.Body) != 4 {
			reply(fp.StatusBadCommand, nil)
			return
		}
		if len(cmd.Body) == 4 && binary.BigEndian.Uint32(cmd.Body) >= uint32(g.sim.o.Slots) {
			reply(fp.StatusBadSlot, nil)
			return
		}
		g.start(cmd, key, g.verify)
	case fp.OpEnroll:
		if len(cmd.Body) != 5 || cmd.Body[4] == 0 {
			reply(fp.StatusBadCommand, nil)
			return
		}
		slot := binary.BigEndian.Uint32(cmd.Body)
		if slot >= uint32(g.sim.o.Slots) {
			reply(fp.StatusBadSlot, nil)
			return
		}
		if _, used := st.Templates[slot]; used {
			reply(fp.StatusSlotInUse, nil)
			return
		}
		g.start(cmd, key, g.enroll)
	case fp.OpDelete:
		if len(cmd.Body) != 4 {
			reply(fp.StatusBadCommand, nil)
			return
		}
		slot := binary.BigEndian.Uint32(cmd.Body)
		if slot >= uint32(g.sim.o.Slots) {
			reply(fp.StatusBadSlot, nil)
			return
		}
		if err := g.sim.update(func(st *readerState) { delete(st.Templates, slot) }); err != nil {
			reply(fp.StatusBusy, nil)
			return
		}
		reply(fp.StatusOK, nil)
	case fp.OpList:
		slots := make([]uint32, 0, len(st.Templates))
		for s := range st.Templates {
			slots = append(slots, s)
		}
		sort.Slice(slots, func(i, j int) bool { return slots[i] < slots[j] })
		body := binary.BigEndian.AppendUint16(nil, uint16(len(slots)))
		for _, s := range slots {
			body = binary.BigEndian.AppendUint32(body, s)
		}
		reply(fp.StatusOK, body)
	default:
		reply(fp.StatusBadCommand, nil)
	}
}

func (g *sensor) remember(n [fp.NonceSize]byte) {
	const keep = 1024
	g.seen[n] = true
	g.order = append(g.order, n)
	if len(g.order) > keep {
		delete(g.seen, g.order[0])
		g.order = g.order[1:]
	}
}

func (g *sensor) info(cmd *fp.Frame, key []byte) {
	body := binary.BigEndian.AppendUint16(nil, uint16(g.sim.o.Slots))
	st := fp.StatusNotPaired
	flags := byte(0)
	if key != nil {
		st, flags = fp.StatusOK, 1
	}
	body = append(append(body, flags), g.sim.o.Model...)
	g.send(cmd, key, 0, st, body)
}

func (g *sensor) pair(cmd *fp.Frame, key []byte, st readerState) {
	if key != nil {
		g.send(cmd, key, 0, fp.StatusAlreadyPaired, nil)
		return
	}
	if len(cmd.Body) != fp.KeySize {
		g.send(cmd, nil, 0, fp.StatusBadCommand, nil)
		return
	}
	newKey := append([]byte(nil), cmd.Body...)
	if err := g.sim.update(func(st *readerState) { st.PairingKey = hex.EncodeToString(newKey) }); err != nil {
		g.send(cmd, nil, 0, fp.StatusBusy, nil)
		return
	}
	g.send(cmd, newKey, 0, fp.StatusOK, nil)
}

// start runs a finger operation in the background. Call with g.mu held.
func (g *sensor) start(cmd *fp.Frame, key []byte, work func(context.Context, *running)) {
	ctx, cancel := context.WithCancel(context.Background())
	op := &running{cmd: cmd, key: key, cancel: cancel, done: make(chan struct{})}
	g.op = op
	go func() {
		defer close(op.done)
		work(ctx, op)
		g.mu.Lock()
		if g.op == op {
			g.op = nil
		}
		g.mu.Unlock()
		cancel()
	}()
}

// reply queues the operation's next reply. With its final reply the operation is
// over: the next command is taken at once (the host may send it before this
// goroutine ends).
func (g *sensor) reply(op *running, st fp.Status, body []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.send(op.cmd, op.key, op.seq, st, body)
	op.seq++
	if st != fp.StatusEvent && g.op == op {
		g.op = nil
	}
}

func (g *sensor) event(op *running, e fp.Event, n, of int) {
	g.reply(op, fp.StatusEvent, []byte{byte(e), byte(n), byte(of)})
}

// capture waits for a finger; on cancel it answers Cancelled and returns false.
func (g *sensor) capture(ctx context.Context, op *running) (string, bool) {
	name, err := g.sim.waitFinger(ctx)
	if err != nil {
		g.reply(op, fp.StatusCancelled, nil)
		return "", false
	}
	return name, true
}

func (g *sensor) verify(ctx context.Context, op *running) {
	g.event(op, fp.EventPlaceFinger, 0, 0)
	name, ok := g.capture(ctx, op)
	if !ok {
		return
	}
	only := int64(-1)
	if len(op.cmd.Body) == 4 {
		only = int64(binary.BigEndian.Uint32(op.cmd.Body))
	}
	slot, matched := g.sim.match(name, only)
	if !matched {
		g.reply(op, fp.StatusNoMatch, nil)
		return
	}
	g.reply(op, fp.StatusMatch, binary.BigEndian.AppendUint32(nil, slot))
}

func (g *sensor) enroll(ctx context.Context, op *running) {
	slot := binary.BigEndian.Uint32(op.cmd.Body)
	samples := int(op.cmd.Body[4])
	g.event(op, fp.EventPlaceFinger, 0, 0)
	var first string
	for i := 1; i <= samples; i++ {
		name, ok := g.capture(ctx, op)
		if !ok {
			return
		}
		if name == "" { // an unknown finger: a template that matches no named finger
			name = "unknown-" + newSerial()
		}
		if i == 1 {
			first = name
		} else if name != first && !(isUnknown(name) && isUnknown(first)) {
			g.reply(op, fp.StatusSamplesDiffer, nil)
			return
		}
		g.event(op, fp.EventSample, i, samples)
		if i < samples {
			g.event(op, fp.EventLiftFinger, i, samples)
		}
	}
	if err := g.sim.update(func(st *readerState) { st.Templates[slot] = first }); err != nil {
		g.reply(op, fp.StatusBusy, nil)
		return
	}
	g.reply(op, fp.StatusOK, binary.BigEndian.AppendUint32(nil, slot))
}

func isUnknown(name string) bool { return len(name) > 8 && name[:8] == "unknown-" }
