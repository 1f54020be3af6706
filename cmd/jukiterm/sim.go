//go:build !nohwsim

package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"jukiterm/hwsim/load"
	"jukiterm/hwsim/synth"
	"jukiterm/store/record"
)

func init() { simCommands = append(simCommands, (*app).simCmd) }

func (a *app) simCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "sim",
		Short: "Simulators and synthetic data for tests, demos and training (no real data)",
	}
	gen := &cobra.Command{Use: "gen", Short: "Generate synthetic notification files"}
	var seed uint64
	var count, residents int
	var invalid float64
	var mix, labels, rules string
	res := &cobra.Command{
		Use:   "residents --count N [--seed S] > FILE.jsonl",
		Short: "Write N synthetic residents of Akita as entering notifications (JSON Lines)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return load.WriteResidents(os.Stdout, seed, count, record.Akita())
		},
	}
	res.Flags().IntVar(&count, "count", 1000, "number of residents")
	res.Flags().Uint64Var(&seed, "seed", 1, "generator seed: the same seed gives the same residents")
	var demo bool
	notes := &cobra.Command{
		Use:   "notifications (--residents N [--seed S] | --demo [--residents N]) --count K [--invalid SHARE] [--labels FILE] > FILE.jsonl",
		Short: "Write K change notifications against the N residents of `sim gen residents` with the same seed, or against the demo data set",
		Long: "Write K change notifications against the population that `sim gen residents --count N\n" +
			"--seed S` describes (ingest that first), or with --demo against the demo data set that\n" +
			"`jukitermd --demo N` loads (`make run`: N = 100000, the default with --demo), as it stands\n" +
			"after loading: with --invalid 0 every notification applies. --mix sets reason weights\n" +
			"(e.g. 転居=40,死亡=5); --invalid the share of invalid notifications, each labelled in\n" +
			"--labels FILE with the line number and the rule it must be rejected with (\"-\" for\n" +
			"valid, \"duplicate\"). The same options give the same file.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o := synth.StreamOptions{Invalid: invalid}
			if invalid < 0 || invalid > 1 {
				return withCode(exitUsage, fmt.Errorf("--invalid must be a share between 0 and 1"))
			}
			if demo && c.Flags().Changed("seed") {
				return withCode(exitUsage, fmt.Errorf("--demo uses the demo data set's own seed: leave out --seed"))
			}
			if demo && !c.Flags().Changed("residents") {
				residents = load.DemoPersons
			}
			if mix != "" {
				m, err := parseMix(mix)
				if err != nil {
					return withCode(exitUsage, err)
				}
				o.Mix = m
			}
			if rules != "" {
				o.Rules = strings.Split(rules, ",")
			}
			p := record.Akita()
			var s *synth.Stream
			if demo {
				s = load.DemoStream(residents, p, o)
			} else {
				s = synth.NewStream(seed, synth.Residents(seed, residents, p), p, o)
			}
			out := bufio.NewWriter(os.Stdout)
			var lab *bufio.Writer
			if labels != "" {
				f, err := os.Create(labels)
				if err != nil {
					return err
				}
				defer f.Close()
				lab = bufio.NewWriter(f)
				defer lab.Flush()
			}
			for i := 1; i <= count; i++ {
				it := s.Next()
				out.Write(it.Line)
				out.WriteByte('\n')
				if lab != nil {
					l := it.Rule
					switch {
					case it.Duplicate:
						l = "duplicate"
					case l == "":
						l = "-"
					}
					fmt.Fprintf(lab, "%d\t%s\n", i, l)
				}
			}
			return out.Flush()
		},
	}
	notes.Flags().IntVar(&residents, "residents", 1000, "size of the population (as given to `sim gen residents --count`, or to `jukitermd --demo` with --demo)")
	notes.Flags().BoolVar(&demo, "demo", false, "against the demo data set of `jukitermd --demo N` (`make run`), N from --residents (default 100000)")
	notes.Flags().IntVar(&count, "count", 1000, "number of notifications")
	notes.Flags().Uint64Var(&seed, "seed", 1, "generator seed (the residents' seed)")
	notes.Flags().Float64Var(&invalid, "invalid", 0, "share of invalid notifications, 0 to 1")
	notes.Flags().StringVar(&mix, "mix", "", "reason weights, e.g. 転居=40,転出=10,死亡=5 (default: a realistic mix)")
	notes.Flags().StringVar(&rules, "rules", "", "comma-separated rule ids to draw invalid notifications from (default: all)")
	notes.Flags().StringVar(&labels, "labels", "", "write each line's label (rule id, - or duplicate) to this file")
	gen.AddCommand(res, notes)
	c.AddCommand(gen, a.simFingerCmd(), a.simReaderCmd(), a.simUSBCmd(), a.simNationalCmd(), a.simCSCmd())
	return c
}

func parseMix(s string) (map[string]int, error) {
	m := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		w, err := strconv.Atoi(v)
		if _, known := record.Reasons[k]; !ok || err != nil || w < 0 || !known {
			return nil, fmt.Errorf("--mix %q: write REASON=WEIGHT pairs separated by commas, with reasons such as 転居", part)
		}
		m[k] = w
	}
	return m, nil
}
