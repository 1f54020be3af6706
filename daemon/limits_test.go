package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"jukiterm/daemon/client"
	"jukiterm/store"
)

// shorten sets a limit for one test.
func shorten(t *testing.T, v *time.Duration, d time.Duration) {
	old := *v
	*v = d
	t.Cleanup(func() { *v = old })
}

// TestSlowClientsOfAnotherUserDoNotStarveOthers repeats the attack with a tight file
// limit: another Unix user opens 1,000 connections that start a sign-in and never
// send its body; the daemon keeps at most max_connections_per_uid of them, and an
// operator's search through the real socket still answers at once.
func TestSlowClientsOfAnotherUserDoNotStarveOthers(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	data := residents(t, 20)
	if _, err := f.cl.Ingest(ctx, data, nil); err != nil {
		t.Fatal(err)
	}
	var first map[string]any
	json.Unmarshal(bytes.SplitN(data, []byte("\n"), 2)[0], &first)
	q := store.Query{Kana: first["name_kana"].(string), Birth: first["birth"].(string)}

	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	tight := lim
	tight.Cur = 400 // the daemon's files and connections must fit in it
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &tight); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &lim) })

	o := asNobody(t, f.socket, "hold", "JUKITERM_TEST_N=1000")
	var open, tried int
	if _, err := fmt.Sscanf(o.line(t), "open %d of %d", &open, &tried); err != nil {
		t.Fatal(err)
	}
	if open > DefaultConnectionsPerUID {
		t.Errorf("another user holds %d connections (of %d opened), want at most %d", open, tried, DefaultConnectionsPerUID)
	}
	cl := client.New(f.socket) // a new connection, as a new command would open
	cl.Token = f.cl.Token
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	began := time.Now()
	recs, err := cl.Search(sctx, q)
	if err != nil || len(recs) == 0 {
		t.Fatalf("the operator's search while another user holds connections: %v (%d results)", err, len(recs))
	}
	if err := cl.Health(sctx); err != nil {
		t.Fatalf("health: %v", err)
	}
	t.Logf("search answered in %s with %d connections held by another user", time.Since(began), open)
}

// TestSlowBodyAndIdleConnectionsAreClosed: a body that does not come, and a kept-alive
// connection without a next request, are closed after their timeouts; a streamed
// body (ingest) that keeps making progress may take longer than BodyTimeout.
func TestSlowBodyAndIdleConnectionsAreClosed(t *testing.T) {
	shorten(t, &BodyTimeout, time.Second)
	shorten(t, &IdleTimeout, time.Second)
	shorten(t, &StreamReadTimeout, time.Second)
	f := start(t)

	closedWithin := func(c net.Conn, limit time.Duration) (time.Duration, bool) {
		began := time.Now()
		c.SetReadDeadline(began.Add(limit))
		_, err := io.Copy(io.Discard, c)
		return time.Since(began), err == nil // EOF: the daemon closed it
	}
	c, err := net.Dial("unix", f.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "POST /v1/login HTTP/1.1\r\nHost: jukitermd\r\nContent-Length: 100\r\n\r\n{\"operator\":")
	if took, ok := closedWithin(c, 5*time.Second); !ok {
		t.Errorf("a slow body was not closed in %s", took)
	}

	// Bodies that no handler reads: a denied ingest or provision (no session), an
	// unknown path, a method no route has. Each connection is answered or closed
	// within the body's time, never held.
	for _, head := range []string{
		"POST /v1/ingest HTTP/1.1\r\nHost: jukitermd\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n",
		"POST /v1/provisions HTTP/1.1\r\nHost: jukitermd\r\nContent-Length: 1000\r\n\r\n{",
		"POST /nope HTTP/1.1\r\nHost: jukitermd\r\nContent-Length: 1000\r\n\r\n{",
		"PUT /v1/search HTTP/1.1\r\nHost: jukitermd\r\nContent-Length: 1000\r\n\r\n{",
	} {
		c, err := net.Dial("unix", f.socket)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprint(c, head)
		if took, ok := closedWithin(c, 5*time.Second); !ok {
			t.Errorf("%.30q…: the connection was still held after %s", head, took)
		}
	}

	c2, err := net.Dial("unix", f.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	fmt.Fprint(c2, "GET /v1/health HTTP/1.1\r\nHost: jukitermd\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c2), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	if took, ok := closedWithin(c2, 5*time.Second); !ok {
		t.Errorf("an idle connection was not closed in %s", took)
	}

	// An ingest whose body comes in pieces for 3 s (three times BodyTimeout), each
	// within StreamReadTimeout, completes.
	data := residents(t, 30)
	pr, pw := io.Pipe()
	go func() {
		lines := bytes.SplitAfter(data, []byte("\n"))
		for i, l := range lines {
			pw.Write(l)
			if i%10 == 9 {
				time.Sleep(time.Second / 2)
			}
		}
		time.Sleep(time.Second / 2)
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", "http://jukitermd/v1/ingest", pr)
	req.ContentLength = int64(len(data))
	req.Header.Set("Authorization", "Bearer "+f.cl.Token)
	began := time.Now()
	resp, err = clientFor(f.socket).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	st, err := f.st.Stats(context.Background())
	if err != nil || st.Applied != 30 || strings.Contains(string(out), `"error"`) {
		t.Fatalf("a slow but steady ingest after %s: applied %d (%v): %s", time.Since(began), st.Applied, err, out)
	}
}
