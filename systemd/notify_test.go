package systemd

import (
	"testing"

	"jukiterm/systemd/sdtest"
)

func TestNotifyReachesSocket(t *testing.T) {
	ch := sdtest.NotifySocket(t)
	for _, f := range []func() error{Ready, func() error { return Status("serving") }, Reloading, Stopping} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"READY=1", "STATUS=serving", "RELOADING=1", "STOPPING=1"} {
		if got := sdtest.Next(t, ch); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

func TestNotifyWithoutSystemdIsQuiet(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if err := Ready(); err != nil {
		t.Fatal(err)
	}
}
