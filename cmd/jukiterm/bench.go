//go:build !nohwsim

package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"jukiterm/hwsim/linkworld"
	"jukiterm/hwsim/load"
	"jukiterm/store"
)

func init() { simCommands = append(simCommands, (*app).benchCmd) }

func (a *app) benchCmd() *cobra.Command {
	var persons, queries int
	var seed uint64
	var keep string
	c := &cobra.Command{
		Use:   "bench (ingest | search | rotate | start | oplog | provision | links)",
		Short: "Measure whole pipelines on synthetic residents, in a temporary state dir of its own",
	}
	// inDir runs fn in the work directory: --dir (kept), else a temporary one (removed).
	inDir := func(fn func(dir string) error) error {
		if keep != "" {
			if err := os.MkdirAll(keep, 0o750); err != nil {
				return err
			}
			return fn(keep)
		}
		d, err := os.MkdirTemp("", "jukiterm-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		return fn(d)
	}
	ingest := &cobra.Command{
		Use:   "ingest --persons N",
		Short: "Ingest N new persons through the whole path, against bare SQLite writing the same rows",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var f load.IngestFigures
			err := inDir(func(dir string) (err error) {
				f, err = load.BenchIngest(c.Context(), dir, persons, seed)
				return err
			})
			if err != nil {
				return fmt.Errorf("bench ingest: %w", err)
			}
			if a.json {
				return printJSON(f)
			}
			fmt.Printf("ingest of %d persons, %d a transaction (%s, %d CPUs)\n", f.Persons, f.Batch, runtime.GOARCH, runtime.NumCPU())
			fmt.Printf("  jukiterm     %9.0f persons/s  (%.1f s)\n", f.PerS, f.Seconds)
			fmt.Printf("  bare SQLite  %9.0f rows/s     (%.1f s)\n", f.SQLitePerS, f.SQLiteSeconds)
			fmt.Printf("  ratio        %9.2f\n", f.Ratio)
			return nil
		},
	}
	var csCount int
	links := &cobra.Command{
		Use:   "links --persons N [--cs C]",
		Short: "Send N notifications from C CS at once over the links, against ingesting them from a file, with the national delivery's lag",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var f linkworld.LinkFigures
			err := inDir(func(dir string) (err error) {
				f, err = linkworld.BenchLinks(c.Context(), dir, persons, csCount, seed)
				return err
			})
			if err != nil {
				return fmt.Errorf("bench links: %w", err)
			}
			if a.json {
				return printJSON(f)
			}
			fmt.Printf("%d notifications from %d CS at once over TLS on loopback (%s, %d CPUs)\n", f.Notifications, f.CS, runtime.GOARCH, runtime.NumCPU())
			fmt.Printf("  over the links  %9.0f notifications/s  (%.1f s)\n", f.LinkPerS, f.LinkSeconds)
			fmt.Printf("  file ingest     %9.0f notifications/s  (%.1f s)\n", f.IngestPerS, f.IngestSeconds)
			fmt.Printf("  ratio           %9.2f\n", f.Ratio)
			fmt.Printf("  national delivery lag: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", f.LagP50ms, f.LagP99ms, f.LagMaxms)
			return nil
		},
	}
	links.Flags().IntVar(&csCount, "cs", 1, "CS sending at once (1 to 8)")
	search := &cobra.Command{
		Use:   "search --persons N",
		Short: "Load N persons, then time searches by code, number and 4情報 (kana + birth) in process",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var f load.SearchFigures
			err := inDir(func(dir string) (err error) {
				f, err = load.BenchSearch(c.Context(), dir, persons, queries, seed)
				return err
			})
			if err != nil {
				return fmt.Errorf("bench search: %w", err)
			}
			if a.json {
				return printJSON(f)
			}
			fmt.Printf("search over %d persons, %d queries of each kind, in process\n", f.Persons, f.Queries)
			t := &table{head: []string{"kind", "p50 ms", "p99 ms"}}
			for _, k := range []struct {
				name string
				l    load.Latency
			}{{"code", f.Code}, {"number", f.Number}, {"kana4", f.Kana4}} {
				t.add(k.name, fmt.Sprintf("%.3f", k.l.P50), fmt.Sprintf("%.3f", k.l.P99))
			}
			t.print(os.Stdout)
			return nil
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate --persons N",
		Short: "Load N persons, then rotate the storage key while searches run, against bare SQLite rewriting the same rows",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var f load.RotateFigures
			err := inDir(func(dir string) (err error) {
				f, err = load.BenchRotate(c.Context(), dir, persons, seed)
				return err
			})
			if err != nil {
				return fmt.Errorf("bench rotate: %w", err)
			}
			if a.json {
				return printJSON(f)
			}
			fmt.Printf("key rotation of %d persons (%d rows), %d rows a transaction (%s, %d CPUs)\n", f.Persons, f.Rows, f.Batch, runtime.GOARCH, runtime.NumCPU())
			fmt.Printf("  jukiterm     %9.0f rows/s  (%.1f s)\n", f.PerS, f.Seconds)
			fmt.Printf("  bare SQLite  %9.1f s\n", f.SQLiteSeconds)
			fmt.Printf("  ratio        %9.2f\n", f.Ratio)
			fmt.Printf("  searches meanwhile: %d, %d missed, p50 %.3f ms, p99 %.3f ms\n", f.Searches, f.SearchMissed, f.Search.P50, f.Search.P99)
			return nil
		},
	}
	prov := &cobra.Command{
		Use:   "provision --persons N --queries Q",
		Short: "Load N persons, then run a Q-query bulk provision request onto a simulated stick and read it back, stage by stage",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var f load.ProvisionFigures
			err := inDir(func(dir string) (err error) {
				f, err = load.BenchProvision(c.Context(), dir, persons, queries, seed)
				return err
			})
			if err != nil {
				return fmt.Errorf("bench provision: %w", err)
			}
			if a.json {
				return printJSON(f)
			}
			fmt.Printf("bulk provision of %d queries over %d persons (%s, %d CPUs): %d result rows, %d not found, %.1f MB on the medium\n",
				f.Queries, f.Persons, runtime.GOARCH, runtime.NumCPU(), f.Matched, f.NotFound, float64(f.Bytes)/1e6)
			t := &table{head: []string{"stage", "seconds"}}
			for _, s := range []struct {
				name string
				v    float64
			}{{"parse and check the request", f.Parse}, {"queries (one snapshot)", f.Search},
				{"operation log: keys and results, keyed", f.Log}, {"encrypt, write, fsync, sign", f.Write},
				{"read back and verify", f.Verify}, {"total", f.Total}, {"bare SQLite: the same rows by code", f.SQLite}} {
				t.add(s.name, fmt.Sprintf("%.2f", s.v))
			}
			t.print(os.Stdout)
			fmt.Printf("  search ratio (bare SQLite / jukiterm) %.2f\n", f.Ratio)
			return nil
		},
	}
	var runs int
	start := &cobra.Command{
		Use:   "start --persons N",
		Short: "Time jukitermd from exec to serving (swtpm, HSM login, unseal, open) over a file of N persons",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var f StartFigures
			err := inDir(func(dir string) (err error) {
				f, err = benchStart(c.Context(), dir, persons, runs)
				return err
			})
			if err != nil {
				return fmt.Errorf("bench start: %w", err)
			}
			if a.json {
				return printJSON(f)
			}
			printStart(f)
			return nil
		},
	}
	start.Flags().IntVar(&runs, "runs", 10, "number of starts")
	var entries, callers int
	var verifyEntries int64
	oplog := &cobra.Command{
		Use:   "oplog --entries N [--callers C] [--verify-entries M]",
		Short: "Durable operation-log appends by C concurrent callers against bare SQLite writing the same rows, then verification of M entries",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var f store.OplogFigures
			err := inDir(func(dir string) (err error) {
				f, err = store.BenchOplog(c.Context(), dir, entries, callers, max(verifyEntries, int64(entries)))
				return err
			})
			if err != nil {
				return fmt.Errorf("bench oplog: %w", err)
			}
			if a.json {
				return printJSON(f)
			}
			fmt.Printf("operation log: %d entries by %d callers (%s, %d CPUs)\n", f.Entries, f.Callers, runtime.GOARCH, runtime.NumCPU())
			fmt.Printf("  jukiterm     %9.0f entries/s  (%.1f entries a transaction)\n", f.PerS, f.PerGroup)
			fmt.Printf("  bare SQLite  %9.0f entries/s  (same rows, same transaction size)\n", f.SQLitePerS)
			fmt.Printf("  ratio        %9.2f\n", f.Ratio)
			fmt.Printf("  verify       %d entries in %.1f s (10 million: about %.0f s)\n", f.VerifyEntries, f.VerifySeconds, f.Verify10M)
			return nil
		},
	}
	oplog.Flags().IntVar(&entries, "entries", 100000, "entries appended through Log")
	oplog.Flags().IntVar(&callers, "callers", 32, "concurrent callers")
	oplog.Flags().Int64Var(&verifyEntries, "verify-entries", 0, "extend the log to this many entries (in batches, not timed) before timing verification")
	oplog.Flags().StringVar(&keep, "dir", "", "work in this directory and keep it (default: a temporary one, removed after)")
	a.addJSON(oplog)
	for _, sc := range []*cobra.Command{ingest, search, rotate, start, prov, links} {
		sc.Flags().IntVar(&persons, "persons", 100000, "number of synthetic persons")
		sc.Flags().Uint64Var(&seed, "seed", 1, "generator seed")
		sc.Flags().StringVar(&keep, "dir", "", "work in this directory and keep it (default: a temporary one, removed after)")
		a.addJSON(sc)
	}
	search.Flags().IntVar(&queries, "queries", 2000, "searches of each kind")
	prov.Flags().IntVar(&queries, "queries", 100000, "queries in the request")
	c.AddCommand(ingest, search, rotate, start, oplog, prov, links)
	return c
}
