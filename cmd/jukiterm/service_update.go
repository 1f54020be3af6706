package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"jukiterm/daemon/atomicfile"
	"jukiterm/daemon/client"
	"jukiterm/daemon/update"
)

func (a *app) updateCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "update (verify | stage | activate | build | keygen)",
		Short: "Signed update packages: verify and stage them (vendor), activate one (administrator), build one (release side)",
		Long: "An update package is a tar of the new binaries and unit files whose MANIFEST, a C2SP\n" +
			"signed note, gives the version and the SHA-256 of every file, signed by a release key\n" +
			"that the configuration pins (update_keys). jukitermd refuses a package that is unsigned,\n" +
			"signed by another key, altered in one byte, not newer than the installed version, or\n" +
			"with a path outside its root, and logs the refusal. See docs/maintenance.md.",
	}
	c.AddCommand(a.updateSendCmd("verify", "Check an update package's signature, files and version (nothing is written)"),
		a.updateSendCmd("stage", "Verify an update package and unpack it into the updates directory, under its version"),
		a.updateActivateCmd(), updateBuildCmd(), updateKeygenCmd())
	return c
}

func printUpdate(v client.UpdateAnswer) {
	t := &table{}
	t.add("version", fmt.Sprintf("%s (installed: %s)", v.Version, v.Installed))
	if v.Signer != "" {
		t.add("signed by", v.Signer+" (a key in update_keys)")
	}
	for _, f := range v.Files {
		t.add("  "+f.Path, fmt.Sprintf("%04o %d bytes sha256 %s", f.Mode&0o777, f.Size, f.SHA256))
	}
	if v.StagedIn != "" {
		t.add("staged in", v.StagedIn)
	}
	if v.Previous != "" {
		t.add("previous", v.Previous)
	}
	if v.Restart != "" {
		t.add("restart", v.Restart)
	}
	t.print(os.Stdout)
}

func (a *app) updateSendCmd(op, short string) *cobra.Command {
	c := &cobra.Command{
		Use:   op + " FILE",
		Short: short,
		Args:  exactArgs(1, "FILE (the update package)"),
		RunE: func(c *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("open the update package: %w", err))
			}
			defer f.Close()
			v, err := a.client().UpdatePackage(c.Context(), op, f)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(v)
			}
			printUpdate(v)
			if op == "verify" {
				fmt.Println("The package is genuine and newer than the installed version.")
			} else {
				fmt.Printf("Staged. An administrator switches to it with `jukiterm service update activate %s`.\n", v.Version)
			}
			return nil
		},
	}
	return a.addJSON(c)
}

func (a *app) updateActivateCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "activate VERSION",
		Short: "Switch to a staged version and restart jukitermd through systemd (an administrator)",
		Args:  exactArgs(1, "VERSION (a staged version, as `service update stage` printed it)"),
		RunE: func(c *cobra.Command, args []string) error {
			v, err := a.client().UpdateActivate(c.Context(), args[0])
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(v)
			}
			printUpdate(v)
			return nil
		},
	}
	return a.addJSON(c)
}

func updateBuildCmd() *cobra.Command {
	var keyFile, out, version string
	c := &cobra.Command{
		Use:   "build --key KEYFILE --version VERSION --out FILE DIR",
		Short: "Build a signed update package of the files under DIR (release side; simulated hardware and tests)",
		Long: "Package every regular file under DIR (bin/…, systemd/…) with a manifest signed by the\n" +
			"note signer key in KEYFILE (as `service update keygen` writes). The real release key\n" +
			"lives in the vendor's or the prefecture's HSM; this command is for tests and sim mode.",
		Args: exactArgs(1, "DIR (the directory of the files to package)"),
		RunE: func(c *cobra.Command, args []string) error {
			if keyFile == "" || out == "" || version == "" {
				return withCode(exitUsage, errors.New("give --key KEYFILE, --version VERSION and --out FILE"))
			}
			b, err := os.ReadFile(keyFile)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("read the release key: %w", err))
			}
			s, err := note.NewSigner(strings.TrimSpace(string(b)))
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("%s is not a note signer key (PRIVATE+KEY+…): %w", keyFile, err))
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("create the package: %w", err))
			}
			if err := update.Build(f, args[0], version, s); err != nil {
				f.Close()
				os.Remove(out)
				return withCode(exitUsage, err)
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Printf("Wrote %s: version %s, signed by %s.\n", out, version, s.Name())
			return nil
		},
	}
	c.Flags().StringVar(&keyFile, "key", "", "the release key: a note signer key file")
	c.Flags().StringVar(&version, "version", "", "the package's version, N.N.N")
	c.Flags().StringVar(&out, "out", "", "the package file to write")
	return c
}

func updateKeygenCmd() *cobra.Command {
	var name, out string
	c := &cobra.Command{
		Use:   "keygen --name NAME --out PREFIX",
		Short: "Make a release key pair: PREFIX.key (secret, 0600) and PREFIX.pub (for update_keys)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if name == "" || out == "" {
				return withCode(exitUsage, errors.New("give --name NAME (e.g. prefecture-release) and --out PREFIX"))
			}
			skey, vkey, err := note.GenerateKey(rand.Reader, name)
			if err != nil {
				return withCode(exitUsage, err)
			}
			if err := atomicfile.Write(out+".key", []byte(skey+"\n"), 0o600); err != nil {
				return err
			}
			if err := atomicfile.Write(out+".pub", []byte(vkey+"\n"), 0o644); err != nil {
				return err
			}
			fmt.Printf("Wrote %s.key (keep it secret) and %s.pub. Pin the key in jukiterm.conf:\nupdate_keys = [%q]\n", out, out, vkey)
			return nil
		},
	}
	c.Flags().StringVar(&name, "name", "", "the key's name, shown as the signer")
	c.Flags().StringVar(&out, "out", "", "the key files' prefix")
	return c
}
