// Package config reads and writes jukiterm.conf, the daemon's configuration (TOML).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// Config is the daemon's configuration. Relative paths are taken from the directory
// of the configuration file.
type Config struct {
	// Hardware is "sim" (simulators: the default of `make run` and tests) or "real".
	Hardware string `toml:"hardware"`
	// StateDir holds the database and, in sim mode, the simulators' state.
	StateDir string `toml:"state_dir"`
	// Socket is the path of the local API's Unix socket (mode 0660).
	Socket string `toml:"socket"`
	// Database is the path of the identity file; default STATE_DIR/jukiterm.db.
	Database string `toml:"database"`
	// TerminalID is recorded as 操作端末ＩＤ on every change.
	TerminalID string `toml:"terminal_id"`
	// Prefecture whose municipalities may send notifications; "秋田県" is built in.
	Prefecture string `toml:"prefecture"`
	// CacheMiB is SQLite's page cache per connection, in MiB.
	CacheMiB int `toml:"cache_mib"`
	// LogLevel is debug, info, warn or error; it changes on SIGHUP without a restart.
	LogLevel string `toml:"log_level"`
	// HSM is the PKCS#11 URI (RFC 7512) of the token holding the terminal's keys, with
	// its PIN in a pin-source file.
	HSM string `toml:"hsm"`
	// TPM is the TPM device (real) or the TPM simulator's state directory (sim).
	TPM string `toml:"tpm"`
	// PCRs are the PCRs the storage key is sealed to.
	PCRs []uint `toml:"pcrs"`
	// KeyFile holds the sealed storage key and its recovery copy.
	KeyFile string `toml:"key_file"`
	// BackupDir receives the encrypted, signed backups; default STATE_DIR/backups.
	BackupDir string `toml:"backup_dir"`
	// BackupRecipients are the age X25519 recipients (age1…) every backup is encrypted
	// to; none: no backups (the daily one is off, `jukiterm backup create` refuses).
	BackupRecipients []string `toml:"backup_recipients"`
	// BackupTime is the local time of the daily backup, "HH:MM"; default "02:00".
	BackupTime string `toml:"backup_time"`
	// BackupKeep is how many of the newest backups are kept; default 14.
	BackupKeep int `toml:"backup_keep"`
	// ReaderKey holds the fingerprint reader's pairing key, wrapped by the HSM;
	// default STATE_DIR/reader.key.
	ReaderKey string `toml:"reader_key"`
	// CheckpointDir receives the signed checkpoints of the operation log (for media or
	// another system); default STATE_DIR/checkpoints, which only sim mode accepts: with
	// real hardware it must be outside the state directory and the database's.
	CheckpointDir string `toml:"checkpoint_dir"`
	// LogVerifiers lists checkpoint keys trusted besides the HSM's own (a replaced
	// signing key, or that of a terminal whose backup was restored here); default
	// STATE_DIR/log-verifiers. `backup restore` adds to it.
	LogVerifiers string `toml:"log_verifiers"`
	// CheckpointEvery: a checkpoint is signed after this many entries (default 100)…
	CheckpointEvery int64 `toml:"checkpoint_every"`
	// CheckpointSeconds: …or when the oldest entry not covered is this old (30), and
	// at every clean stop.
	CheckpointSeconds int `toml:"checkpoint_seconds"`
	// LogRetentionYears: operation-log entries older than this are archived, then their
	// payloads erased (default 7).
	LogRetentionYears int `toml:"log_retention_years"`
	// ApprovedMedia lists the USB models ("VVVV:PPPP", hexadecimal) of the
	// hardware-encrypted, security-locked sticks bulk provisions may be written to;
	// every other model is refused. Empty: every medium is refused.
	ApprovedMedia []string `toml:"approved_media"`
	// SessionIdleMinutes: a session without a request for this long locks; default 10.
	SessionIdleMinutes int `toml:"session_idle_minutes"`
	// SessionMaxHours: a session ends this long after sign-in; default 12.
	SessionMaxHours int `toml:"session_max_hours"`
	// MaxConnectionsPerUID: connections one Unix user may hold open to the socket at
	// once; more are closed at once. Default 64.
	MaxConnectionsPerUID int `toml:"max_connections_per_uid"`
	// ServicePresenceMinutes: in a vendor's service (保守) session the supervisor
	// confirms presence this often, or the session pauses; default 15.
	ServicePresenceMinutes int `toml:"service_presence_minutes"`
	// ServiceGraceMinutes: a paused service session ends after this long; default 5.
	ServiceGraceMinutes int `toml:"service_grace_minutes"`
	// UpdateKeys are the release keys (note verifier keys, NAME+HASH+BASE64) an update
	// package must be signed by; none: every package is refused.
	UpdateKeys []string `toml:"update_keys"`
	// UpdatesDir receives staged update packages, one directory per version; default
	// /var/lib/jukiterm/updates (STATE_DIR/updates in sim mode).
	UpdatesDir string `toml:"updates_dir"`
	// CSListen is the address (HOST:PORT) jukitermd listens on for the municipalities'
	// CS (docs/links.md); empty: no CS link is accepted.
	CSListen string `toml:"cs_listen"`
	// LinkCert is this terminal's link certificate (PEM), whose key is the HSM's
	// jukiterm-tls key; default STATE_DIR/link.crt.
	LinkCert string `toml:"link_cert"`
}

// SimHSMURI names the SoftHSM2 token that `jukiterm init` creates in a state directory.
func SimHSMURI(stateDir string) string {
	return "pkcs11:token=jukiterm?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:" +
		filepath.Join(stateDir, "hsm", "user.pin")
}

// SimApprovedMedium is the model of the simulated security-locked stick (hwsim/mediasim:
// pid.codes' vendor 1209, product 0001, reserved for tests); `init --state` approves it.
const SimApprovedMedium = "1209:0001"

// Default returns the configuration `jukiterm init --state DIR` writes.
func Default(stateDir string) Config {
	return Config{
		Hardware:   "sim",
		StateDir:   stateDir,
		Socket:     filepath.Join(stateDir, "jukiterm.sock"),
		Database:   filepath.Join(stateDir, "jukiterm.db"),
		TerminalID: "terminal-01",
		Prefecture: "秋田県",
		CacheMiB:   256,
		LogLevel:   "info",
		HSM:        SimHSMURI(stateDir),
		TPM:        filepath.Join(stateDir, "tpm"),
		PCRs:       []uint{7},
		KeyFile:    filepath.Join(stateDir, "storage.key"),
		ReaderKey:  filepath.Join(stateDir, "reader.key"),
		BackupDir:  filepath.Join(stateDir, "backups"),
		BackupTime: DefaultBackupTime,
		BackupKeep: DefaultBackupKeep,

		CheckpointDir:      filepath.Join(stateDir, "checkpoints"),
		LogVerifiers:       filepath.Join(stateDir, "log-verifiers"),
		ApprovedMedia:      []string{SimApprovedMedium},
		CheckpointEvery:    DefaultCheckpointEvery,
		CheckpointSeconds:  DefaultCheckpointSeconds,
		LogRetentionYears:  7,
		SessionIdleMinutes: DefaultSessionIdleMinutes,
		SessionMaxHours:    DefaultSessionMaxHours,

		MaxConnectionsPerUID: DefaultMaxConnectionsPerUID,

		ServicePresenceMinutes: DefaultServicePresenceMinutes,
		ServiceGraceMinutes:    DefaultServiceGraceMinutes,
		UpdatesDir:             filepath.Join(stateDir, "updates"),
		LinkCert:               filepath.Join(stateDir, "link.crt"),
	}
}

// FileName is the configuration's name inside a state directory.
const FileName = "jukiterm.conf"

// Error is a problem with one key of a configuration file.
type Error struct {
	File string
	Line int // 0 when unknown
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Key == "" {
		return fmt.Sprintf("%s: %s", loc, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Key, e.Msg)
}

// Load reads and validates a configuration file.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read configuration: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates configuration text; path names it in errors and
// anchors relative paths.
func Parse(path string, data []byte) (Config, error) {
	var c Config
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return c, &Error{File: path, Line: pe.Position.Line, Msg: pe.Message}
		}
		return c, &Error{File: path, Msg: err.Error()}
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0].String()
		return c, &Error{File: path, Line: lineOf(data, k), Key: k, Msg: "unknown key (see jukiterm.conf(5) for the keys)"}
	}
	dir := filepath.Dir(path)
	if c.StateDir == "" {
		c.StateDir = dir
	}
	c.StateDir = abs(dir, c.StateDir)
	if c.Database == "" {
		c.Database = filepath.Join(c.StateDir, "jukiterm.db")
	}
	c.Database = abs(dir, c.Database)
	if c.Socket != "" {
		c.Socket = abs(dir, c.Socket)
	}
	if c.TerminalID == "" {
		c.TerminalID = "terminal-01"
	}
	if c.Prefecture == "" {
		c.Prefecture = "秋田県"
	}
	if c.CacheMiB == 0 {
		c.CacheMiB = 256
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.KeyFile == "" {
		c.KeyFile = filepath.Join(c.StateDir, "storage.key")
	}
	c.KeyFile = abs(dir, c.KeyFile)
	if c.ReaderKey == "" {
		c.ReaderKey = filepath.Join(c.StateDir, "reader.key")
	}
	c.ReaderKey = abs(dir, c.ReaderKey)
	if len(c.PCRs) == 0 {
		c.PCRs = []uint{7}
	}
	switch {
	case c.TPM == "" && c.Hardware == "sim":
		c.TPM = filepath.Join(c.StateDir, "tpm")
	case c.TPM == "":
		c.TPM = "/dev/tpmrm0"
	}
	c.TPM = abs(dir, c.TPM)
	if c.HSM == "" && c.Hardware == "sim" {
		c.HSM = SimHSMURI(c.StateDir)
	}
	c.backupDefaults(dir)
	c.sessionDefaults()
	c.limitDefaults()
	c.oplogDefaults(dir)
	c.serviceDefaults(dir)
	c.linkDefaults(dir)
	bad := func(key, format string, args ...any) error {
		return &Error{File: path, Line: lineOf(data, key), Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case c.Hardware != "sim" && c.Hardware != "real":
		return c, bad("hardware", "must be \"sim\" or \"real\", not %q", c.Hardware)
	case c.Socket == "":
		return c, bad("socket", "is required: the path of the local API's Unix socket")
	case c.Prefecture != "秋田県":
		return c, bad("prefecture", "%q is not built in; this version knows 秋田県", c.Prefecture)
	case c.CacheMiB < 1 || c.CacheMiB > 65536:
		return c, bad("cache_mib", "must be between 1 and 65536, not %d", c.CacheMiB)
	case len(c.TerminalID) > 64:
		return c, bad("terminal_id", "is longer than 64 characters")
	case c.HSM == "":
		return c, bad("hsm", "is required: the PKCS#11 URI of the HSM token, e.g. pkcs11:token=jukiterm?module-path=…&pin-source=file:/etc/jukiterm/hsm.pin")
	case !strings.HasPrefix(c.HSM, "pkcs11:"):
		return c, bad("hsm", "must be a PKCS#11 URI starting with \"pkcs11:\"")
	case strings.Contains(c.HSM, "pin-value="):
		return c, bad("hsm", "carries a PIN: give it in a file with pin-source=file:… instead")
	case slices.ContainsFunc(c.PCRs, func(p uint) bool { return p > 23 }):
		return c, bad("pcrs", "PCR numbers go from 0 to 23")
	case c.Level() == nil:
		return c, bad("log_level", "must be debug, info, warn or error, not %q", c.LogLevel)
	}
	if key, msg := c.checkBackup(); key != "" {
		return c, bad(key, "%s", msg)
	}
	if key, msg := c.checkSessions(); key != "" {
		return c, bad(key, "%s", msg)
	}
	if key, msg := c.checkLimits(); key != "" {
		return c, bad(key, "%s", msg)
	}
	if key, msg := c.checkOplog(); key != "" {
		return c, bad(key, "%s", msg)
	}
	if key, msg := c.checkService(); key != "" {
		return c, bad(key, "%s", msg)
	}
	if key, msg := c.checkLinks(); key != "" {
		return c, bad(key, "%s", msg)
	}
	for _, m := range c.ApprovedMedia {
		if !mediaModel.MatchString(m) {
			return c, bad("approved_media", "%q is not a USB model: write it as VVVV:PPPP in hexadecimal, as lsusb shows it", m)
		}
	}
	return c, nil
}

var mediaModel = regexp.MustCompile(`^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$`)

func abs(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// lineOf finds the line that sets key, for error messages (0 if none does).
func lineOf(data []byte, key string) int {
	re := regexp.MustCompile(`^\s*"?` + regexp.QuoteMeta(key) + `"?\s*=`)
	for i, l := range strings.Split(string(data), "\n") {
		if re.MatchString(l) {
			return i + 1
		}
	}
	return 0
}

// Write saves c to path (mode 0640), refusing to overwrite an existing file.
func Write(path string, c Config) error {
	var b bytes.Buffer
	b.WriteString("# jukiterm configuration: see jukiterm.conf(5). Written by `jukiterm init`.\n")
	if err := toml.NewEncoder(&b).Encode(c); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Level returns the slog level of LogLevel, or nil when it is not one.
func (c Config) Level() *slog.Level {
	var l slog.Level
	switch c.LogLevel {
	case "debug":
		l = slog.LevelDebug
	case "info":
		l = slog.LevelInfo
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		return nil
	}
	return &l
}

// NeedRestart lists the keys whose change from c to next takes effect only after a
// restart (everything but log_level).
func (c Config) NeedRestart(next Config) []string {
	var keys []string
	for _, k := range []struct {
		name    string
		changed bool
	}{{"hardware", c.Hardware != next.Hardware}, {"state_dir", c.StateDir != next.StateDir},
		{"socket", c.Socket != next.Socket}, {"database", c.Database != next.Database},
		{"terminal_id", c.TerminalID != next.TerminalID}, {"prefecture", c.Prefecture != next.Prefecture},
		{"cache_mib", c.CacheMiB != next.CacheMiB}, {"hsm", c.HSM != next.HSM}, {"tpm", c.TPM != next.TPM},
		{"pcrs", !slices.Equal(c.PCRs, next.PCRs)}, {"key_file", c.KeyFile != next.KeyFile},
		{"backup_dir", c.BackupDir != next.BackupDir}, {"backup_recipients", !slices.Equal(c.BackupRecipients, next.BackupRecipients)},
		{"backup_time", c.BackupTime != next.BackupTime}, {"backup_keep", c.BackupKeep != next.BackupKeep},
		{"session_idle_minutes", c.SessionIdleMinutes != next.SessionIdleMinutes},
		{"session_max_hours", c.SessionMaxHours != next.SessionMaxHours},
		{"max_connections_per_uid", c.MaxConnectionsPerUID != next.MaxConnectionsPerUID},
		{"checkpoint_dir", c.CheckpointDir != next.CheckpointDir},
		{"log_verifiers", c.LogVerifiers != next.LogVerifiers},
		{"approved_media", !slices.Equal(c.ApprovedMedia, next.ApprovedMedia)},
		{"checkpoint_every", c.CheckpointEvery != next.CheckpointEvery},
		{"checkpoint_seconds", c.CheckpointSeconds != next.CheckpointSeconds},
		{"log_retention_years", c.LogRetentionYears != next.LogRetentionYears}} {
		if k.changed {
			keys = append(keys, k.name)
		}
	}
	return append(append(keys, c.serviceNeedRestart(next)...), c.linksNeedRestart(next)...)
}
