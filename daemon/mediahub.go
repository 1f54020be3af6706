package daemon

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/devices/media"
	"jukiterm/devices/usb"
	"jukiterm/store"
)

// Media is what jukitermd knows of removable media: the USB bus, how a stick's data
// volume is reached, the approved models, and the key that signs provision manifests.
type Media struct {
	Bus      usb.Bus
	Locator  media.Locator
	Approved []string      // "VVVV:PPPP" of hardware-encrypted, security-locked models
	Signer   crypto.Signer // the HSM key
	// Poll is how often the bus is looked at for devices plugged or pulled (default 500 ms).
	Poll time.Duration
}

// mediaHub holds the Media the daemon was given (nil: no USB bus, every medium refused).
type mediaHub struct {
	Media
	approvedIDs [][2]uint16

	mu   sync.Mutex
	busy map[string]bool // serials a provision is being written to
}

// SetMedia gives the daemon its USB bus and media policy, and starts watching the bus:
// every device plugged or pulled is an operation-log entry with the policy's verdict.
func (s *Server) SetMedia(m Media) error {
	h := &mediaHub{Media: m}
	for _, a := range m.Approved {
		v, p, err := parseModel(a)
		if err != nil {
			return fmt.Errorf("approved_media: %w", err)
		}
		h.approvedIDs = append(h.approvedIDs, [2]uint16{v, p})
	}
	if h.Poll <= 0 {
		h.Poll = 500 * time.Millisecond
	}
	s.media = h
	if m.Bus != nil {
		s.background.Go(func() { s.watchBus(h) })
	}
	return nil
}

// parseModel reads "VVVV:PPPP" (hexadecimal USB vendor and product ids).
func parseModel(s string) (uint16, uint16, error) {
	v, p, ok := strings.Cut(s, ":")
	vi, err1 := strconv.ParseUint(v, 16, 16)
	pi, err2 := strconv.ParseUint(p, 16, 16)
	if !ok || len(v) != 4 || len(p) != 4 || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("model %q: give the USB vendor and product ids as VVVV:PPPP in hexadecimal (lsusb shows them)", s)
	}
	return uint16(vi), uint16(pi), nil
}

func (h *mediaHub) approved(v, p uint16) bool {
	return h != nil && slices.Contains(h.approvedIDs, [2]uint16{v, p})
}

// Refusal is the media policy's no, with its stable code.
type Refusal struct{ Code, Reason string }

func (r *Refusal) Error() string { return "medium refused: " + r.Reason }

func refuse(code, format string, a ...any) *Refusal {
	return &Refusal{Code: code, Reason: fmt.Sprintf(format, a...)}
}

var classNames = map[uint8]string{usb.ClassHID: "HID (keyboard/mouse)", usb.ClassCDC: "CDC (network/modem)",
	usb.ClassCDCData: "CDC data", usb.ClassVendor: "vendor-specific", usb.ClassHub: "hub"}

// verdict applies the policy, default deny, to a device for operator ("" when nobody
// asks: the issued-to check is then left out). It returns the medium's volume when the
// device is allowed and operator is given; the caller closes it if it can be closed.
func (h *mediaHub) verdict(ctx context.Context, st *store.Store, info usb.DeviceInfo, operator string, openVol bool) (api.Connected, media.Volume) {
	c := api.Connected{Serial: printable(info.Serial), Model: fmt.Sprintf("%04x:%04x", info.VendorID, info.ProductID), Product: printable(info.Product), Interfaces: []uint8{}}
	for _, i := range info.Interfaces {
		if !slices.Contains(c.Interfaces, i.Class) {
			c.Interfaces = append(c.Interfaces, i.Class)
		}
	}
	vol, r := h.check(ctx, st, info, c.Interfaces, operator, openVol)
	if r != nil {
		c.Code, c.Reason = r.Code, r.Reason
		return c, nil
	}
	c.Allowed = true
	return c, vol
}

func (h *mediaHub) check(ctx context.Context, st *store.Store, info usb.DeviceInfo, classes []uint8, operator string, openVol bool) (media.Volume, *Refusal) {
	model := fmt.Sprintf("%04x:%04x", info.VendorID, info.ProductID)
	var other []string
	for _, c := range classes {
		if c != usb.ClassMassStorage {
			other = append(other, fmt.Sprintf("%02x %s", c, cmpOr(classNames[c], "other")))
		}
	}
	switch {
	case !slices.Contains(classes, usb.ClassMassStorage):
		return nil, refuse("not-mass-storage", "the device (%s) is not a storage medium", model)
	case len(other) > 0:
		return nil, refuse("composite-device", "the stick also presents itself as %s besides mass storage (08): such a device can type or talk to the terminal, so it is refused. Remove it and report it", strings.Join(other, ", "))
	case info.Serial == "":
		return nil, refuse("no-serial", "the stick (%s) has no serial number, so it cannot be matched with the issued-media ledger", model)
	case !h.approved(info.VendorID, info.ProductID):
		return nil, refuse("model-not-approved", "model %s is not an approved hardware-encrypted, security-locked model: use an issued stick", model)
	}
	m, err := st.GetMedium(ctx, info.Serial)
	switch {
	case errors.Is(err, store.ErrNoMedium):
		return nil, refuse("not-registered", "stick %s is not in the issued-media ledger: only issued sticks may be used", info.Serial)
	case err != nil:
		return nil, refuse("ledger-unreadable", "the issued-media ledger could not be read: %v", err)
	case m.VendorID != info.VendorID || m.ProductID != info.ProductID:
		return nil, refuse("model-mismatch", "stick %s is registered as model %04x:%04x but presents itself as %s: it may be a copy of the serial number; refused, report it", info.Serial, m.VendorID, m.ProductID, model)
	case m.State == store.MediumRetired:
		return nil, refuse("retired", "stick %s is retired in the issued-media ledger: it may not be used again; hand it to the administrator", info.Serial)
	case m.State != store.MediumIssued:
		return nil, refuse("not-issued", "stick %s is in stock, issued to nobody: ask the administrator to issue it to you (jukiterm media issue)", info.Serial)
	case operator == "":
		return nil, nil // nobody asks: the rest depends on who does
	case m.Holder != operator:
		return nil, refuse("not-issued-to-you", "stick %s is issued to %s, not to you (%s)", info.Serial, m.Holder, operator)
	case h.Locator == nil:
		return nil, refuse("no-volume", "this terminal cannot reach the volumes of media")
	}
	vol, err := h.Locator.Volume(info)
	if err == nil && !openVol {
		vol.Close()
		vol = nil
	}
	switch {
	case errors.Is(err, media.ErrLocked):
		return nil, refuse("locked", "stick %s is locked: unlock it (its PIN or keypad), then try again", info.Serial)
	case errors.Is(err, media.ErrNotMounted):
		return nil, refuse("not-mounted", "stick %s is unlocked but its volume is not mounted: wait a moment, or take it out and put it in again", info.Serial)
	case err != nil:
		return nil, refuse("volume-unreadable", "the volume of stick %s cannot be opened: %v", info.Serial, err)
	}
	return vol, nil
}

// printable replaces what a device may put in its strings to upset a terminal
// (control characters, escape sequences) with '?'.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// connected lists the devices on the bus with the verdict for operator.
func (h *mediaHub) connected(ctx context.Context, st *store.Store, operator string) []api.Connected {
	out := []api.Connected{}
	if h == nil || h.Bus == nil {
		return out
	}
	devs, err := h.Bus.Devices()
	if err != nil {
		return out
	}
	for _, d := range devs {
		if !d.HasInterfaceClass(usb.ClassMassStorage) {
			continue // the reader and other non-media devices are not listed
		}
		c, _ := h.verdict(ctx, st, d, operator, false)
		out = append(out, c)
	}
	return out
}

// find returns the connected stick with serial, its verdict for operator and, if it is
// allowed, its volume (which the caller closes).
func (h *mediaHub) find(ctx context.Context, st *store.Store, serial, operator string) (api.Connected, usb.DeviceInfo, media.Volume, *Refusal) {
	d, r := h.lookup(serial)
	if r != nil {
		return api.Connected{Serial: serial}, d, nil, r
	}
	c, vol := h.verdict(ctx, st, d, operator, true)
	if !c.Allowed {
		return c, d, nil, &Refusal{Code: c.Code, Reason: c.Reason}
	}
	return c, d, vol, nil
}

// lookup finds the one stick with serial on the bus: none, or two at once (a copied
// serial number), is a refusal.
func (h *mediaHub) lookup(serial string) (usb.DeviceInfo, *Refusal) {
	if h == nil || h.Bus == nil {
		return usb.DeviceInfo{}, refuse("no-bus", "this terminal has no USB bus configured for media")
	}
	devs, err := h.Bus.Devices()
	if err != nil {
		return usb.DeviceInfo{}, refuse("bus-unreadable", "the USB bus cannot be read: %v", err)
	}
	var found []usb.DeviceInfo
	for _, d := range devs {
		if d.Serial == serial && d.HasInterfaceClass(usb.ClassMassStorage) {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return usb.DeviceInfo{}, refuse("not-connected", "stick %s is not connected: put it in, unlock it, and try again (jukiterm media list shows what is connected)", serial)
	case 1:
		return found[0], nil
	}
	return usb.DeviceInfo{}, refuse("duplicate-serial", "%d devices with the serial number %s are connected at once: one of them is a copy; take them all out and report it", len(found), serial)
}

// device returns the connected stick with serial, whatever the policy says of it.
func (h *mediaHub) device(serial string) (usb.DeviceInfo, bool) {
	d, r := h.lookup(serial)
	return d, r == nil
}

func closeVolume(v media.Volume) {
	if v != nil {
		v.Close()
	}
}

// watchBus logs every device plugged or pulled, with the policy's verdict, until the
// server stops.
func (s *Server) watchBus(h *mediaHub) {
	type key struct {
		bus, addr int
		serial    string
	}
	seen := map[key]usb.DeviceInfo{}
	tick := time.NewTicker(h.Poll)
	defer tick.Stop()
	first, busErr := true, false
	for {
		devs, err := h.Bus.Devices()
		if err != nil && !busErr {
			s.log.Error("the USB bus cannot be read: devices plugged or pulled are not seen", "err", err)
		}
		busErr = err != nil
		if err == nil {
			now := map[key]usb.DeviceInfo{}
			for _, d := range devs {
				now[key{d.Bus, d.Address, d.Serial}] = d
			}
			for k, d := range now {
				if _, ok := seen[k]; !ok {
					s.deviceEvent(h, "device.connected", d, first)
				}
			}
			for k, d := range seen {
				if _, ok := now[k]; !ok {
					s.deviceEvent(h, "device.removed", d, false)
				}
			}
			seen = now
			first = false
		}
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// deviceEvent records one device plugged or pulled (atStart: present when jukitermd
// started). Device events carry no personal data.
func (s *Server) deviceEvent(h *mediaHub, action string, d usb.DeviceInfo, atStart bool) {
	c, _ := h.verdict(s.ctx, s.store, d, "", false)
	detail := map[string]any{"model": c.Model, "serial": c.Serial, "product": c.Product, "interfaces": c.Interfaces,
		"port": d.Port, "medium": d.HasInterfaceClass(usb.ClassMassStorage)}
	if atStart {
		detail["at_start"] = true
	}
	if action == "device.connected" && d.HasInterfaceClass(usb.ClassMassStorage) {
		if c.Code != "" {
			detail["refused"], detail["why"] = c.Code, c.Reason
			s.log.Warn("USB medium refused", "serial", c.Serial, "model", c.Model, "code", c.Code, "reason", c.Reason)
		} else {
			s.log.Info("USB medium connected: issued and approved", "serial", c.Serial, "model", c.Model)
		}
	}
	if _, err := s.store.Log(s.ctx, store.Entry{Operator: "jukitermd", Action: action, Detail: detail}); err != nil && s.ctx.Err() == nil {
		s.log.Error("a USB device event could not be recorded in the operation log", "action", action, "err", err)
	}
}

// claim keeps other provisions off the stick until unlock is called.
func (h *mediaHub) claim(serial string) (unlock func(), r *Refusal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy == nil {
		h.busy = map[string]bool{}
	}
	if h.busy[serial] {
		return nil, refuse("busy", "another provision is being written to stick %s: wait for it to end", serial)
	}
	h.busy[serial] = true
	return func() { h.mu.Lock(); delete(h.busy, serial); h.mu.Unlock() }, nil
}

// recheck applies the policy once more to the device found earlier (was): the same
// stick at the same bus address, and the ledger as it is now.
func (h *mediaHub) recheck(ctx context.Context, st *store.Store, was usb.DeviceInfo, operator string) *Refusal {
	d, r := h.lookup(was.Serial)
	switch {
	case r != nil:
		return r
	case d.Bus != was.Bus || d.Address != was.Address:
		return refuse("replugged", "stick %s was taken out and put back while the queries ran: run the provision again", was.Serial)
	}
	if c, _ := h.verdict(ctx, st, d, operator, false); !c.Allowed {
		return &Refusal{Code: c.Code, Reason: c.Reason}
	}
	return nil
}
