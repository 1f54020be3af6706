package fingerprint

import (
	"testing"
	"time"
)

func TestPresentedFinger(t *testing.T) {
	dir := t.TempDir()
	if _, ok := takeFinger(dir); ok {
		t.Fatal("a finger with none presented")
	}
	// Consumed by the next capture.
	Present(dir, "alice", 0)
	if st, _ := ReadStatus(dir); st.Finger == nil || *st.Finger != "alice" {
		t.Errorf("status: %+v", st)
	}
	if n, ok := takeFinger(dir); !ok || n != "alice" {
		t.Errorf("took %q %v", n, ok)
	}
	if _, ok := takeFinger(dir); ok {
		t.Error("the finger was taken twice")
	}
	// Unknown is the empty name.
	Present(dir, Unknown, 0)
	if n, ok := takeFinger(dir); !ok || n != "" {
		t.Errorf("unknown: %q %v", n, ok)
	}
	// Held: every capture takes it until the time is up.
	Present(dir, "bob", 60*time.Millisecond)
	for range 3 {
		if n, ok := takeFinger(dir); !ok || n != "bob" {
			t.Errorf("held finger: %q %v", n, ok)
		}
	}
	time.Sleep(80 * time.Millisecond)
	if _, ok := takeFinger(dir); ok {
		t.Error("a held finger outlived its time")
	}
	if err := Present(dir, "two words", 0); err == nil {
		t.Error("a name with a space was accepted")
	}
	Present(dir, "carol", 0)
	Lift(dir)
	if _, ok := takeFinger(dir); ok {
		t.Error("a lifted finger was taken")
	}
}

func TestPlugAndReset(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(dir, Options{Poll: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Device() == nil {
		t.Fatal("a new reader is not plugged in")
	}
	// Another process unplugs it: the poll sees it.
	if err := SetPlugged(dir, false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.Device() != nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.Device() != nil {
		t.Fatal("still plugged in after `sim reader unplug`")
	}
	if devs, _ := s.Bus().Devices(); len(devs) != 0 {
		t.Errorf("bus still lists %v", devs)
	}
	if st, _ := ReadStatus(dir); st.Plugged {
		t.Error("status says plugged")
	}
	SetPlugged(dir, true)
	for s.Device() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.Device() == nil {
		t.Fatal("not plugged in again")
	}
	s.update(func(st *readerState) { st.PairingKey, st.Templates[1] = "00", "alice" })
	serial := s.Device().Info().Serial
	if err := Reset(dir); err != nil {
		t.Fatal(err)
	}
	st, _ := ReadStatus(dir)
	if st.Paired || len(st.Templates) != 0 || st.Serial != serial {
		t.Errorf("after reset: %+v (serial was %s)", st, serial)
	}
}
