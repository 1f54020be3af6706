package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"jukiterm/daemon/api"
	"jukiterm/daemon/client"
)

func (a *app) serviceCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "service",
		Short: "The vendor's supervised maintenance (保守) session: start, confirm, end, status, logs, updates",
		Long: "A vendor (role vendor) works on this terminal only in a service session, while a\n" +
			"supervisor (role supervisor, another person) is present: the vendor signs in, runs\n" +
			"`service start --supervisor NAME`, and the supervisor places their finger on the reader\n" +
			"within 60 s. The supervisor confirms presence with `service confirm` every\n" +
			"service_presence_minutes (default 15); a missed confirmation pauses the session, and\n" +
			"after service_grace_minutes (default 5) paused it ends. In the session the vendor may\n" +
			"use only `service status`, `service logs`, `backup verify` (= `service backup-verify`) and `service update\n" +
			"verify|stage`: nothing that touches personal data, whatever other rights they hold.\n" +
			"Every step is in the operation log under both names (`jukiterm audit service`).\n" +
			"See docs/maintenance.md.",
	}
	c.AddCommand(a.serviceStartCmd(), a.serviceConfirmCmd(), a.serviceEndCmd(), a.serviceStatusCmd(),
		a.serviceLogsCmd(), a.serviceBackupVerifyCmd(), a.updateCmd())
	return c
}

func printSession(v api.ServiceSession) {
	fmt.Printf("Service session %s: vendor %s, supervisor %s, started %s.\n", v.ID, v.Vendor, v.Supervisor, localTime(v.Started))
	fmt.Printf("The supervisor confirms presence (`jukiterm service confirm`) by %s; without it the session pauses then, and ends at %s.\n",
		localTime(v.NextDue), localTime(v.EndsAt))
}

func localTime(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func (a *app) serviceStartCmd() *cobra.Command {
	var supervisor, simFinger string
	c := &cobra.Command{
		Use:   "start --supervisor NAME",
		Short: "Start a service session (the vendor, signed in): the supervisor places their finger on the reader",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if supervisor == "" {
				return withCode(exitUsage, errors.New("name the supervisor who is present: jukiterm service start --supervisor NAME"))
			}
			v, err := a.client().ServiceStart(c.Context(), api.ServiceRequest{Supervisor: supervisor, SimFinger: simFinger},
				func(p string) { fmt.Fprintln(os.Stderr, p) })
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(v)
			}
			printSession(v)
			return nil
		},
	}
	c.Flags().StringVar(&supervisor, "supervisor", "", "the supervisor's operator name (another person, role supervisor)")
	c.Flags().StringVar(&simFinger, "sim-finger", "", "simulated hardware only: present this person's finger")
	return a.addJSON(c)
}

func (a *app) serviceConfirmCmd() *cobra.Command {
	var simFinger string
	c := &cobra.Command{
		Use:   "confirm",
		Short: "The supervisor confirms presence with their finger (a paused session goes on)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			v, err := a.client().ServiceConfirm(c.Context(), api.ServiceRequest{SimFinger: simFinger},
				func(p string) { fmt.Fprintln(os.Stderr, p) })
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(v)
			}
			fmt.Printf("Presence confirmed by %s.\n", v.Supervisor)
			printSession(v)
			return nil
		},
	}
	c.Flags().StringVar(&simFinger, "sim-finger", "", "simulated hardware only: present this person's finger")
	return a.addJSON(c)
}

func (a *app) serviceEndCmd() *cobra.Command {
	var bySupervisor bool
	var simFinger string
	c := &cobra.Command{
		Use:   "end",
		Short: "End the service session (the vendor, or the supervisor with --supervisor and their finger)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			v, err := a.client().ServiceEnd(c.Context(), api.ServiceRequest{BySupervisor: bySupervisor, SimFinger: simFinger})
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(v)
			}
			fmt.Printf("Service session %s ended.\n", v.ID)
			return nil
		},
	}
	c.Flags().BoolVar(&bySupervisor, "supervisor", false, "the supervisor ends it at the vendor's terminal, with their finger on the reader")
	c.Flags().StringVar(&simFinger, "sim-finger", "", "simulated hardware only: present this person's finger")
	return a.addJSON(c)
}

func (a *app) serviceStatusCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "status",
		Short: "The terminal's health for maintenance: version, disk, store, TPM, HSM, reader, USB, backups",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			st, err := a.client().ServiceStatus(c.Context())
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(st)
			}
			t := &table{}
			t.add("service session", fmt.Sprintf("%s (vendor %s, supervisor %s), next confirmation by %s", st.Session.ID, st.Session.Vendor, st.Session.Supervisor, localTime(st.Session.NextDue)))
			t.add("version", st.Version)
			t.add("configuration sha256", st.ConfigSHA256)
			t.add("jukitermd up since", fmt.Sprintf("%s (%s)", localTime(st.StartedAt), (time.Duration(st.UptimeSeconds)*time.Second).String()))
			t.add("disk", fmt.Sprintf("%s free of %s", mib(int64(st.DiskFreeBytes)), mib(int64(st.DiskSizeBytes))))
			t.add("identity file", fmt.Sprintf("%s, WAL %s", mib(st.DatabaseBytes), mib(st.WALBytes)))
			t.add("quick_check", st.QuickCheck)
			t.add("TPM", st.TPM)
			t.add("PCR 7 (sha256)", st.PCR7)
			t.add("HSM token", st.HSMToken)
			for _, k := range st.HSMKeys {
				t.add("  key", k)
			}
			t.add("fingerprint reader", st.Reader)
			if len(st.USB) == 0 {
				t.add("USB", "no device")
			}
			for _, u := range st.USB {
				verdict := "allowed"
				if !u.Allowed {
					verdict = "refused: " + u.Reason
				}
				t.add("USB "+u.Model, fmt.Sprintf("%s %s: media policy: %s", u.Serial, u.Product, verdict))
			}
			t.add("last backup", orNone(localTime(st.LastBackup)))
			t.add("last checkpoint", orNone(fmt.Sprintf("size %d, last entry %s", st.CheckpointSize, localTime(st.LastCheckpoint))))
			t.print(os.Stdout)
			return nil
		},
	}
	return a.addJSON(c)
}

func orNone(s string) string {
	if s == "" || strings.HasPrefix(s, "size 0") {
		return "none"
	}
	return s
}

func (a *app) serviceLogsCmd() *cobra.Command {
	var since string
	c := &cobra.Command{
		Use:   "logs [--since TIME]",
		Short: "jukitermd's own recent log lines (never a personal value)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if since != "" {
				if d, err := time.ParseDuration(since); err == nil {
					since = time.Now().Add(-d).Format(time.RFC3339)
				} else if _, err := time.Parse(time.RFC3339, since); err != nil {
					return withCode(exitUsage, fmt.Errorf("--since %q is neither a time like 2026-12-04T09:00:00+09:00 nor a duration like 30m", since))
				}
			}
			lines, err := a.client().ServiceLogs(c.Context(), since)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(lines)
			}
			for _, l := range lines {
				fmt.Println(l.Text)
			}
			return nil
		},
	}
	c.Flags().StringVar(&since, "since", "", "only lines from this time on (RFC 3339) or this long ago (e.g. 30m)")
	return a.addJSON(c)
}

func (a *app) serviceBackupVerifyCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "backup-verify",
		Short: "Check the newest backup's signature and manifest with this terminal's key (nothing is decrypted); the same as `backup verify` without a file",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return a.newestBackupVerify(c.Context(), false)
		},
	}
	return a.addJSON(c)
}

// newestBackupVerify asks jukitermd to check the newest backup (`service backup-verify`,
// and `backup verify` without a file, which, when not signed in or jukitermd cannot be
// reached, adds that a backup file can be checked without jukitermd).
func (a *app) newestBackupVerify(ctx context.Context, fileHint bool) error {
	v, err := a.client().ServiceBackupVerify(ctx)
	if err != nil {
		var ae *api.Error
		var ue *client.UnreachableError
		switch {
		case !fileHint:
		case errors.As(err, &ae) && ae.Kind == api.KindSignIn:
			return fmt.Errorf("%w. Or check a backup file without jukitermd: `jukiterm backup verify FILE` (see `jukiterm backup verify --help`)", err)
		case errors.As(err, &ue):
			return fmt.Errorf("%w\nOr check a backup file without jukitermd: `jukiterm backup verify FILE`", err)
		}
		return err
	}
	if a.json {
		return printJSON(v)
	}
	fmt.Printf("%s (made %s): %s\n", v.Path, localTime(v.Created), v.Result)
	if !v.Sound {
		return withCode(exitRefused, fmt.Errorf("the newest backup is refused: tell the administrator (`jukiterm backup create` makes a new one)"))
	}
	return nil
}
