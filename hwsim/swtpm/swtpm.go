// Package swtpm runs Debian's swtpm as the TPM of `hardware = "sim"`: a TPM 2.0
// simulator whose state persists in a directory across restarts, reached over a Unix
// socket through go-tpm's transport (the same seam as /dev/tpmrm0).
package swtpm

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxudstpm"
)

// TPM is a running swtpm with its state in Dir.
type TPM struct {
	Dir string
	cmd *exec.Cmd
	transport.TPMCloser
}

// Start runs swtpm with its state in dir (created if absent) and connects to it.
func Start(dir string) (*TPM, error) {
	if _, err := exec.LookPath("swtpm"); err != nil {
		return nil, errors.New("swtpm is not installed: run `make deps` (Debian package swtpm)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "tpm.sock")
	os.Remove(sock)
	os.Remove(filepath.Join(dir, "ctrl.sock"))
	cmd := exec.Command("swtpm", "socket", "--tpm2", "--tpmstate", "dir="+dir,
		"--server", "type=unixio,path="+sock, "--ctrl", "type=unixio,path="+filepath.Join(dir, "ctrl.sock"),
		"--flags", "not-need-init,startup-clear")
	logf, err := os.OpenFile(filepath.Join(dir, "swtpm.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child keeps its own descriptor
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // no orphan if we die
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start swtpm: %w", err)
	}
	t := &TPM{Dir: dir, cmd: cmd}
	// The socket file appears when swtpm binds it, a moment before it listens: wait
	// until a connection is accepted, not only for the file.
	for i := 0; ; i++ {
		if c, err := net.DialTimeout("unix", sock, time.Second); err == nil {
			c.Close()
			break
		}
		if i > 1500 {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, errors.New("swtpm accepted no connection in 15 s (see swtpm.log in its state directory)")
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

// Stop disconnects and ends swtpm; its state stays in Dir for the next Start.
func (t *TPM) Stop() error {
	if t.TPMCloser != nil {
		t.TPMCloser.Close()
	}
	if t.cmd.Process == nil {
		return nil
	}
	t.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- t.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.cmd.Process.Kill()
		<-done
	}
	return nil
}
