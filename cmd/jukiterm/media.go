package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"jukiterm/daemon/api"
	"jukiterm/store"
)

func (a *app) mediaCmd() *cobra.Command {
	c := &cobra.Command{Use: "media (register | issue | return | retire | list | open)",
		Short: "The issued-media ledger (貸与) of security-locked sticks, and opening a provision as a recipient"}
	var req api.MediaRequest
	change := func(name, use, short string, done func(store.Medium) string) *cobra.Command {
		c := a.addJSON(&cobra.Command{
			Use: use, Short: short, Args: cobra.MaximumNArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				if len(args) == 1 {
					req.Serial = args[0]
				}
				if req.Serial == "" {
					return withCode(exitUsage, errors.New("give the stick's serial number (jukiterm media list shows the connected sticks)"))
				}
				m, err := a.client().ChangeMedium(c.Context(), name, req)
				if err != nil {
					return err
				}
				if a.json {
					return printJSON(m)
				}
				fmt.Println(done(m))
				return nil
			},
		})
		c.Flags().StringVar(&req.Serial, "serial", "", "the stick's serial number (or give it as the argument)")
		return c
	}
	register := change("register", "register SERIAL [--model VVVV:PPPP] [--label TEXT]", "Add a security-locked stick to the ledger, in stock (administrator)",
		func(m store.Medium) string {
			label := ""
			if m.Label != "" {
				label = ", " + m.Label
			}
			return fmt.Sprintf("Medium %s (model %04x:%04x%s) registered, in stock.", m.Serial, m.VendorID, m.ProductID, label)
		})
	register.Flags().StringVar(&req.Model, "model", "", "USB vendor:product id in hex, as lsusb shows it (must be an approved model; default: that of the stick plugged in)")
	register.Flags().StringVar(&req.Label, "label", "", "the label written on the stick")
	issue := change("issue", "issue SERIAL --to OPERATOR [--due DATE]", "Lend a stick to a staff member (administrator)",
		func(m store.Medium) string {
			due := ""
			if m.Due != "" {
				due = ", to be returned by " + m.Due
			}
			return fmt.Sprintf("Medium %s issued to %s%s.", m.Serial, m.Holder, due)
		})
	issue.Flags().StringVar(&req.To, "to", "", "the operator it is lent to")
	issue.Flags().StringVar(&req.To, "operator", "", "the same as --to")
	issue.Flags().StringVar(&req.Due, "due", "", "the day it is to be returned, YYYY-MM-DD")
	ret := change("return", "return SERIAL", "Take a stick back into stock (administrator)",
		func(m store.Medium) string { return fmt.Sprintf("Medium %s returned, in stock.", m.Serial) })
	retire := change("retire", "retire SERIAL [--reason TEXT | --lost]", "Take a stick out of use for good: lost, broken (administrator)",
		func(m store.Medium) string {
			return fmt.Sprintf("Medium %s retired (%s): it is refused from now on.", m.Serial, m.Reason)
		})
	retire.Flags().StringVar(&req.Reason, "reason", "", "why (lost, broken, worn out…)")
	var lost bool
	retire.Flags().BoolVar(&lost, "lost", false, "it was lost (the reason, unless --reason gives one)")
	retire.PreRun = func(*cobra.Command, []string) {
		if lost && req.Reason == "" {
			req.Reason = "lost"
		}
	}
	list := a.addJSON(&cobra.Command{
		Use: "list", Short: "List the ledger, and the sticks connected now with whether you may use them", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := a.client().Media(c.Context())
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(l)
			}
			printMedia(l)
			return nil
		},
	})
	c.AddCommand(register, issue, ret, retire, list, a.mediaOpenCmd(), a.mediaVerifyCmd())
	return c
}

func printMedia(l api.MediaList) {
	t := &table{head: []string{"serial", "model", "label", "state", "holder", "issued", "due"}}
	for _, m := range l.Media {
		issued := ""
		if m.IssuedAt != nil {
			issued = m.IssuedAt.In(time.Local).Format(time.DateOnly)
		}
		state := m.State
		if m.State == store.MediumRetired {
			state += " (" + m.Reason + ")"
		}
		t.add(m.Serial, fmt.Sprintf("%04x:%04x", m.VendorID, m.ProductID), m.Label, state, m.Holder, issued, m.Due)
	}
	t.print(os.Stdout)
	if len(l.Connected) == 0 {
		fmt.Println("\nNo USB stick is connected.")
		return
	}
	fmt.Println("\nConnected now:")
	ct := &table{head: []string{"serial", "model", "interfaces", "you may use it"}}
	for _, d := range l.Connected {
		var cls []string
		for _, i := range d.Interfaces {
			cls = append(cls, fmt.Sprintf("%02x", i))
		}
		verdict := "yes"
		if !d.Allowed {
			verdict = "no: " + d.Reason
		}
		ct.add(d.Serial, d.Model, strings.Join(cls, ","), verdict)
	}
	ct.print(os.Stdout)
}
