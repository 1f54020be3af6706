//go:build !nohwsim

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"jukiterm/daemon/config"
	"jukiterm/daemon/link"
	"jukiterm/hwsim/cssim"
	"jukiterm/hwsim/nationalsim"
	"jukiterm/hwsim/simpeer"
)

// DefaultNationalSimAddress is where `jukiterm sim national` listens by default.
const DefaultNationalSimAddress = "127.0.0.1:7442"

// terminalOf reads the configuration of the terminal whose simulators these are.
func terminalOf(dir string) (config.Config, error) {
	return config.Load(filepath.Join(filepath.Dir(filepath.Dir(dir)), config.FileName))
}

func (a *app) simNationalCmd() *cobra.Command {
	d := simDir{app: a}
	var listen string
	var persons int
	c := &cobra.Command{
		Use:   "national [--listen ADDR] [--persons N]",
		Short: "Run the national server (全国サーバ) simulator until interrupted",
		Long: "Run the national server simulator: it accepts this terminal's link (pinned by the\n" +
			"terminal's link certificate), keeps every update it receives in its own SQLite file\n" +
			"(STATE/sim/national/national.db), deduplicated and checked for order, and answers\n" +
			"national searches from N synthetic persons of 青森県. The terminal must pin it:\n" +
			"`jukiterm peer add --national --address ADDR --cert STATE/sim/national/cert.pem`.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			dir, err := d.path("national")
			if err != nil {
				return err
			}
			cfg, err := terminalOf(dir)
			if err != nil {
				return err
			}
			id, certPath, err := simpeer.Identity(dir, "national-server-simulator")
			if err != nil {
				return err
			}
			sim, err := nationalsim.Open(filepath.Join(dir, "national.db"))
			if err != nil {
				return err
			}
			defer sim.Close()
			example, err := sim.Seed(c.Context(), 4242, persons)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			pins, err := waitTerminalPin(ctx, cfg.LinkCert)
			if err != nil {
				return err
			}
			sim.Identity, sim.Pins = id, pins
			l, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listen on %s: %w (another simulator running? give --listen)", listen, err)
			}
			fmt.Fprintf(os.Stderr, "National server simulator on %s; its certificate: %s\nPin it once (administrator): jukiterm peer add --national --address %s --cert %s --reason simulator\nA person of 青森県 to ask for: jukiterm search --national --code %s\n",
				l.Addr(), certPath, l.Addr(), certPath, example)
			err = sim.Serve(ctx, l)
			st := sim.Stats()
			fmt.Fprintf(os.Stderr, "National server simulator stopped: %d updates kept (newest 更新順番号 %d), %d received again, %d gaps, %d out of order, %d queries.\n",
				st.Received, st.Newest, st.Duplicates, st.Gaps, st.OutOfOrder, st.Queries)
			return err
		},
	}
	c.Flags().StringVar(&listen, "listen", DefaultNationalSimAddress, "address to listen on")
	c.Flags().IntVar(&persons, "persons", 1000, "synthetic persons of 青森県 to answer queries from")
	return d.flags(c)
}

// waitTerminalPin pins the terminal's link certificate, waiting for jukitermd to make
// it at its first start.
func waitTerminalPin(ctx context.Context, certPath string) (*link.PinSet, error) {
	for i := 0; ; i++ {
		pins, err := simpeer.TerminalPin(certPath)
		if err == nil || !errors.Is(err, os.ErrNotExist) {
			return pins, err
		}
		if i == 0 {
			fmt.Fprintf(os.Stderr, "Waiting for jukitermd to make its link certificate %s …\n", certPath)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (a *app) simCSCmd() *cobra.Command {
	d := simDir{app: a}
	var municipality, file, address string
	var generate int
	var invalidFlag string
	var seed uint64
	c := &cobra.Command{
		Use:   "cs --municipality CODE (--file FILE.jsonl | --generate N [--invalid SHARE]) [--address ADDR]",
		Short: "Send notifications as a municipality's CS (市町村CS) over the link, checking every acknowledgement",
		Long: "Act as the CS of a municipality: connect to the terminal's cs_listen with this CS's\n" +
			"key (STATE/sim/cs-CODE/, made the first time), send the notifications of FILE or N\n" +
			"generated 転入 (a share --invalid of them broken), check that every one is\n" +
			"acknowledged in order, connect again and resend from the terminal's Resume if the\n" +
			"line breaks, and print the outcomes. The terminal must pin it first:\n" +
			"`jukiterm peer add --cs CODE --cert STATE/sim/cs-CODE/cert.pem`.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if (file == "") == (generate == 0) {
				return withCode(exitUsage, errors.New("give --file FILE or --generate N"))
			}
			invalid, err := parseShare(invalidFlag)
			if err != nil {
				return withCode(exitUsage, err)
			}
			dir, err := d.path("cs-" + municipality)
			if err != nil {
				return err
			}
			cfg, err := terminalOf(dir)
			if err != nil {
				return err
			}
			if address == "" {
				address = cfg.CSListen
			}
			if address == "" {
				return withCode(exitUsage, errors.New("the terminal does not listen for CS links (cs_listen is empty in its configuration): set it and restart jukitermd, or give --address"))
			}
			id, certPath, err := simpeer.Identity(dir, "cs-"+municipality)
			if err != nil {
				return err
			}
			pins, err := simpeer.TerminalPin(cfg.LinkCert)
			if err != nil {
				return err
			}
			tlsCfg, err := link.ClientConfig(id, link.Policy{Pins: pins, Role: link.RoleTerminal})
			if err != nil {
				return err
			}
			var lines [][]byte
			if file != "" {
				if lines, err = readLines(file); err != nil {
					return err
				}
			} else {
				every := 0
				if invalid > 0 {
					every = max(1, int(1/invalid+0.5))
				}
				other := "052027"
				if municipality == other {
					other = "052019"
				}
				lines = cssim.CSLines(seed, municipality, other, generate, every).Lines
			}
			sim := &cssim.Sim{Municipality: municipality, Address: address, TLS: tlsCfg}
			res, err := sim.Run(c.Context(), lines)
			if err != nil {
				var re *link.RefusedError
				if errors.As(err, &re) && re.Reason == link.ReasonRefusedByPeer {
					return fmt.Errorf("%w\nThe terminal does not know this CS: pin it (administrator) with `jukiterm peer add --cs %s --cert %s --reason simulator`", err, municipality, certPath)
				}
				return err
			}
			if a.json {
				return printJSON(res)
			}
			fmt.Printf("CS %s sent %d notifications over %d connection(s): applied %d, duplicates %d, rejected %d", municipality, len(lines), res.Connections, res.Applied, res.Duplicates, res.Rejected)
			if res.Unanswered > 0 {
				fmt.Printf(", %d covered by the terminal's Resume after a broken line", res.Unanswered)
			}
			fmt.Println(".")
			for rule, n := range res.ByRule {
				fmt.Printf("  rejected under %s: %d\n", rule, n)
			}
			return nil
		},
	}
	c.Flags().StringVar(&municipality, "municipality", "", "the CS's 市町村コード")
	c.Flags().StringVar(&file, "file", "", "notifications to send (JSON Lines, as for ingest)")
	c.Flags().IntVar(&generate, "generate", 0, "generate this many 転入 of new persons instead")
	c.Flags().StringVar(&invalidFlag, "invalid", "0", "with --generate: the share broken, as 5% or 0.05 (every 20th)")
	c.Flags().Uint64Var(&seed, "seed", 1, "with --generate: the generator's seed")
	c.Flags().StringVar(&address, "address", "", "the terminal's CS address (default: its cs_listen)")
	c.MarkFlagRequired("municipality")
	return a.addJSON(d.flags(c))
}

// parseShare reads a share as a percentage ("5%") or a fraction ("0.05").
func parseShare(v string) (float64, error) {
	pct := strings.HasSuffix(v, "%")
	f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), "%"), 64)
	if pct {
		f /= 100
	}
	if err != nil || f < 0 || f > 1 {
		return 0, fmt.Errorf("--invalid %q: give a share such as 5%% or 0.05", v)
	}
	return f, nil
}

func readLines(file string) ([][]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			out = append(out, append([]byte(nil), sc.Bytes()...))
		}
	}
	return out, sc.Err()
}
