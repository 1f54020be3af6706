package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"jukiterm/cmd/internal/hw"
	"jukiterm/daemon/api"
	"jukiterm/daemon/config"
	"jukiterm/store"
)

func (a *app) operatorCmd() *cobra.Command {
	c := &cobra.Command{Use: "operator (add | list | reenrol)", Short: "Enrol operators and list them (administrator)"}
	var roles []string
	var reason, display, simFinger string
	add := &cobra.Command{
		Use:   "add NAME --role ROLE… --reason TEXT",
		Short: "Enrol a new operator: their finger on the reader (several captures), and their first rights",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			err := a.client().Enrol(c.Context(), api.EnrolRequest{Name: args[0], Display: display, Roles: roles,
				Reason: reason, SimFinger: simFinger}, func(p string) { fmt.Fprintln(os.Stderr, p) })
			if err != nil {
				return err
			}
			fmt.Printf("Operator %s enrolled with rights: %s.\n", args[0], rolesText(roles))
			return nil
		},
	}
	add.Flags().StringSliceVar(&roles, "role", nil, "a right to grant (repeat or comma-separate): "+roleNames())
	add.Flags().StringVar(&reason, "reason", "", "why (e.g. the 辞令 or request number), for the rights ledger")
	add.Flags().StringVar(&display, "display", "", "the name to show (e.g. 秋田 太郎)")
	add.Flags().StringVar(&simFinger, "sim-finger", "", "simulated hardware only: present this person's finger")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the operators, their rights and sign-in state",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ops, err := a.client().Operators(c.Context())
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(ops)
			}
			t := &table{head: []string{"operator", "name", "rights", "failures", "sign-in", "last sign-in"}}
			now := time.Now()
			for _, o := range ops {
				var rs []string
				for _, r := range o.ActiveRoles(now) {
					rs = append(rs, string(r))
				}
				state := "enabled"
				if o.Disabled {
					state = "DISABLED"
				}
				t.add(o.Name, o.Display, strings.Join(rs, ","), fmt.Sprint(o.Failures), state, stampText(o.LastLogin))
			}
			t.print(os.Stdout)
			return nil
		},
	}
	a.addJSON(list)
	var confFile string
	reenrol := &cobra.Command{
		Use:   "reenrol NAME --reason TEXT | reenrol NAME --config FILE",
		Short: "Enrol a registered operator's finger again (e.g. after a restore on a terminal with another reader)",
		Long: "Enrol the finger of an operator the identity file holds already, into a free slot of\n" +
			"this terminal's reader. Through jukitermd (an administrator signed in) with --reason;\n" +
			"or, with jukitermd stopped and nobody able to sign in (every operator's finger was\n" +
			"forgotten because the file was restored on a terminal with another reader), with\n" +
			"--config FILE for an operator who holds the administrator right.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if confFile != "" {
				cfg, err := config.Load(confFile)
				if err != nil {
					return withCode(exitUsage, err)
				}
				lock, err := lockState(cfg, "operator reenrol")
				if err != nil {
					return err
				}
				defer lock.Release()
				if reason == "" {
					reason = "administrator's finger enrolled again on this terminal's reader"
				}
				err = hw.EnrolFirst(cfg, []hw.FirstOperator{{Name: args[0], Reason: reason, Again: true}}, func(p string) {
					if cfg.Hardware != "sim" {
						fmt.Fprintln(os.Stderr, p)
					}
				})
				if err != nil {
					return fmt.Errorf("enrol %s again (is jukitermd stopped?): %w%s", args[0], err, hw.WhatToDo(err))
				}
				fmt.Printf("%s's finger is enrolled on this terminal's reader. Start jukitermd and sign in.\n", args[0])
				return nil
			}
			err := a.client().Enrol(c.Context(), api.EnrolRequest{Name: args[0], Reason: reason, SimFinger: simFinger, Again: true},
				func(p string) { fmt.Fprintln(os.Stderr, p) })
			if err != nil {
				return err
			}
			fmt.Printf("%s's finger is enrolled again.\n", args[0])
			return nil
		},
	}
	reenrol.Flags().StringVar(&reason, "reason", "", "why, for the rights ledger")
	reenrol.Flags().StringVar(&confFile, "config", "", "with jukitermd stopped: the daemon's configuration")
	reenrol.Flags().StringVar(&simFinger, "sim-finger", "", "simulated hardware only: present this person's finger")
	c.AddCommand(add, list, reenrol)
	return c
}

func roleNames() string {
	var n []string
	for _, r := range store.Roles {
		n = append(n, string(r))
	}
	return strings.Join(n, ", ")
}

func stampText(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func (a *app) rightsCmd() *cobra.Command {
	c := &cobra.Command{Use: "rights (grant | revoke | reset | inventory | ledger)",
		Short: "Grant, revoke and take inventory of operators' rights (every change is in the ledger)"}
	var reason, expires string
	change := func(kind, use, short string, nargs int) *cobra.Command {
		cmd := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.ExactArgs(nargs),
			RunE: func(c *cobra.Command, args []string) error {
				req := api.RightRequest{Operator: args[0], Reason: reason, Expires: expires}
				if nargs == 2 {
					req.Role = args[1]
				}
				op, err := a.client().ChangeRight(c.Context(), kind, req)
				if err != nil {
					return err
				}
				if a.json {
					return printJSON(op)
				}
				var rs []string
				for _, r := range op.ActiveRoles(time.Now()) {
					rs = append(rs, string(r))
				}
				fmt.Printf("%s now holds: %s.\n", op.Name, rolesText(rs))
				return nil
			},
		}
		cmd.Flags().StringVar(&reason, "reason", "", "why, for the rights ledger (required)")
		return a.addJSON(cmd)
	}
	grant := change("grant", "grant NAME ROLE --reason TEXT [--expires YYYY-MM-DD]", "Grant a right ("+roleNames()+")", 2)
	grant.Flags().StringVar(&expires, "expires", "", "the right ends at the start of this day")
	revoke := change("revoke", "revoke NAME ROLE --reason TEXT", "Revoke a right", 2)
	reset := change("reset", "reset NAME --reason TEXT", "Clear an operator's failed sign-ins and enable biometric sign-in again", 1)
	inventory := &cobra.Command{
		Use:   "inventory",
		Short: "The yearly 棚卸し: who holds which right, last use, unused rights (recorded in the ledger)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			inv, err := a.client().Inventory(c.Context())
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(inv)
			}
			fmt.Printf("権限棚卸し (rights inventory) taken %s by %s; previous: %s\n\n", inv.At.Local().Format("2006-01-02 15:04"), inv.By, stampText(inv.Previous))
			t := &table{head: []string{"operator", "name", "right", "granted", "by", "expires", "last used", ""}}
			for _, l := range inv.Rights {
				flag := ""
				if l.Unused {
					flag = "UNUSED"
				}
				t.add(l.Operator, l.Display, string(l.Role), l.GrantedAt.Local().Format("2006-01-02"), l.GrantedBy, stampText(l.ExpiresAt), stampText(l.LastUsed), flag)
			}
			t.print(os.Stdout)
			fmt.Printf("\n%d rights in force, %d unused for a year or never used: review them and revoke what is not needed.\n", len(inv.Rights), inv.Unused)
			if len(inv.SignInBlocked) > 0 {
				fmt.Printf("Biometric sign-in disabled: %s.\n", strings.Join(inv.SignInBlocked, ", "))
			}
			return nil
		},
	}
	ledger := &cobra.Command{
		Use:   "ledger",
		Short: "The rights ledger: every enrolment, grant, revocation, reset and inventory",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := a.client().Ledger(c.Context())
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(l)
			}
			t := &table{head: []string{"at", "by", "action", "operator", "right", "reason", "detail"}}
			for _, e := range l {
				t.add(e.At.Local().Format("2006-01-02 15:04:05"), e.Actor, e.Action, e.Operator, string(e.Role), e.Reason, e.Detail)
			}
			t.print(os.Stdout)
			return nil
		},
	}
	a.addJSON(inventory)
	a.addJSON(ledger)
	c.AddCommand(grant, revoke, reset, inventory, ledger)
	return c
}
