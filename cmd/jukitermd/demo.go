//go:build !nohwsim

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"jukiterm/hwsim/load"
	"jukiterm/store"
	"jukiterm/store/kana"
)

// demoExample is the resident code the demo hints show; set by loadDemo.
var demoExample string

// loadDemo fills an empty identity file with the synthetic demo data set.
func loadDemo(st *store.Store, n int, log *slog.Logger) error {
	ctx := context.Background()
	stats, err := st.Stats(ctx)
	if err != nil {
		return err
	}
	if stats.Applied > 0 {
		log.Info("demo data set: the identity file is not empty, nothing loaded", "persons", stats.Current+stats.Removed)
		return nil
	}
	log.Info("demo data set: loading synthetic residents", "persons", n)
	demoExample, err = load.Demo(ctx, st, n)
	return err
}

// printDemoHints shows two commands to try from a second shell, with a real person of
// the demo data set.
func printDemoHints(st *store.Store, socket string) {
	ctx := context.Background()
	code := demoExample
	if code == "" {
		q := store.Query{Kana: "サトウ", Limit: 1}
		if q.Normalize(st.Prefecture()) == nil {
			if r, err := st.Search(ctx, q); err == nil && len(r) > 0 {
				code = r[0].ResidentCode
			}
		}
	}
	p, err := st.Get(ctx, code, false)
	if err != nil {
		return
	}
	cli := "jukiterm"
	if exe, err := os.Executable(); err == nil {
		cli = filepath.Join(filepath.Dir(exe), "jukiterm")
	}
	fmt.Printf(`
jukitermd is serving the synthetic demo data set (no real person). From a second shell, try:

  export JUKITERM_SOCKET=%s
  %s login --sim-finger operator      # sign in as the demo operator (simulated finger)
  %s search --kana '%s' --birth %s
  %s show %s --history
`, socket, cli, cli, hiragana(p.NameKana), p.Birth, cli, p.ResidentCode)
	if demoNationalExample != "" {
		fmt.Printf(`
The national server simulator runs inside this demo (%s). As the operator, ask it
about a person of 青森県 (under an application the admin adds, see %s application --help):
  %s search --national --code %s
As admin, pin a simulated CS, then send it over the link 1000 notifications, 5 %% invalid:
  %s peer add --cs 052019 --cert %s --reason demo
  %s sim cs --municipality 052019 --generate 1000 --invalid 5%%
  %s link status
`, demoNational, cli, cli, demoNationalExample, cli, demoCSCert, cli, cli)
	}
	fmt.Print(`
Other demo operators: admin (administrator: ingest, operators, rights, keys, backups)
and auditor; sign in as them the same way. Stop the daemon with Ctrl-C.
`)
}

// hiragana writes a katakana name in hiragana, as staff often type it.
func hiragana(s string) string {
	out := []rune(s)
	for i, r := range out {
		if r >= 'ァ' && r <= 'ヶ' {
			out[i] = r - 0x60
		} else if r == []rune(kana.Sep)[0] {
			out[i] = ' '
		}
	}
	return string(out)
}
