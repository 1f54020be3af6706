package link

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"jukiterm/hsm"
	"jukiterm/hwsim/softhsm"
)

// TestHSMKeyOnTheLink: the terminal's side of the TLS handshake signs with the
// non-extractable jukiterm-tls key in the HSM (SoftHSM2 through crypto11), as in
// production, towards a CS and towards the national server.
func TestHSMKeyOnTheLink(t *testing.T) {
	st, err := softhsm.Create(t.TempDir(), "jukiterm-link")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Use(); err != nil {
		t.Fatal(err)
	}
	tok, err := hsm.Open(st.URI())
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	if err := tok.GenerateKeys(); err != nil {
		t.Fatal(err)
	}
	key, err := tok.TLSSigner()
	if err != nil {
		t.Fatal(err)
	}
	der, err := SelfSigned(key, "秋田県 terminal", time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t)
	w.terminal = makeParty(t, Identity{Certificate: der, Key: key})
	w.peerPins = pins(t, Pin{Name: "秋田県 terminal", Role: RoleTerminal, SPKISHA256: w.terminal.fp})

	// A CS connects to the terminal.
	addr, acc := serve(t, serverConfig(t, w.terminal.id, Policy{Pins: w.terminalPins, Role: RoleCS}))
	cc, err := Dial(context.Background(), addr, clientConfig(t, w.cs.id, Policy{Pins: w.peerPins, Role: RoleTerminal}))
	if err != nil {
		t.Fatal(err)
	}
	cc.Close()
	if a := wait(t, acc); a.err != nil {
		t.Fatal(a.err)
	}
	// The terminal connects to the national server.
	addr, acc = serve(t, serverConfig(t, w.national.id, Policy{Pins: w.peerPins, Role: RoleTerminal}))
	cc, err = Dial(context.Background(), addr, clientConfig(t, w.terminal.id, Policy{Pins: w.terminalPins, Role: RoleNational}))
	if err != nil {
		t.Fatal(err)
	}
	cc.Close()
	if a := wait(t, acc); a.err != nil {
		t.Fatal(a.err)
	}
}

// TestFingerprintAsOpenSSL: the fingerprint is what openssl computes from the
// certificate, so an operator can check it with openssl alone, and it parses back from
// the form read over the telephone.
func TestFingerprintAsOpenSSL(t *testing.T) {
	p := newParty(t, "cs", yearFrom, yearTo)
	pemFile := t.TempDir() + "/cert.pem"
	if err := writePEM(pemFile, p.id.Certificate); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", "-c", "openssl x509 -in "+pemFile+" -pubkey -noout | openssl pkey -pubin -outform der | sha256sum").Output()
	if err != nil {
		t.Fatal(err)
	}
	fromOpenSSL, err := ParseFingerprint(strings.Fields(string(out))[0])
	if err != nil || fromOpenSSL != p.fp {
		t.Fatalf("openssl says %s, link says %s (%v)", out, FormatFingerprint(p.fp), err)
	}
	spoken := FormatFingerprint(p.fp)
	if len(strings.Fields(spoken)) != 16 {
		t.Fatalf("%q is not 16 groups", spoken)
	}
	for _, s := range []string{spoken, strings.ToUpper(spoken), "sha256:" + strings.ReplaceAll(spoken, " ", ""), strings.ReplaceAll(spoken, " ", ":")} {
		if got, err := ParseFingerprint(s); err != nil || got != p.fp {
			t.Errorf("ParseFingerprint(%q) = %x, %v", s, got, err)
		}
	}
	if got, err := CertificateFingerprint(p.id.Certificate); err != nil || got != p.fp {
		t.Errorf("CertificateFingerprint = %x, %v", got, err)
	}
	for _, bad := range []string{"", "3f2a", spoken + " 00", "zz" + spoken[2:]} {
		if _, err := ParseFingerprint(bad); err == nil {
			t.Errorf("ParseFingerprint(%q) accepted", bad)
		}
	}
}

func writePEM(path string, der []byte) error {
	return os.WriteFile(path, CertificatePEM(der), 0o600)
}
