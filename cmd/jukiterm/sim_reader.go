//go:build !nohwsim

package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	fpsim "jukiterm/hwsim/fingerprint"
)

func (a *app) simFingerCmd() *cobra.Command {
	c := &cobra.Command{Use: "finger", Short: "Put a finger on the simulated fingerprint reader, or take it off"}
	d := simDir{app: a}
	var hold time.Duration
	present := &cobra.Command{
		Use:   "present NAME|unknown [--hold DURATION]",
		Short: "Present NAME's finger (or an unknown one) to the simulated reader",
		Long: "Present NAME's finger to the simulated reader. Enrolling while it is presented stores NAME\n" +
			"as the slot's template; verifying matches it against the templates (then applies the\n" +
			"reader's false-match and false-non-match rates). `unknown` is a finger enrolled nowhere.\n" +
			"The next capture takes the finger; with --hold it stays for that long, taken by every\n" +
			"capture meanwhile (an enrollment of several samples, or several sign-ins).",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			dir, err := d.path("reader")
			if err != nil {
				return err
			}
			if err := fpsim.Present(dir, args[0], hold); err != nil {
				return withCode(exitUsage, err)
			}
			who := args[0] + "'s finger"
			if args[0] == fpsim.Unknown {
				who = "an unknown finger"
			}
			if hold > 0 {
				fmt.Printf("%s is on the simulated reader for %v.\n", capital(who), hold)
			} else {
				fmt.Printf("%s is on the simulated reader: the next capture takes it.\n", capital(who))
			}
			return nil
		},
	}
	present.Flags().DurationVar(&hold, "hold", 0, "keep the finger on the reader this long (e.g. 10s); default: until the next capture")
	lift := &cobra.Command{
		Use: "lift", Short: "Take any presented finger off the simulated reader", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			dir, err := d.path("reader")
			if err != nil {
				return err
			}
			if err := fpsim.Lift(dir); err != nil {
				return err
			}
			fmt.Println("No finger is on the simulated reader.")
			return nil
		},
	}
	c.AddCommand(d.flags(present), d.flags(lift))
	return c
}

func capital(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func (a *app) simReaderCmd() *cobra.Command {
	c := &cobra.Command{Use: "reader", Short: "Plug, unplug, reset or inspect the simulated fingerprint reader"}
	d := simDir{app: a}
	simple := func(use, short, done string, f func(dir string) error) *cobra.Command {
		return d.flags(&cobra.Command{Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				dir, err := d.path("reader")
				if err != nil {
					return err
				}
				if err := f(dir); err != nil {
					return err
				}
				fmt.Println(done)
				return nil
			}})
	}
	unplug := simple("unplug", "Unplug the simulated reader (jukitermd sees it go within 20 ms)",
		"The simulated reader is unplugged: `jukiterm sim reader plug` plugs it in again.",
		func(dir string) error { return fpsim.SetPlugged(dir, false) })
	plug := simple("plug", "Plug the simulated reader in again", "The simulated reader is plugged in.",
		func(dir string) error { return fpsim.SetPlugged(dir, true) })
	reset := simple("reset", "Reset the simulated reader to its factory state: no pairing, no enrolled fingers",
		"The simulated reader is reset: it holds no fingers and must be paired again before use.", fpsim.Reset)
	var rates fpsim.Rates
	rate := d.flags(&cobra.Command{
		Use:   "rates --fmr RATE --fnmr RATE",
		Short: "Set the simulated reader's false-match and false-non-match rates (0 to 1)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			dir, err := d.path("reader")
			if err != nil {
				return err
			}
			if err := fpsim.SetRates(dir, rates); err != nil {
				return withCode(exitUsage, err)
			}
			fmt.Printf("From the next verification on, the simulated reader falsely matches %v of unknown fingers and falsely rejects %v of enrolled ones.\n", rates.FMR, rates.FNMR)
			return nil
		},
	})
	rate.Flags().Float64Var(&rates.FMR, "fmr", 0, "false-match rate: the share of fingers enrolled nowhere that match a slot")
	rate.Flags().Float64Var(&rates.FNMR, "fnmr", 0, "false-non-match rate: the share of enrolled fingers that match nothing")
	status := d.flags(a.addJSON(&cobra.Command{
		Use: "status", Short: "Show the simulated reader: plugged, paired, enrolled fingers, the finger presented", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			dir, err := d.path("reader")
			if err != nil {
				return err
			}
			st, err := fpsim.ReadStatus(dir)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(st)
			}
			printReaderStatus(st)
			return nil
		},
	}))
	c.AddCommand(unplug, plug, reset, rate, status)
	return c
}

func printReaderStatus(st fpsim.Status) {
	yes := map[bool]string{true: "yes", false: "no"}
	t := &table{}
	t.add("plugged in", yes[st.Plugged])
	t.add("paired", yes[st.Paired])
	t.add("serial", st.Serial)
	finger := "none"
	if st.Finger != nil {
		finger = *st.Finger
		if finger == "" {
			finger = fpsim.Unknown
		}
		if !st.HeldUntil.IsZero() {
			finger += " (held until " + st.HeldUntil.Format(time.TimeOnly) + ")"
		}
	}
	t.add("finger presented", finger)
	if st.Rates != nil {
		t.add("rates", fmt.Sprintf("FMR %v, FNMR %v", st.Rates.FMR, st.Rates.FNMR))
	}
	slots := make([]uint32, 0, len(st.Templates))
	for s := range st.Templates {
		slots = append(slots, s)
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i] < slots[j] })
	for _, s := range slots {
		t.add(fmt.Sprintf("slot %d", s), st.Templates[s])
	}
	if len(slots) == 0 {
		t.add("enrolled fingers", "none")
	}
	t.print(os.Stdout)
}
