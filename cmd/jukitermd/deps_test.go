package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPackagedBuildHasNoSimulators proves the packaged build (-tags nohwsim) links no
// simulator and no synthetic data, while the everyday build keeps them.
func TestPackagedBuildHasNoSimulators(t *testing.T) {
	deps := func(tags ...string) string {
		args := append([]string{"list", "-deps"}, tags...)
		out, err := exec.Command("go", append(args, "jukiterm/cmd/jukitermd", "jukiterm/cmd/jukiterm")...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		return string(out)
	}
	if d := deps("-tags", "nohwsim"); strings.Contains(d, "jukiterm/hwsim") {
		t.Fatalf("the nohwsim build links simulators:\n%s", grep(d, "jukiterm/hwsim"))
	}
	if d := deps(); !strings.Contains(d, "jukiterm/hwsim/synth") {
		t.Fatal("the everyday build lost the simulators (make run needs them)")
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
