// Command jukiterm is the operators' and administrators' tool. It talks only to
// jukitermd over its local socket, except `init`, `sim` and `bench`.
//
// Exit status (docs/formats.md): 0 success; 1 the thing asked for does not exist
// (show); 2 usage, I/O or daemon errors; 3 an ingest in which some notifications were
// rejected (the rest applied); 4 a backup refused by backup verify or restore.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"jukiterm/daemon/api"
	"jukiterm/daemon/client"
)

// Exit statuses.
const (
	exitOK       = 0
	exitNotFound = 1
	exitUsage    = 2
	exitRejected = 3
)

// exitError carries an exit status with the message to print.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// DefaultSocket is used when neither --socket nor JUKITERM_SOCKET is given.
const DefaultSocket = "/run/jukiterm/jukiterm.sock"

// simCommands are the commands built on the simulators (sim, bench); the packaged
// build (-tags nohwsim) has none.
var simCommands []func(*app) *cobra.Command

type app struct {
	socket string
	json   bool
}

// socketPath is the daemon's socket this command talks to.
func (a *app) socketPath() string {
	s := a.socket
	if s == "" {
		s = os.Getenv("JUKITERM_SOCKET")
	}
	if s == "" {
		s = DefaultSocket
	}
	return s
}

// client talks to the daemon with this user's session, if signed in.
func (a *app) client() *client.Client {
	c := client.New(a.socketPath())
	c.Token = readToken(a.socketPath())
	return c
}

func main() {
	a := &app{}
	root := &cobra.Command{
		Use:           "jukiterm",
		Short:         "Operate the prefecture's identity-confirmation file (住基ネット 代表端末)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.socket, "socket", "", "jukitermd's socket (default $JUKITERM_SOCKET, else "+DefaultSocket+")")
	root.AddCommand(a.initCmd(), a.ingestCmd(), a.searchCmd(), a.showCmd(), a.statsCmd(), a.keysCmd(), a.backupCmd(),
		a.loginCmd(), a.logoutCmd(), a.whoamiCmd(), a.operatorCmd(), a.rightsCmd(), a.auditCmd(), a.applicationCmd(),
		a.mediaCmd(), a.recipientCmd(), a.provisionCmd(), a.serviceCmd(), a.peerCmd(), a.linkCmd())
	for _, c := range simCommands {
		root.AddCommand(c(a))
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withCode(exitUsage, fmt.Errorf("%w\nSee `%s --help`.", err, c.CommandPath()))
	})
	err := root.Execute()
	os.Exit(report(err))
}

// report prints err for people and returns the exit status.
func report(err error) int {
	if err == nil {
		return exitOK
	}
	code := exitUsage
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	var ae *api.Error
	if errors.As(err, &ae) && ae.Kind == api.KindNotFound && code == exitUsage {
		code = exitNotFound
	}
	fmt.Fprintln(os.Stderr, "jukiterm:", err)
	return code
}

// addJSON adds the --json flag.
func (a *app) addJSON(c *cobra.Command) *cobra.Command {
	c.Flags().BoolVar(&a.json, "json", false, "print JSON for scripts (docs/formats.md) instead of a table")
	return c
}
