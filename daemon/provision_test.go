package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"jukiterm/daemon/api"
	"jukiterm/daemon/client"
	"jukiterm/daemon/provision"
	"jukiterm/hwsim/mediasim"
	"jukiterm/hwsim/usbsim"
	"jukiterm/store"
)

// provFixture is a daemon with residents, a recipient, an application, the operators
// "tester" (the session) and "other", and a simulated bus of sticks.
type provFixture struct {
	*fixture
	sim   *mediasim.Sim
	key   *ecdsa.PrivateKey
	id    *age.X25519Identity
	codes []string
}

func startProvision(t *testing.T, persons int) *provFixture {
	t.Helper()
	f := start(t)
	ctx := context.Background()
	data := residents(t, persons)
	if _, err := f.cl.Ingest(ctx, data, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i, name := range []string{"tester", "other"} {
		if err := f.st.AddOperator(ctx, name, name, uint32(10+i), []store.Role{store.RoleProvision}, "test", "test", now); err != nil {
			t.Fatal(err)
		}
	}
	sim, err := mediasim.Start(t.TempDir(), usbsim.NewBus(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	key, _ := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err := f.srv.SetMedia(Media{Bus: sim.Bus(), Locator: sim, Approved: []string{"1209:0001"}, Signer: key, Poll: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	id, _ := age.GenerateX25519Identity()
	if _, err := f.cl.AddRecipient(ctx, store.Recipient{ID: "police", Name: "秋田県警察本部", Kind: store.RecipientBody,
		LegalBasis: "住基法 別表第5 第1号", AgeRecipient: id.Recipient().String(), Items: []string{"resident_code", "name", "birth"}}); err != nil {
		t.Fatal(err)
	}
	today := now.Format(time.DateOnly)
	if _, err := f.cl.AddApplication(ctx, store.Application{ID: "P-1", Body: "秋田県警察本部", Purpose: "本人確認",
		LegalBasis: "住基法 別表第5 第1号", Expected: persons, ValidFrom: today, ValidTo: today}); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var n struct {
			Code string `json:"resident_code"`
		}
		json.Unmarshal([]byte(l), &n)
		codes = append(codes, n.Code)
	}
	return &provFixture{fixture: f, sim: sim, key: key, id: id, codes: codes}
}

// plug attaches a stick and, with holder set, registers and issues it.
func (p *provFixture) plug(t *testing.T, spec mediasim.StickSpec, holder string) *mediasim.Stick {
	t.Helper()
	if holder != "" { // in the ledger before it is plugged in
		ctx, now := context.Background(), time.Now()
		if err := p.st.RegisterMedium(ctx, store.Medium{Serial: spec.Serial, VendorID: spec.VendorID, ProductID: spec.ProductID}, "admin", now); err != nil {
			t.Fatal(err)
		}
		if err := p.st.IssueMedium(ctx, spec.Serial, holder, "", "admin", now); err != nil {
			t.Fatal(err)
		}
	}
	k, err := p.sim.Plug(spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (p *provFixture) request(n int) []byte {
	var b strings.Builder
	b.WriteString("query_id,resident_code\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "q%d,%s\n", i, p.codes[i%len(p.codes)])
	}
	return []byte(b.String())
}

func (p *provFixture) run(serial string, req []byte) (api.ProvisionResult, error) {
	return p.cl.Provision(context.Background(), api.ProvisionRequest{Application: "P-1", Medium: serial, Request: req}, nil)
}

// lastEntry returns the newest operation-log entry with action.
func lastEntry(t *testing.T, st *store.Store, action string) *store.LogEntry {
	t.Helper()
	n := st.LogSize() // the newest entries suffice
	es, err := st.ReadLog(context.Background(), max(0, n-1000), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Action == action {
			return &es[i]
		}
	}
	return nil
}

// TestMediaPolicy: an unknown model, a composite stick (08 + 03), a CDC one, a stick
// not registered, one issued to someone else, one in stock, a retired one and a locked
// one are refused with their reason and logged; the issued stick is accepted and the
// round trip gives exactly the expected rows.
func TestMediaPolicy(t *testing.T) {
	p := startProvision(t, 50)
	ctx := context.Background()
	p.plug(t, mediasim.Unknown("UNK-1"), "")
	p.plug(t, mediasim.Composite("HID-1"), "")
	p.plug(t, mediasim.CDC("CDC-1"), "")
	p.plug(t, mediasim.Approved("NEW-1"), "")
	p.plug(t, mediasim.Approved("OTHER-1"), "other")
	stock := p.plug(t, mediasim.Approved("STOCK-1"), "tester")
	if err := p.st.ReturnMedium(ctx, stock.Serial(), "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	p.plug(t, mediasim.Approved("RET-1"), "tester")
	if err := p.st.RetireMedium(ctx, "RET-1", "reported lost", "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	locked := p.plug(t, mediasim.Approved("LOCK-1"), "tester")
	locked.Lock()
	good := p.plug(t, mediasim.Approved("GOOD-1"), "tester")
	req := p.request(20)
	for serial, code := range map[string]string{"UNK-1": "model-not-approved", "HID-1": "composite-device", "CDC-1": "composite-device",
		"NEW-1": "not-registered", "OTHER-1": "not-issued-to-you", "STOCK-1": "not-issued", "RET-1": "retired",
		"LOCK-1": "locked", "NONE-1": "not-connected"} {
		_, err := p.run(serial, req)
		var pe *client.ProvisionError
		if !errors.As(err, &pe) || pe.Err.Kind != api.KindDenied || !strings.Contains(err.Error(), "nothing was written") {
			t.Errorf("%s: %v", serial, err)
			continue
		}
		e := lastEntry(t, p.st, "provision.refused")
		if e == nil || e.Detail["medium"] != serial || e.Detail["code"] != code {
			t.Errorf("%s: logged %+v, want code %s", serial, e, code)
		}
	}
	// Registration: an unapproved model is refused; without --model the connected
	// stick's descriptor gives it; a stick neither connected nor described is refused.
	if _, err := p.cl.ChangeMedium(ctx, "register", api.MediaRequest{Serial: "X-1", Model: "0781:5567"}); err == nil || !strings.Contains(err.Error(), "approved") {
		t.Fatalf("register of an unapproved model: %v", err)
	}
	if m, err := p.cl.ChangeMedium(ctx, "register", api.MediaRequest{Serial: "NEW-1"}); err != nil || m.VendorID != 0x1209 || m.State != store.MediumInStock {
		t.Fatalf("register of a connected stick: %+v %v", m, err)
	}
	if _, err := p.cl.ChangeMedium(ctx, "register", api.MediaRequest{Serial: "X-2"}); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Fatalf("register of an absent stick without a model: %v", err)
	}
	// Shown to the operator: media list gives each connected stick's verdict.
	l, err := p.cl.Media(ctx)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, c := range l.Connected {
		allowed[c.Serial] = c.Allowed
		if !c.Allowed && c.Reason == "" {
			t.Errorf("%s refused without a reason", c.Serial)
		}
	}
	if len(allowed) != 9 || !allowed["GOOD-1"] || allowed["HID-1"] || allowed["OTHER-1"] {
		t.Fatalf("media list verdicts: %v", allowed)
	}
	// Device events: every stick plugged is in the log with its verdict.
	es, _ := p.st.ReadLog(ctx, 0, 10000)
	plugged := map[string]any{}
	for _, e := range es {
		if e.Action == "device.connected" {
			plugged[fmt.Sprint(e.Detail["serial"])] = e.Detail["refused"]
		}
	}
	if plugged["HID-1"] != "composite-device" || plugged["UNK-1"] != "model-not-approved" || plugged["GOOD-1"] != nil {
		t.Fatalf("device events: %v", plugged)
	}
	// The issued stick: accepted, and what the recipient opens is exactly the rows.
	res, err := p.run("GOOD-1", req)
	if err != nil || res.Queries != 20 || res.Matched != 20 || res.NotFound != 0 {
		t.Fatalf("provision: %+v %v", res, err)
	}
	out := filepath.Join(t.TempDir(), "out")
	sum, err := provision.Open(filepath.Join(good.VolumeDir(), res.Directory), []age.Identity{p.id}, &p.key.PublicKey, out)
	if err != nil || sum.Counts.MatchedRows != 20 {
		t.Fatalf("open: %+v %v", sum, err)
	}
	if e := lastEntry(t, p.st, "provision"); e == nil || e.Detail["provision"] != res.ID || e.Detail["manifest_sha256"] != res.ManifestSHA256 {
		t.Fatalf("the provision's log entry: %+v", e)
	}
	// The audit reconcile counts it against the application.
	day := time.Now().Format(time.DateOnly)
	rep, err := p.cl.Reconcile(ctx, day, day)
	if err != nil || len(rep.Lines) != 1 || rep.Lines[0].Provisions != 1 || rep.Lines[0].Records != 20 || rep.Lines[0].Application != "P-1" {
		t.Fatalf("reconcile: %+v %v", rep.Lines, err)
	}
}

// TestUnplugDuringWrite: the stick is pulled at random points of a large write (about
// 1 MB; 25 trials after one uninterrupted run that measures it). Whatever is left on it
// either verifies completely (the pull came after the end) or does not verify at all,
// and the terminal's log says what happened.
func TestUnplugDuringWrite(t *testing.T) {
	p := startProvision(t, 2000)
	req := p.request(25000)
	full := p.plug(t, mediasim.Approved("FULL-1"), "tester")
	waitConnected(t, p, "FULL-1")
	res, err := p.run("FULL-1", req)
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	ents, _ := filepath.Glob(filepath.Join(full.VolumeDir(), res.Directory, "*"))
	for _, e := range ents {
		if fi, err := os.Stat(e); err == nil {
			size += fi.Size()
		}
	}
	if size < 1_000_000 {
		t.Fatalf("the output is only %d bytes", size)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	complete, failed := 0, 0
	for trial := 0; trial < 25; trial++ {
		serial := fmt.Sprintf("PULL-%02d", trial)
		k := p.plug(t, mediasim.Approved(serial), "tester")
		waitConnected(t, p, serial)
		k.UnplugAfter(rng.Int64N(size + size/10))
		res, err := p.run(serial, req)
		// Whatever the medium holds now (as a recipient would find it after the pull).
		verified := 0
		dirs, _ := filepath.Glob(filepath.Join(k.VolumeDir(), provision.MediaDir, "P*"))
		for _, d := range dirs {
			if _, verr := provision.Verify(d, &p.key.PublicKey); verr == nil {
				verified++
			}
		}
		switch {
		case err == nil:
			complete++
			if verified != 1 || res.Matched != 25000 {
				t.Fatalf("trial %d: written, but %d provisions verify: %+v", trial, verified, res)
			}
		default:
			failed++
			if verified != 0 {
				t.Fatalf("trial %d: failed (%v) but a provision on the medium verifies", trial, err)
			}
			if e := lastEntry(t, p.st, "provision.failed"); e == nil || e.Detail["medium"] != serial || !strings.Contains(fmt.Sprint(e.Detail["why"]), "removed") {
				t.Fatalf("trial %d: the log does not say what happened: %+v (%v)", trial, e, err)
			}
		}
	}
	if failed < 15 {
		t.Fatalf("only %d of 25 pulls came during the write", failed)
	}
	t.Logf("%d pulled mid-write, %d complete; output %d bytes", failed, complete, size)
}

func waitConnected(t *testing.T, p *provFixture, serial string) {
	t.Helper()
	for i := 0; i < 500; i++ {
		l, _ := p.cl.Media(context.Background())
		for _, c := range l.Connected {
			if c.Serial == serial && c.Allowed {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("stick %s never became usable", serial)
}

// TestRecheckBeforeWrite: a stick retired, issued to another or replugged after the
// first check is refused by the check made just before writing; one provision at a
// time holds a stick.
func TestRecheckBeforeWrite(t *testing.T) {
	p := startProvision(t, 10)
	ctx := context.Background()
	k := p.plug(t, mediasim.Approved("RE-1"), "tester")
	waitConnected(t, p, "RE-1")
	_, dev, vol, ref := p.srv.media.find(ctx, p.st, "RE-1", "tester")
	if ref != nil {
		t.Fatal(ref)
	}
	vol.Close()
	if r := p.srv.media.recheck(ctx, p.st, dev, "tester"); r != nil {
		t.Fatalf("nothing changed: %v", r)
	}
	unlock, r := p.srv.media.claim("RE-1")
	if r != nil {
		t.Fatal(r)
	}
	if _, r := p.srv.media.claim("RE-1"); r == nil || r.Code != "busy" {
		t.Fatalf("a second claim: %v", r)
	}
	unlock()
	if err := p.st.ReturnMedium(ctx, "RE-1", "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := p.st.IssueMedium(ctx, "RE-1", "other", "", "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	if r := p.srv.media.recheck(ctx, p.st, dev, "tester"); r == nil || r.Code != "not-issued-to-you" {
		t.Fatalf("issued to another meanwhile: %v", r)
	}
	k.Unplug()
	time.Sleep(50 * time.Millisecond)
	p.sim.Plug(mediasim.Approved("RE-1"))
	time.Sleep(50 * time.Millisecond)
	if r := p.srv.media.recheck(ctx, p.st, dev, "tester"); r == nil || r.Code != "replugged" {
		t.Fatalf("replugged meanwhile: %v", r)
	}
}
