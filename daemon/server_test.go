package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jukiterm/daemon/api"
	"jukiterm/daemon/client"
	"jukiterm/hwsim/load"
	"jukiterm/store"
	"jukiterm/store/record"
)

type fixture struct {
	st     *store.Store
	srv    *Server
	socket string
	cl     *client.Client
	done   chan error
}

func start(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "jukiterm.db")
	if err := store.Create(db); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(db, store.Options{CacheMiB: 16, Keys: store.EphemeralKeys()})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, socket: filepath.Join(dir, "jukiterm.sock"), done: make(chan error, 1)}
	l, err := Listen(f.socket)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = New(st, testLogger(t, io.Discard, nil))
	go func() { f.done <- f.srv.Serve(l) }()
	f.cl = client.New(f.socket)
	f.cl.Token = f.srv.sessions.open("tester", os.Getuid(), rightsOf(staffRoles()...))
	t.Cleanup(func() {
		f.srv.Shutdown(context.Background())
		st.Close()
	})
	return f
}

func residents(t testing.TB, n int) []byte {
	var b bytes.Buffer
	if err := load.WriteResidents(&b, 3, n, record.Akita()); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSocketMode(t *testing.T) {
	f := start(t)
	fi, err := os.Stat(f.socket)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket mode %v, want a socket with 0660", fi.Mode())
	}
	if _, err := Listen(f.socket); err == nil {
		t.Fatal("a second daemon could listen on a socket that is being served")
	}
}

func TestAPIRoundTrip(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	data := residents(t, 50)
	data = append(data, []byte("{not json\n")...)
	var progress []api.Progress
	res, err := f.cl.Ingest(ctx, data, func(p api.Progress) { progress = append(progress, p) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 50 || res.Rejected != 1 || res.Rejections[0].Line != 51 || res.Rejections[0].Rule != "bad-format" {
		t.Fatalf("ingest: %+v", res)
	}
	if len(progress) == 0 || progress[len(progress)-1].Lines != 51 || progress[0].Total != 51 {
		t.Fatalf("progress events: %+v", progress)
	}
	var first map[string]any
	json.Unmarshal(bytes.SplitN(data, []byte("\n"), 2)[0], &first)
	code := first["resident_code"].(string)
	p, err := f.cl.Show(ctx, code, true)
	if err != nil || p.ResidentCode != code || p.History == nil {
		t.Fatalf("show: %+v %v", p, err)
	}
	got, err := f.cl.Search(ctx, store.Query{Kana: first["name_kana"].(string), Birth: first["birth"].(string)})
	if err != nil || len(got) == 0 {
		t.Fatalf("search: %v %v", got, err)
	}
	st, err := f.cl.Stats(ctx)
	if err != nil || st.Current != 50 || st.Rejected != 1 {
		t.Fatalf("stats: %+v %v", st, err)
	}
	_, err = f.cl.Show(ctx, "99999999999", false)
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Kind != api.KindNotFound {
		t.Fatalf("show of an unknown code: %v", err)
	}
	_, err = f.cl.Search(ctx, store.Query{Sex: 1})
	if !errors.As(err, &ae) || ae.Kind != api.KindBadRequest {
		t.Fatalf("a search with too little: %v", err)
	}
}

func TestUnknownCallDenied(t *testing.T) {
	f := start(t)
	hc := clientFor(f.socket)
	for _, c := range []struct{ method, path string }{{"GET", "/v1/nothing"}, {"DELETE", "/v1/persons/12000000001"}, {"GET", "/v2/stats"}} {
		req, _ := http.NewRequest(c.method, "http://jukitermd"+c.path, nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 4 {
			t.Errorf("%s %s answered %s", c.method, c.path, resp.Status)
		}
	}
}

func TestNoPeerNoService(t *testing.T) {
	s := New(nil, testLogger(t, io.Discard, nil))
	token := s.sessions.open("tester", 0, rightsOf(staffRoles()...))
	req, _ := http.NewRequest("GET", "/v1/stats", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if _, err := s.authorize(req, actStats); err == nil {
		t.Fatal("a request without peer credentials was authorised")
	}
	req = req.WithContext(context.WithValue(req.Context(), peerKey{}, Peer{Known: true}))
	if _, err := s.authorize(req, actStats); err != nil {
		t.Fatalf("a known peer was refused: %v", err)
	}
	if _, err := s.authorize(req, action("export-everything")); err == nil {
		t.Fatal("an action missing from the policy was authorised")
	}
}

// TestShutdownDuringIngest sends SIGTERM's equivalent in the middle of a large ingest:
// the client gets what is durable, and the same file again completes it.
func TestShutdownDuringIngest(t *testing.T) {
	f := start(t)
	data := residents(t, 20000)
	started := make(chan struct{})
	var once bool
	type out struct {
		res store.IngestResult
		err error
	}
	ch := make(chan out, 1)
	go func() {
		res, err := f.cl.Ingest(context.Background(), data, func(api.Progress) {
			if !once {
				once = true
				close(started)
			}
		})
		ch <- out{res, err}
	}()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("no progress")
	}
	if err := f.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	o := <-ch
	var ae *api.Error
	if !errors.As(o.err, &ae) || ae.Kind != api.KindShutdown {
		t.Fatalf("ingest during shutdown: %+v %v", o.res, o.err)
	}
	if o.res.Applied == 0 || o.res.Applied >= 20000 {
		t.Fatalf("applied %d: the shutdown did not land during the ingest", o.res.Applied)
	}
	st, err := f.st.Stats(context.Background())
	if err != nil || st.Applied != int64(o.res.Applied) {
		t.Fatalf("durable %d, acknowledged %d (%v)", st.Applied, o.res.Applied, err)
	}
	// Restart on the same store: the same file resumes and completes.
	l, err := Listen(f.socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := New(f.st, testLogger(t, io.Discard, nil))
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())
	f.cl.Token = srv.sessions.open("tester", os.Getuid(), rightsOf(store.RoleAdministrator))
	res, err := f.cl.Ingest(context.Background(), data, nil)
	if err != nil || res.Applied != 20000 || res.ResumedAfterLine != o.res.Applied {
		t.Fatalf("after restart: %+v %v (first run applied %d)", res, err, o.res.Applied)
	}
}

// TestLogsCarryNoPersonalValues runs ingest (with a rejection), search, show and stats
// and checks that no name, kana, code, number, address or birth date reaches the log.
func TestLogsCarryNoPersonalValues(t *testing.T) {
	var logs bytes.Buffer
	f := start(t)
	f.srv.log = testLogger(t, &logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	ctx := context.Background()
	data := residents(t, 20)
	var first map[string]any
	json.Unmarshal(bytes.SplitN(data, []byte("\n"), 2)[0], &first)
	bad := bytes.Replace(bytes.SplitN(data, []byte("\n"), 2)[0], []byte(`"R`), []byte(`"X`), 1) // same person, new id
	if _, err := f.cl.Ingest(ctx, append(data, append(bad, '\n')...), nil); err != nil {
		t.Fatal(err)
	}
	code := first["resident_code"].(string)
	f.cl.Show(ctx, code, true)
	f.cl.Search(ctx, store.Query{Kana: first["name_kana"].(string), Birth: first["birth"].(string)})
	f.cl.Search(ctx, store.Query{Number: first["my_number"].(string)})
	f.cl.Stats(ctx)
	if logs.Len() == 0 {
		t.Fatal("nothing was logged")
	}
	for _, k := range []string{"resident_code", "my_number", "name", "name_kana", "address", "birth"} {
		v := first[k].(string)
		surname, _, _ := strings.Cut(v, "　")
		if strings.Contains(logs.String(), v) || strings.Contains(logs.String(), surname) {
			t.Errorf("the log holds %s (%q):\n%s", k, v, logs.String())
		}
	}
}
