package daemon

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"jukiterm/daemon/api"
	"jukiterm/daemon/backup"
)

// ServiceProbe is what jukitermd's main gives the service status about the hardware
// and the build (none of it secret). A nil function reports "not available".
type ServiceProbe struct {
	Version      string
	ConfigSHA256 string
	Started      time.Time
	// TPM says whether the TPM answers, and PCR 7's value (hex).
	TPM func(ctx context.Context) (state, pcr7 string)
	// HSM gives the token's label and its keys' labels and handles.
	HSM func(ctx context.Context) (token string, keys []string)
	// Reader runs the fingerprint reader's self-test.
	Reader func(ctx context.Context) string
}

// SetServiceProbe gives the service status its probes (before Serve).
func (s *Server) SetServiceProbe(p ServiceProbe) { s.service.probe = p }

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// serviceStatus reports the terminal's health to the vendor in a service session.
func (s *Server) serviceStatus(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := s.service.probe
	st := api.ServiceStatus{Version: p.Version, ConfigSHA256: p.ConfigSHA256, HSMKeys: []string{},
		TPM: "not available", HSMToken: "not available", Reader: "not available", USB: []api.Connected{}}
	s.service.mu.Lock()
	if v := s.service.cur; v != nil {
		st.Session = s.serviceInfo(v)
	}
	s.service.mu.Unlock()
	if !p.Started.IsZero() {
		st.StartedAt = p.Started.UTC().Format(time.RFC3339)
		st.UptimeSeconds = int64(time.Since(p.Started).Seconds())
	}
	db := s.store.Path()
	var fs unix.Statfs_t
	if unix.Statfs(filepath.Dir(db), &fs) == nil {
		st.DiskFreeBytes, st.DiskSizeBytes = fs.Bavail*uint64(fs.Bsize), fs.Blocks*uint64(fs.Bsize)
	}
	st.DatabaseBytes, st.WALBytes = fileSize(db), fileSize(db+"-wal")
	if qc, err := s.store.QuickCheck(ctx); err != nil {
		st.QuickCheck = "could not run: " + err.Error()
	} else {
		st.QuickCheck = qc
	}
	if p.TPM != nil {
		st.TPM, st.PCR7 = p.TPM(ctx)
	}
	if p.HSM != nil {
		st.HSMToken, st.HSMKeys = p.HSM(ctx)
	}
	if p.Reader != nil {
		st.Reader = s.readerSelfTest(ctx, p.Reader)
	}
	st.USB = s.usbListing(ctx)
	if b := s.backups; b != nil {
		if files, err := backup.List(b.Dir, b.TerminalID); err == nil && len(files) > 0 {
			st.LastBackup = files[len(files)-1].Created.UTC().Format(time.RFC3339)
		}
	}
	if cp, err := s.store.LatestCheckpoint(ctx, s.verifier); err == nil && cp != nil {
		st.CheckpointSize = cp.Size
		if at, err := s.store.CheckpointTime(ctx, cp.Size); err == nil {
			st.LastCheckpoint = at.UTC().Format(time.RFC3339)
		}
	}
	writeJSON(w, st)
}

// usbListing lists every device on the USB bus (the reader too) with the media
// policy's verdict, as for nobody in particular: whether it is issued to the vendor
// is not asked, and no volume is opened.
func (s *Server) usbListing(ctx context.Context) []api.Connected {
	out := []api.Connected{}
	h := s.media
	if h == nil || h.Bus == nil {
		return out
	}
	devs, err := h.Bus.Devices()
	if err != nil {
		return append(out, api.Connected{Reason: "the USB bus could not be listed: " + err.Error()})
	}
	for _, d := range devs {
		c, _ := h.verdict(ctx, s.store, d, "", false)
		out = append(out, c)
	}
	return out
}

// readerSelfTest runs the reader's self-test under the reader claim.
func (s *Server) readerSelfTest(ctx context.Context, test func(context.Context) string) string {
	res := ""
	err := s.useReader(ctx, "", false, 10*time.Second, func(ctx context.Context, _ FingerReader) error {
		res = test(ctx)
		return nil
	})
	if err != nil {
		return "not run: " + err.Error()
	}
	return res
}

// serviceLogs returns jukitermd's own log lines since ?since= (RFC 3339; default: all
// that are kept).
func (s *Server) serviceLogs(w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if q := r.URL.Query().Get("since"); q != "" {
		t, err := time.Parse(time.RFC3339, q)
		if err != nil {
			writeError(w, badRequest("--since is not a time like 2026-12-04T09:00:00+09:00: "+q))
			return
		}
		since = t
	}
	if s.service.ring == nil {
		writeJSON(w, []api.LogLine{})
		return
	}
	writeJSON(w, s.service.ring.Since(since))
}

// BackupCheck is the answer of the service session's backup verify.
type BackupCheck struct {
	Path    string `json:"path"`
	Created string `json:"created"`
	Sound   bool   `json:"sound"`
	Result  string `json:"result"`
}

// backupVerify checks the newest backup's signature and manifest with this terminal's
// signing key, decrypting nothing.
func (s *Server) backupVerify(w http.ResponseWriter, r *http.Request) {
	b := s.backups
	if b == nil || b.Signer == nil {
		writeError(w, errUnavailable("this jukitermd makes no backups (no backup recipients or no signing key): nothing to verify; tell the administrator"))
		return
	}
	pub, ok := b.Signer.Public().(*ecdsa.PublicKey)
	if !ok {
		writeError(w, errUnavailable("the terminal's signing key is not an ECDSA key: backups cannot be verified here"))
		return
	}
	files, err := backup.List(b.Dir, b.TerminalID)
	if err != nil || len(files) == 0 {
		writeError(w, &api.Error{Status: http.StatusNotFound, Kind: api.KindNotFound,
			Message: fmt.Sprintf("no backup of this terminal in %s yet, so there is nothing to verify: an administrator makes one with `jukiterm backup create` (jukitermd also makes one daily at backup_time)", b.Dir)})
		return
	}
	f := files[len(files)-1]
	out := BackupCheck{Path: f.Path, Created: f.Created.UTC().Format(time.RFC3339), Sound: true, Result: "signature and manifest good"}
	if _, err := backup.Verify(f.Path, pub); err != nil {
		out.Sound, out.Result = false, err.Error()
	}
	writeJSON(w, out)
}
