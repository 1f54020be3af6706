// Package swtpm runs Debian's swtpm as the TPM of `hardware = "sim"`: a TPM 2.0
// simulator whose state persists in a directory across restarts, reached over a Unix
// socket through go-tpm's transport (the same seam as /dev/tpmrm0).
package swtpm

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxudstpm"
)

// TPM is a running swtpm with its state in Dir.
type TPM struct {
	Dir    string
	cmd    *exec.Cmd
	exited chan error // cmd.Wait's result
	transport.TPMCloser
}

// Socket and CtrlSocket name swtpm's sockets in its state directory: the control
// socket is the TPM socket's path with ".ctrl", where tpm2-tss's swtpm TCTI looks
// for it (TPM2TOOLS_TCTI=swtpm:path=DIR/tpm.sock).
const (
	Socket     = "tpm.sock"
	CtrlSocket = Socket + ".ctrl"
	oldCtrl    = "ctrl.sock" // its name before; removed when a state made then starts
)

// Start runs swtpm with its state in dir (created if absent) and connects to it. It
// refuses, touching nothing, when an swtpm already answers on dir's socket; the state
// lock (daemon/statelock) is what keeps a second user of the directory away.
func Start(dir string) (*TPM, error) {
	if _, err := exec.LookPath("swtpm"); err != nil {
		return nil, errors.New("swtpm is not installed: run `make deps` (Debian package swtpm)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	sock, ctrl := filepath.Join(dir, Socket), filepath.Join(dir, CtrlSocket)
	if c, err := net.DialTimeout("unix", sock, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("a simulated TPM already runs on %s (another jukitermd or jukiterm command on this state?): stop it first; nothing was changed", sock)
	}
	os.Remove(sock) // left by an swtpm that died
	os.Remove(ctrl)
	os.Remove(filepath.Join(dir, oldCtrl))
	if err := privateState(dir); err != nil {
		return nil, err
	}
	cmd := exec.Command("swtpm", "socket", "--tpm2", "--tpmstate", "dir="+dir+",mode=0600",
		"--server", "type=unixio,path="+sock, "--ctrl", "type=unixio,path="+ctrl,
		"--flags", "not-need-init,startup-clear")
	logPath := filepath.Join(dir, "swtpm.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child keeps its own descriptor
	logStart, _ := logf.Seek(0, io.SeekEnd)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // no orphan if we die
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start swtpm: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t := &TPM{Dir: dir, cmd: cmd, exited: exited}
	// The socket file appears when swtpm binds it, a moment before it listens: wait
	// until a connection is accepted, not only for the file. If swtpm ends first, say
	// why (its log) at once rather than after the timeout.
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, err := net.DialTimeout("unix", sock, time.Second); err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			t.cmd = nil
			return nil, fmt.Errorf("swtpm ended at start (%v): %s", err, logSince(logPath, logStart))
		default:
		}
		if time.Now().After(deadline) {
			t.Stop()
			return nil, fmt.Errorf("swtpm accepted no connection in 15 s: %s", logSince(logPath, logStart))
		}
		time.Sleep(10 * time.Millisecond)
	}
	tc, err := linuxudstpm.Open(sock)
	if err != nil {
		t.Stop()
		return nil, fmt.Errorf("connect to swtpm: %w", err)
	}
	t.TPMCloser = tc
	// Startup: TPM_RC_INITIALIZE means swtpm already started the TPM, which is fine.
	if _, err := (tpm2.Startup{StartupType: tpm2.TPMSUClear}).Execute(tc); err != nil && !errors.Is(err, tpm2.TPMRCInitialize) {
		t.Stop()
		return nil, fmt.Errorf("TPM2_Startup: %w", err)
	}
	return t, nil
}

// privateState makes the TPM's state files (its seeds and keys) mode 0600: swtpm
// wrote them 0640 before it was given mode=0600.
func privateState(dir string) error {
	es, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range es {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(filepath.Join(dir, e.Name()), 0o600); err != nil {
				return fmt.Errorf("make the simulated TPM's state private: %w", err)
			}
		}
	}
	return nil
}

// logSince returns what swtpm wrote to its log from offset on (its last lines), or
// where to look.
func logSince(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) <= offset {
		return "see " + path
	}
	msg := strings.TrimSpace(string(b[offset:]))
	if len(msg) > 600 {
		msg = "…" + msg[len(msg)-600:]
	}
	return fmt.Sprintf("swtpm said %q (from %s)", msg, path)
}

// Stop disconnects and ends swtpm; its state stays in Dir for the next Start.
func (t *TPM) Stop() error {
	if t.TPMCloser != nil {
		t.TPMCloser.Close()
	}
	if t.cmd == nil || t.cmd.Process == nil {
		return nil
	}
	t.cmd.Process.Signal(os.Interrupt)
	select {
	case <-t.exited:
	case <-time.After(5 * time.Second):
		t.cmd.Process.Kill()
		<-t.exited
	}
	t.cmd = nil
	return nil
}
