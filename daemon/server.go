// Package daemon is jukitermd's core: it owns the identity file and serves the local
// API on a Unix socket. Every request passes one authorisation point (auth.go).
package daemon

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukiterm/store"
)

// Server serves the local API for one open store.
type Server struct {
	store     *store.Store
	log       *slog.Logger
	rotator   KeyRotator
	links     Links // links.go
	sessions  *sessions
	reader    FingerReader
	readerSem chan struct{}   // one claim of the reader at a time
	readerUse atomic.Int32    // callers holding or waiting for the claim
	connLimit int             // connections per Unix user (peerlimit.go)
	refusals  *refusalLimiter // refused sign-ins per Unix user (signinlimit.go)
	denials   *refusalLimiter // denied calls without a session, per Unix user
	verifier  note.Verifiers  // of the operation log's checkpoints
	exportDir string          // where checkpoints are exported

	archiveTo     []string      // age recipients of the log's archives
	archiveSigner crypto.Signer // signs them (the HSM key)
	http          *http.Server

	ctx    context.Context // ends when shutdown begins: long requests stop at a safe point
	cancel context.CancelFunc
	once   sync.Once

	media      *mediaHub      // mediahub.go; nil: no USB media
	background sync.WaitGroup // goroutines Shutdown waits for
	backups    *Backups       // backup.go; nil: no backups
	backupMu   sync.Mutex     // held while a backup runs: never two at once
	service    serviceDesk    // the vendor's supervised service mode (service.go)
}

// New returns a server for st. It does not listen until Serve.
func New(st *store.Store, log *slog.Logger) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{store: st, log: log, ctx: ctx, cancel: cancel, sessions: newSessions(SessionLimits{}),
		readerSem: make(chan struct{}, 1), connLimit: DefaultConnectionsPerUID}
	s.refusals = newRefusalLimiter(s.reportLimited)
	s.denials = newRefusalLimiter(s.reportDenialsLimited)
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: HeaderTimeout,
		IdleTimeout:       IdleTimeout,
		// No ReadTimeout or WriteTimeout for the whole request: the guard bounds each
		// request's body and writes (limits.go), as streamed calls need.
		BaseContext: func(net.Listener) context.Context { return ctx },
		ConnContext: withPeer,
	}
	return s
}

// Listen creates the Unix socket at path with mode 0660, replacing a stale socket
// left by a process that is gone, but never one a running daemon still answers on.
func Listen(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket: move it away or set another socket path", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("another jukitermd is already serving on %s", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("set socket mode: %w", err)
	}
	return l, nil
}

// SetConnectionLimit sets how many connections one Unix user may hold open at once
// (before Serve); 0 keeps the default.
func (s *Server) SetConnectionLimit(n int) {
	if n > 0 {
		s.connLimit = n
	}
}

// Serve answers requests on l until Shutdown. Connections beyond the limit per Unix
// user are closed at accept.
func (s *Server) Serve(l net.Listener) error {
	err := s.http.Serve(newPeerListener(l, s.connLimit, s.log))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops taking requests, lets running ones reach a safe point (an ingest
// stops after its current batch commits) and waits for them, at most until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.once.Do(s.cancel)
	err := s.http.Shutdown(ctx)
	s.serviceStopped() // while the store is open
	s.denials.close()
	s.refusals.close()  // summaries of rate-limited sign-ins: while the store is open
	s.background.Wait() // the bus watcher: before the bus and the store close
	return err
}
