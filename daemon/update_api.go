package daemon

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"jukiterm/daemon/api"
	"jukiterm/daemon/update"
)

// UpdateConfig is where update packages are staged, the release keys they must be
// signed by (update_keys), the installed version, and how jukitermd restarts after an
// activation (nil: it does not; sim mode).
type UpdateConfig struct {
	Dir       string
	Keys      note.Verifiers
	Installed string
	Restart   func() error
}

// SetUpdates configures update packages (before Serve).
func (s *Server) SetUpdates(u UpdateConfig) {
	if u.Installed == "" {
		u.Installed = update.Version
	}
	s.service.update = u
}

// MaxPackage bounds an update package's size.
const MaxPackage = 1 << 30

// resultHeader carries a call's result for the service session's transcript (traced).
const resultHeader = "X-Jukiterm-Result"

func init() {
	streamedBody[actUpdateVerify] = true
	streamedBody[actUpdateStage] = true
}

// packageError answers a refused or failed package.
func (s *Server) packageError(w http.ResponseWriter, err error) error {
	if errors.Is(err, update.ErrRefused) {
		s.log.Warn("update package refused", "err", err)
		w.Header().Set(resultHeader, "refused")
		return &api.Error{Status: http.StatusUnprocessableEntity, Kind: api.KindBadRequest,
			Message: err.Error() + ". Nothing was staged; do not install this package, and report it to the prefecture"}
	}
	var ae *api.Error
	if errors.As(err, &ae) {
		return err
	}
	s.log.Error("update package not staged", "err", err)
	return badRequest(err.Error())
}

// packageBody is the request's package, bounded; nil when no key is pinned.
func (s *Server) packageBody(w http.ResponseWriter, r *http.Request) (io.Reader, error) {
	if s.service.update.Keys == nil {
		return nil, errUnavailable("no release key is pinned (update_keys is empty in the configuration), so every update package is refused: ask the administrator to add the vendor's and the prefecture's keys")
	}
	return http.MaxBytesReader(w, r.Body, MaxPackage), nil
}

// UpdateAnswer describes a verified, staged or activated package.
type UpdateAnswer struct {
	Version   string        `json:"version"`
	Installed string        `json:"installed"`
	Signer    string        `json:"signer,omitempty"`
	Files     []update.File `json:"files,omitempty"`
	StagedIn  string        `json:"staged_in,omitempty"`
	Previous  string        `json:"previous,omitempty"`
	Restart   string        `json:"restart,omitempty"`
}

func (s *Server) updateVerify(w http.ResponseWriter, r *http.Request) {
	body, err := s.packageBody(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	u := s.service.update
	p, err := update.Verify(body, u.Keys, u.Installed)
	if err != nil {
		writeError(w, s.packageError(w, err))
		return
	}
	w.Header().Set(resultHeader, fmt.Sprintf("verified version %s signed by %s, %d files", p.Version, p.Signer, len(p.Files)))
	writeJSON(w, UpdateAnswer{Version: p.Version, Installed: u.Installed, Signer: p.Signer, Files: p.Files})
}

// updateStage streams the package to disk as it checks it; the staged version is
// moved into place only after its update.stage entry is in the operation log (in the
// service session the call began in, which must still be active).
func (s *Server) updateStage(w http.ResponseWriter, r *http.Request) {
	body, err := s.packageBody(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	u := s.service.update
	p, dir, err := update.Stage(body, u.Keys, u.Installed, u.Dir, func(p *update.Package) error {
		return s.recordStage(r, p)
	})
	if err != nil {
		writeError(w, s.packageError(w, err))
		return
	}
	s.log.Info("update package staged", "version", p.Version, "signer", p.Signer, "dir", dir)
	w.Header().Set(resultHeader, fmt.Sprintf("staged version %s signed by %s, %d files, in %s", p.Version, p.Signer, len(p.Files), dir))
	writeJSON(w, UpdateAnswer{Version: p.Version, Installed: u.Installed, Signer: p.Signer, Files: p.Files, StagedIn: dir})
}

// recordStage logs a checked package before it is moved into place: in the caller's
// service session (refused if it paused or ended while the package arrived), or under
// the caller's name outside one.
func (s *Server) recordStage(r *http.Request, p *update.Package) error {
	detail := map[string]any{"version": p.Version, "signer": p.Signer, "files": len(p.Files)}
	c := callerOf(r)
	if c.service == "" {
		return s.record(r, "update.stage", detail)
	}
	s.service.mu.Lock()
	defer s.service.mu.Unlock()
	v, err := s.liveSession(c)
	if err != nil {
		return err
	}
	if err := s.serviceLog(r.Context(), v, "service.stage", detail); err != nil {
		return &api.Error{Status: http.StatusServiceUnavailable, Kind: api.KindInternal,
			Message: "the operation log could not record the stage, so nothing was staged: " + err.Error() + "; tell the administrator"}
	}
	return nil
}

// updateActivate (an administrator) switches to a staged version and restarts
// jukitermd through systemd.
func (s *Server) updateActivate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Version string `json:"version"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	u := s.service.update
	version := strings.TrimSpace(req.Version)
	// Logged before the switch is written: a switch the log cannot name is not made.
	if err := s.record(r, "update.activate", map[string]any{"version": version, "installed": u.Installed}); err != nil {
		writeError(w, err)
		return
	}
	prev, err := update.Activate(u.Dir, version, u.Installed, u.Keys)
	if err != nil {
		if lerr := s.record(r, "update.refused", map[string]any{"version": version, "installed": u.Installed, "reason": err.Error()}); lerr != nil {
			s.log.Error("a refused activation not recorded", "err", lerr)
		}
		writeError(w, badRequest(err.Error()))
		return
	}
	ans := UpdateAnswer{Version: version, Installed: u.Installed, Previous: prev,
		Restart: "not restarted (simulated hardware): the switch is written; restart jukitermd to run the new version"}
	if u.Restart != nil {
		ans.Restart = "jukitermd restarts now through systemd"
	}
	s.log.Warn("update activated", "version", version, "previous", prev, "by", callerOf(r).Operator)
	writeJSON(w, ans)
	if u.Restart != nil {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if err := u.Restart(); err != nil {
			s.log.Error("restart after an update's activation", "err", err, "what_to_do", "restart jukitermd by hand: systemctl restart jukitermd")
		}
	}
}
