package daemon

import (
	"errors"
	"fmt"
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

// readPackage verifies the package in the request's body.
func (s *Server) readPackage(w http.ResponseWriter, r *http.Request) (*update.Package, error) {
	u := s.service.update
	if u.Keys == nil {
		return nil, errUnavailable("no release key is pinned (update_keys is empty in the configuration), so every update package is refused: ask the administrator to add the vendor's and the prefecture's keys")
	}
	p, err := update.Verify(http.MaxBytesReader(w, r.Body, MaxPackage), u.Keys, u.Installed)
	if err != nil {
		s.log.Warn("update package refused", "err", err)
		if errors.Is(err, update.ErrRefused) {
			w.Header().Set(resultHeader, "refused")
			return nil, &api.Error{Status: http.StatusUnprocessableEntity, Kind: api.KindBadRequest,
				Message: err.Error() + ". Nothing was staged; do not install this package, and report it to the prefecture"}
		}
		return nil, err
	}
	return p, nil
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
	p, err := s.readPackage(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set(resultHeader, fmt.Sprintf("verified version %s signed by %s, %d files", p.Version, p.Signer, len(p.Files)))
	writeJSON(w, UpdateAnswer{Version: p.Version, Installed: s.service.update.Installed, Signer: p.Signer, Files: p.Files})
}

func (s *Server) updateStage(w http.ResponseWriter, r *http.Request) {
	p, err := s.readPackage(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.stillInService(r); err != nil {
		writeError(w, err)
		return
	}
	dir, err := p.Stage(s.service.update.Dir)
	if err != nil {
		writeError(w, badRequest(err.Error()))
		return
	}
	s.log.Info("update package staged", "version", p.Version, "signer", p.Signer, "dir", dir)
	w.Header().Set(resultHeader, fmt.Sprintf("staged version %s signed by %s, %d files, in %s", p.Version, p.Signer, len(p.Files), dir))
	writeJSON(w, UpdateAnswer{Version: p.Version, Installed: s.service.update.Installed, Signer: p.Signer, Files: p.Files, StagedIn: dir})
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
	prev, err := update.Activate(u.Dir, version, u.Installed)
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
