package daemon

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests re-execute their own binary as another Unix user (nobody, 65534) to reach
// the real socket as a second user: JUKITERM_TEST_CHILD names what the child does.
func init() {
	what := os.Getenv("JUKITERM_TEST_CHILD")
	if what == "" {
		return
	}
	socket := os.Getenv("JUKITERM_TEST_SOCKET")
	var err error
	switch what {
	case "logout":
		err = childLogout(socket, os.Getenv("JUKITERM_TEST_TOKEN"))
	case "hold":
		n, _ := strconv.Atoi(os.Getenv("JUKITERM_TEST_N"))
		err = childHold(socket, n)
	default:
		err = fmt.Errorf("unknown child task %q", what)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// childLogout presents token to POST /v1/logout and prints the answer's body.
func childLogout(socket, token string) error {
	c, err := net.Dial("unix", socket)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/logout HTTP/1.1\r\nHost: jukitermd\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", token)
	b, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	_, body, _ := strings.Cut(string(b), "\r\n\r\n")
	fmt.Print(body)
	return nil
}

// childHold opens n connections that each start a sign-in whose body never comes,
// prints how many are still open after a moment, then holds them until stdin closes.
func childHold(socket string, n int) error {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err == nil {
		lim.Cur = lim.Max
		unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	}
	var conns []net.Conn
	for i := 0; i < n; i++ {
		c, err := net.Dial("unix", socket)
		if err != nil {
			continue
		}
		fmt.Fprintf(c, "POST /v1/login HTTP/1.1\r\nHost: jukitermd\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"operator\":\"")
		conns = append(conns, c)
	}
	time.Sleep(500 * time.Millisecond)
	open := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil && os.IsTimeout(err) {
			open++ // nothing to read and not closed: still held
		}
		c.SetReadDeadline(time.Time{})
	}
	fmt.Printf("open %d of %d\n", open, len(conns))
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// otherUser is a child of the test binary running as nobody (65534).
type otherUser struct {
	cmd    *exec.Cmd
	out    *bufio.Reader
	stdin  io.WriteCloser
	stderr strings.Builder
}

// asNobody starts the test binary as nobody doing what, with env added. The binary
// is copied where nobody may run it, and the socket and its directories are opened
// to other users (the daemon's own checks are what is tested, not the file mode).
func asNobody(t *testing.T, socket, what string, env ...string) *otherUser {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("running as another Unix user needs root")
	}
	for d := socket; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		mode := os.FileMode(0o755)
		if d == socket {
			mode = 0o666
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "jukiterm-child")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "child.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	o := &otherUser{cmd: exec.Command(bin)}
	o.cmd.Dir = dir
	o.cmd.Env = append([]string{"JUKITERM_TEST_CHILD=" + what, "JUKITERM_TEST_SOCKET=" + socket}, env...)
	o.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	o.cmd.Stderr = &o.stderr
	stdout, err := o.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if o.stdin, err = o.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	o.out = bufio.NewReader(stdout)
	if err := o.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.stdin.Close(); o.cmd.Process.Kill(); o.cmd.Wait() })
	return o
}

// line reads the child's next line of output.
func (o *otherUser) line(t *testing.T) string {
	t.Helper()
	l, err := o.out.ReadString('\n')
	if err != nil {
		t.Fatalf("the child said nothing: %v (%s)", err, o.stderr.String())
	}
	return strings.TrimSpace(l)
}
