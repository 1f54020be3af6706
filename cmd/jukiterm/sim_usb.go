//go:build !nohwsim

package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"jukiterm/hwsim/mediasim"
)

func (a *app) simUSBCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "usb",
		Short: "Plug, unplug, lock, unlock or list simulated USB sticks",
		Long: "Simulated hardware-encrypted USB sticks on the simulated bus of a terminal in sim mode.\n" +
			"jukitermd sees each change within 20 ms. Unplugging or locking a stick in use loses\n" +
			"what jukitermd had not yet made durable on it, as with a real stick.",
	}
	d := simDir{app: a}
	var serial string
	serialFlag := func(c *cobra.Command) *cobra.Command {
		c.Flags().StringVar(&serial, "serial", "", "the stick's serial number (required)")
		c.MarkFlagRequired("serial")
		return d.flags(c)
	}

	var model, vendor, product, ifaces, manufacturer, name, capacity string
	var lockedFlag bool
	plug := serialFlag(&cobra.Command{
		Use:   "plug --serial S [--model approved|composite|cdc|unknown] [--locked]",
		Short: "Plug a simulated stick in: a preset model, or one described with --vendor, --product and --interfaces",
		Long: "Plug a simulated stick in. --model picks a preset: approved (the simulated approved\n" +
			"model, 1209:0001, mass storage only), composite (the approved IDs, but also a keyboard),\n" +
			"cdc (the approved IDs, but also a serial port) or unknown (a SanDisk Cruzer Blade).\n" +
			"--vendor, --product (hexadecimal IDs) and --interfaces (hexadecimal interface classes,\n" +
			"e.g. 08,03) change the preset to describe any device (with other IDs its strings are\n" +
			"those of --manufacturer and --name only). A stick plugged in before keeps its volume.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			dir, err := d.path("usb")
			if err != nil {
				return err
			}
			preset, ok := mediasim.Models[model]
			if !ok {
				return withCode(exitUsage, fmt.Errorf("--model %q: choose one of %s", model, strings.Join(mediasim.ModelNames(), ", ")))
			}
			sp := preset(serial)
			if vendor != "" || product != "" { // another device: not the model's strings
				sp.Manufacturer, sp.Product = "", ""
			}
			if vendor != "" {
				if sp.VendorID, err = parseID("--vendor", vendor); err != nil {
					return err
				}
			}
			if product != "" {
				if sp.ProductID, err = parseID("--product", product); err != nil {
					return err
				}
			}
			if ifaces != "" {
				if sp.Interfaces, err = parseClasses(ifaces); err != nil {
					return err
				}
			}
			if c.Flags().Changed("manufacturer") {
				sp.Manufacturer = manufacturer
			}
			if c.Flags().Changed("name") {
				sp.Product = name
			}
			if capacity != "" {
				if sp.Capacity, err = parseSize(capacity); err != nil {
					return err
				}
			}
			sp.Locked = lockedFlag
			st, err := mediasim.Plug(dir, sp)
			if err != nil {
				return withCode(exitUsage, err)
			}
			fmt.Printf("Simulated stick %s is plugged in: %s.\n", st.Serial, describe(st))
			if st.Locked {
				fmt.Printf("It is locked: `jukiterm sim usb unlock --serial %s` unlocks it.\n", st.Serial)
			} else {
				fmt.Println("It is unlocked: its data volume is mounted.")
			}
			fmt.Printf("Its data volume is the directory %s (look at it while the stick is unplugged).\n", st.Volume)
			return nil
		},
	})
	f := plug.Flags()
	f.StringVar(&model, "model", "approved", "preset: "+strings.Join(mediasim.ModelNames(), ", "))
	f.StringVar(&vendor, "vendor", "", "vendor ID in hexadecimal, e.g. 0781 (default: the model's)")
	f.StringVar(&product, "product", "", "product ID in hexadecimal, e.g. 5567 (default: the model's)")
	f.StringVar(&ifaces, "interfaces", "", "interface classes in hexadecimal, one interface each, e.g. 08,03 (08 mass storage, 03 HID, 02 and 0a CDC)")
	f.StringVar(&manufacturer, "manufacturer", "", "manufacturer string (default: the model's, or none with --vendor or --product)")
	f.StringVar(&name, "name", "", "product name string (default: the model's, or none with --vendor or --product)")
	f.StringVar(&capacity, "capacity", "", "the volume's capacity, e.g. 64MiB or 16GiB (default 16GiB)")
	f.BoolVar(&lockedFlag, "locked", false, "plug it in locked (its volume appears on `sim usb unlock`)")

	simple := func(use, short string, do func(dir, serial string) (mediasim.StickStatus, error), done func(mediasim.StickStatus) string) *cobra.Command {
		return serialFlag(&cobra.Command{Use: use + " --serial S", Short: short, Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				dir, err := d.path("usb")
				if err != nil {
					return err
				}
				st, err := do(dir, serial)
				if err != nil {
					if errors.Is(err, mediasim.ErrNoStick) {
						return withCode(exitUsage, err)
					}
					return err
				}
				fmt.Println(done(st))
				return nil
			}})
	}
	unplug := simple("unplug", "Pull a simulated stick out (what jukitermd had not made durable on it is lost)", mediasim.Unplug,
		func(st mediasim.StickStatus) string {
			return fmt.Sprintf("Simulated stick %s is unplugged. Its data volume, as the stick keeps it, is the directory %s.", st.Serial, st.Volume)
		})
	lock := simple("lock", "Close a simulated stick's security lock (its volume disappears)", mediasim.Lock,
		func(st mediasim.StickStatus) string {
			return fmt.Sprintf("Simulated stick %s is locked: its volume is gone until `jukiterm sim usb unlock --serial %s`.", st.Serial, st.Serial)
		})
	unlock := simple("unlock", "Open a simulated stick's security lock, as its PIN would (its volume is mounted)", mediasim.Unlock,
		func(st mediasim.StickStatus) string {
			if !st.Plugged {
				return fmt.Sprintf("Simulated stick %s is unlocked, but not plugged in: `jukiterm sim usb plug --serial %s` plugs it in.", st.Serial, st.Serial)
			}
			return fmt.Sprintf("Simulated stick %s is unlocked: its data volume is mounted.", st.Serial)
		})
	list := d.flags(a.addJSON(&cobra.Command{
		Use: "list", Short: "List the simulated sticks: model, interfaces, plugged in, locked, volume", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			dir, err := d.path("usb")
			if err != nil {
				return err
			}
			sticks, err := mediasim.List(dir)
			if err != nil {
				return err
			}
			if a.json {
				if sticks == nil {
					sticks = []mediasim.StickStatus{}
				}
				return printJSON(sticks)
			}
			if len(sticks) == 0 {
				fmt.Println("No simulated sticks: `jukiterm sim usb plug --serial S` plugs one in.")
				return nil
			}
			yes := map[bool]string{true: "yes", false: "no"}
			t := &table{head: []string{"SERIAL", "ID", "PRODUCT", "INTERFACES", "PLUGGED", "LOCKED", "VOLUME"}}
			for _, st := range sticks {
				t.add(st.Serial, fmt.Sprintf("%04x:%04x", st.VendorID, st.ProductID), st.Product, classes(st.Interfaces),
					yes[st.Plugged], yes[st.Locked], st.Volume)
			}
			t.print(os.Stdout)
			return nil
		},
	}))
	c.AddCommand(plug, unplug, lock, unlock, list)
	return c
}

func describe(st mediasim.StickStatus) string {
	s := fmt.Sprintf("%04x:%04x", st.VendorID, st.ProductID)
	if st.Product != "" {
		s += fmt.Sprintf(" %q", st.Product)
	}
	return s + ", interfaces " + classes(st.Interfaces)
}

func classes(cs []int) string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%02x", c))
	}
	return strings.Join(out, ",")
}

func parseID(flag, s string) (uint16, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(s), "0x"), 16, 16)
	if err != nil {
		return 0, withCode(exitUsage, fmt.Errorf("%s %q: give a USB ID as 4 hexadecimal digits, e.g. 0781", flag, s))
	}
	return uint16(n), nil
}

func parseClasses(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(part)), "0x"), 16, 8)
		if err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("--interfaces %q: give interface classes in hexadecimal separated by commas, e.g. 08,03", s))
		}
		out = append(out, int(n))
	}
	return out, nil
}

// parseSize reads a size in bytes, with an optional KiB, MiB or GiB.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	num := s
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			num, mult = strings.TrimSuffix(s, suffix), m
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, withCode(exitUsage, fmt.Errorf("--capacity %q: give a size in bytes, or with KiB, MiB or GiB (e.g. 64MiB)", s))
	}
	return n * mult, nil
}
