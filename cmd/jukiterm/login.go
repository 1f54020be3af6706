package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"

	"github.com/spf13/cobra"

	"jukiterm/daemon/api"
)

func (a *app) loginCmd() *cobra.Command {
	var simFinger string
	c := &cobra.Command{
		Use:   "login [NAME]",
		Short: "Sign in with your finger on the reader",
		Long: "Sign in as operator NAME (default: your user name) with a finger on the terminal's\n" +
			"reader. The session is this user's: every jukiterm command uses it until `logout`, and\n" +
			"it locks after the configured minutes without use (sign in again to unlock it).\n" +
			"After 5 failed attempts in a row each further one waits 30 s; after 50, sign-in is\n" +
			"disabled until an administrator resets it (`jukiterm rights reset`).\n" +
			"With simulated hardware, --sim-finger NAME presents NAME's finger to the simulated\n" +
			"reader (and signs in as NAME unless another operator is named).",
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name := simFinger
			if len(args) == 1 {
				name = args[0]
			}
			guessed := name == ""
			if guessed {
				u, err := user.Current()
				if err != nil {
					return withCode(exitUsage, fmt.Errorf("name the operator to sign in as: jukiterm login NAME"))
				}
				name = u.Username
			}
			cl := a.client()
			cl.Token = ""
			info, err := cl.Login(c.Context(), api.LoginRequest{Operator: name, SimFinger: simFinger}, func(p string) {
				fmt.Fprintln(os.Stderr, p)
			})
			var ae *api.Error
			if guessed && errors.As(err, &ae) && ae.Kind == api.KindLoginFailed && strings.HasPrefix(ae.Message, "no operator") {
				return fmt.Errorf("%w\nNo operator name was given, so your Unix user name %q was tried: give your operator name, `jukiterm login NAME`", err, name)
			}
			if err != nil {
				return err
			}
			if err := saveToken(a.socketPath(), info.Token); err != nil {
				cl.Token = info.Token
				cl.Logout(context.WithoutCancel(c.Context()))
				return err
			}
			info.Token = ""
			if a.json {
				return printJSON(info)
			}
			fmt.Printf("Signed in as %s (rights: %s). The session locks after %d minutes without use.\n",
				info.Operator, rolesText(info.Roles), info.IdleMinutes)
			return nil
		},
	}
	c.Flags().StringVar(&simFinger, "sim-finger", "", "simulated hardware only: present this person's finger")
	return a.addJSON(c)
}

func rolesText(roles []string) string {
	if len(roles) == 0 {
		return "none"
	}
	return strings.Join(roles, ", ")
}

func (a *app) logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "End your session",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			err := a.client().Logout(c.Context())
			if derr := dropToken(a.socketPath()); derr != nil {
				return derr
			}
			if err != nil {
				return err
			}
			fmt.Println("Signed out.")
			return nil
		},
	}
}

func (a *app) whoamiCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "whoami",
		Short: "Show who is signed in and with which rights",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			info, err := a.client().Whoami(c.Context())
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(info)
			}
			fmt.Printf("%s, signed in at %s, rights: %s\n", info.Operator, info.SignedInAt, rolesText(info.Roles))
			return nil
		},
	}
	return a.addJSON(c)
}
