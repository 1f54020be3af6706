package hw

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"jukiterm/daemon"
	"jukiterm/daemon/atomicfile"
	"jukiterm/daemon/config"
	fp "jukiterm/devices/fingerprint"
	"jukiterm/devices/usb"
	"jukiterm/hsm"
)

// EnrolSamples is how many captures make a template.
const EnrolSamples = 3

// pairingAAD binds the wrapped pairing key to its purpose.
var pairingAAD = []byte("jukiterm reader pairing key v1")

// Reader is the terminal's fingerprint reader as jukitermd and init use it: each call
// opens (claims) the reader and closes (releases) it before returning.
type Reader struct {
	bus     usb.Bus
	key     []byte // the pairing key; nil until paired
	present func(name string, enrol bool) error
	close   func() error
}

// startSimReader, set by reader_sim.go, starts the simulated reader of cfg's state dir.
var startSimReader func(cfg config.Config) (usb.Bus, func(string, bool) error, func() error, error)

// OpenReader opens the reader the configuration names (simulated or on the USB bus)
// with the pairing key from cfg.ReaderKey, unwrapped by the HSM (none: not paired yet).
func OpenReader(cfg config.Config, tok *hsm.Token) (*Reader, error) {
	r := &Reader{}
	switch {
	case cfg.Hardware == "sim" && startSimReader == nil:
		return nil, errors.New("this build has no simulators (built with -tags nohwsim): set hardware = \"real\"")
	case cfg.Hardware == "sim":
		bus, present, stop, err := startSimReader(cfg)
		if err != nil {
			return nil, fmt.Errorf("start the simulated fingerprint reader: %w", err)
		}
		r.bus, r.present, r.close = bus, present, stop
	default:
		bus, err := usb.OpenGousb(usb.GousbOptions{})
		if err != nil {
			return nil, fmt.Errorf("open the USB bus for the fingerprint reader: %w", err)
		}
		r.bus, r.close = bus, bus.Close
	}
	b, err := os.ReadFile(cfg.ReaderKey)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return r, nil
	case err != nil:
		r.Close()
		return nil, fmt.Errorf("read the reader's pairing key: %w", err)
	}
	wrapped, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err == nil {
		r.key, err = tok.Unwrap(wrapped, pairingAAD)
	}
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("open the reader's pairing key %s with the HSM: %w", cfg.ReaderKey, err)
	}
	return r, nil
}

// Close releases the bus (and stops a simulated reader).
func (r *Reader) Close() error {
	clear(r.key)
	if r.close != nil {
		return r.close()
	}
	return nil
}

// Paired tells whether this terminal holds a pairing key for the reader.
func (r *Reader) Paired() bool { return r.key != nil }

// ID names the pairing (derived from its key, which it does not reveal): the identity
// file records it, so that operators enrolled on one reader are not taken for
// operators of another.
func (r *Reader) ID() string {
	if r.key == nil {
		return ""
	}
	h := sha256.Sum256(append([]byte("jukiterm reader id\x00"), r.key...))
	return hex.EncodeToString(h[:12])
}

// Pair draws a new pairing key, pairs the reader with it and keeps it, wrapped by the
// HSM, in cfg.ReaderKey.
func (r *Reader) Pair(ctx context.Context, cfg config.Config, tok *hsm.Token) error {
	key := make([]byte, 32)
	rand.Read(key)
	d, err := fp.Open(r.bus, nil)
	if err != nil {
		return err
	}
	err = d.Pair(ctx, key)
	d.Close()
	if err != nil {
		return err
	}
	wrapped, err := tok.Wrap(key, pairingAAD)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(cfg.ReaderKey, []byte(base64.StdEncoding.EncodeToString(wrapped)+"\n"), 0o600); err != nil {
		return fmt.Errorf("keep the reader's pairing key: %w", err)
	}
	r.key = key
	return nil
}

func (r *Reader) open() (*fp.Reader, error) {
	if r.key == nil {
		return nil, fp.ErrNotPaired
	}
	return fp.Open(r.bus, r.key)
}

func prompter(prompt func(string)) fp.Events {
	return func(e fp.Event, n, of int) {
		if prompt == nil {
			return
		}
		if of > 0 {
			prompt(fmt.Sprintf("%s (%d of %d)", e.Message(), n, of))
			return
		}
		prompt(e.Message())
	}
}

// Verify waits for a finger and tells whether it matches slot's template (1:1). A
// reply that fails its authentication is daemon.ErrReaderUntrusted.
func (r *Reader) Verify(ctx context.Context, slot uint32, prompt func(string)) (bool, error) {
	d, err := r.open()
	if err != nil {
		return false, err
	}
	defer d.Close()
	m, err := d.VerifySlot(ctx, slot, prompter(prompt))
	// The reader was opened with the pairing key: any answer but an authenticated
	// match or no-match (or the host's own cancel or unplugging) may have been
	// changed on the way, and counts as a failed attempt rather than none.
	if errors.Is(err, fp.ErrForged) || errors.Is(err, fp.ErrReplayed) || errors.Is(err, fp.ErrRefused) ||
		errors.Is(err, fp.ErrNotPaired) || errors.Is(err, fp.ErrMalformed) {
		return false, fmt.Errorf("%w: %w", daemon.ErrReaderUntrusted, err)
	}
	return m.Matched && m.Slot == slot, err
}

// Enroll captures a finger EnrolSamples times into slot.
func (r *Reader) Enroll(ctx context.Context, slot uint32, prompt func(string)) error {
	d, err := r.open()
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Enroll(ctx, slot, EnrolSamples, prompter(prompt))
}

// Delete removes slot's template.
func (r *Reader) Delete(ctx context.Context, slot uint32) error {
	d, err := r.open()
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Delete(ctx, slot)
}

// Lift takes a simulated finger off the reader (simulated hardware only).
func (r *Reader) Lift() error { return r.presentFor("", false) }

// Present shows the simulated reader name's finger (simulated hardware only): for
// one capture, or for every capture of an enrolment.
func (r *Reader) Present(name string) error { return r.presentFor(name, false) }

// PresentForEnrol keeps name's finger on the simulated reader for an enrolment.
func (r *Reader) PresentForEnrol(name string) error { return r.presentFor(name, true) }

func (r *Reader) presentFor(name string, enrol bool) error {
	if r.present == nil {
		return errors.New("a simulated finger can only be presented with simulated hardware (hardware = \"sim\")")
	}
	return r.present(name, enrol)
}
