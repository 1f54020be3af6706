package fingerprint

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
)

// The simulated reader's state directory (in sim mode STATE_DIR/sim/reader). Separate
// processes drive the reader through it: `jukiterm sim …` writes, the simulator inside
// jukitermd reads. Every file is replaced by rename, never written in place.
//
//	reader.json  the reader's own memory: pairing key, templates by slot, serial (0600)
//	finger       the finger presented now: {"name": …, "until": …}; "" is an unknown finger
//	unplugged    present while the reader is unplugged
//	rates.json   {"fmr": …, "fnmr": …}: overrides the simulator's configured rates
const (
	readerFile    = "reader.json"
	fingerFile    = "finger"
	unpluggedFile = "unplugged"
	ratesFile     = "rates.json"
)

// Unknown is the name `sim finger present` takes for a finger enrolled nowhere.
const Unknown = "unknown"

type readerState struct {
	PairingKey string            `json:"pairing_key,omitempty"` // hex
	Templates  map[uint32]string `json:"templates,omitempty"`
	Serial     string            `json:"serial"`
}

type presented struct {
	Name  string    `json:"name"`
	Until time.Time `json:"until,omitzero"`
}

// Rates are the simulated false-match and false-non-match rates.
type Rates struct {
	FMR  float64 `json:"fmr"`
	FNMR float64 `json:"fnmr"`
}

func (r Rates) check() error {
	if r.FMR < 0 || r.FMR > 1 || r.FNMR < 0 || r.FNMR > 1 {
		return fmt.Errorf("rates must be between 0 and 1, got FMR %v and FNMR %v", r.FMR, r.FNMR)
	}
	return nil
}

func writeJSON(dir, name string, v any, perm os.FileMode) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+name+"-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}

func readJSON(dir, name string, v any) (bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
	}
	return true, nil
}

func loadReader(dir string) (readerState, error) {
	var st readerState
	if _, err := readJSON(dir, readerFile, &st); err != nil {
		return st, err
	}
	if st.Templates == nil {
		st.Templates = map[uint32]string{}
	}
	return st, nil
}

func newSerial() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Present presents name's finger to the reader in dir (Unknown or "" for a finger
// enrolled nowhere). With hold 0 the next capture takes it; otherwise it stays on
// the reader for hold, captured by every capture meanwhile.
func Present(dir, name string, hold time.Duration) error {
	if name == Unknown {
		name = ""
	}
	if len(name) > 64 || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) >= 0 {
		return fmt.Errorf("a finger's name has at most 64 printable characters and no spaces, not %q", name)
	}
	if hold < 0 {
		return errors.New("the hold time cannot be negative")
	}
	p := presented{Name: name}
	if hold > 0 {
		p.Until = time.Now().Add(hold)
	}
	return writeJSON(dir, fingerFile, p, 0o600)
}

// Lift takes any presented finger off the reader in dir.
func Lift(dir string) error {
	if err := os.Remove(filepath.Join(dir, fingerFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// SetPlugged plugs the reader in dir in or unplugs it.
func SetPlugged(dir string, plugged bool) error {
	p := filepath.Join(dir, unpluggedFile)
	if plugged {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(p, nil, 0o600)
}

// Reset puts the reader in dir back to its factory state: no pairing key, no
// templates (as a real reader's reset does).
func Reset(dir string) error {
	st, err := loadReader(dir)
	if err != nil {
		return err
	}
	return writeJSON(dir, readerFile, readerState{Serial: st.Serial}, 0o600)
}

// SetRates makes the reader in dir use these rates from its next verification on.
func SetRates(dir string, r Rates) error {
	if err := r.check(); err != nil {
		return err
	}
	return writeJSON(dir, ratesFile, r, 0o600)
}

// Status is what `jukiterm sim reader status` shows.
type Status struct {
	Plugged   bool              `json:"plugged"`
	Paired    bool              `json:"paired"`
	Serial    string            `json:"serial,omitempty"`
	Templates map[uint32]string `json:"templates"`
	Finger    *string           `json:"finger"` // nil: none presented; "": unknown
	HeldUntil time.Time         `json:"held_until,omitzero"`
	Rates     *Rates            `json:"rates,omitempty"` // set with SetRates
}

// ReadStatus reads the reader's state from dir.
func ReadStatus(dir string) (Status, error) {
	st, err := loadReader(dir)
	if err != nil {
		return Status{}, err
	}
	s := Status{Paired: st.PairingKey != "", Serial: st.Serial, Templates: st.Templates}
	_, err = os.Stat(filepath.Join(dir, unpluggedFile))
	s.Plugged = errors.Is(err, os.ErrNotExist)
	var p presented
	if ok, err := readJSON(dir, fingerFile, &p); err != nil {
		return s, err
	} else if ok && (p.Until.IsZero() || time.Now().Before(p.Until)) {
		s.Finger, s.HeldUntil = &p.Name, p.Until
	}
	var r Rates
	if ok, err := readJSON(dir, ratesFile, &r); err != nil {
		return s, err
	} else if ok {
		s.Rates = &r
	}
	return s, nil
}

// takeFinger returns the finger on the reader now, if any: a held finger stays, any
// other is consumed (renamed away first, so two captures never take the same one).
func takeFinger(dir string) (string, bool) {
	path := filepath.Join(dir, fingerFile)
	var p presented
	if ok, err := readJSON(dir, fingerFile, &p); !ok || err != nil {
		return "", false
	}
	if !p.Until.IsZero() {
		if time.Now().Before(p.Until) {
			return p.Name, true
		}
		os.Remove(path)
		return "", false
	}
	taken := path + ".taken"
	if err := os.Rename(path, taken); err != nil {
		return "", false
	}
	defer os.Remove(taken)
	if ok, err := readJSON(dir, fingerFile+".taken", &p); !ok || err != nil {
		return "", false
	}
	return p.Name, true
}
