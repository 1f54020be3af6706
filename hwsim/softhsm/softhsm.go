// Package softhsm sets up a SoftHSM2 token in a directory: the HSM of `hardware =
// "sim"`, tests and `make run`. The token is real PKCS#11 (Debian's softhsm2), private
// to that directory.
package softhsm

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/miekg/pkcs11"
)

// Module is Debian's SoftHSM2 PKCS#11 module.
const Module = "/usr/lib/softhsm/libsofthsm2.so"

// Token is a SoftHSM2 token living in Dir.
type Token struct {
	Dir     string // holds softhsm2.conf, tokens/ and the PIN file
	Label   string
	PINFile string // the user PIN, mode 0600, never on a command line of ours
}

// Conf is the SoftHSM2 configuration of the token's directory; SOFTHSM2_CONF must
// name it in the process that loads the module.
func (t Token) Conf() string { return filepath.Join(t.Dir, "softhsm2.conf") }

// URI names the token as an RFC 7512 PKCS#11 URI with its PIN file and module.
func (t Token) URI() string {
	return fmt.Sprintf("pkcs11:token=%s?module-path=%s&pin-source=file:%s", t.Label, Module, t.PINFile)
}

// Use points this process's SoftHSM2 at the token (SOFTHSM2_CONF).
func (t Token) Use() error { return os.Setenv("SOFTHSM2_CONF", t.Conf()) }

// Create initialises a new token labelled label in dir, with random SO and user PINs
// (the user PIN is written to dir/user.pin, the SO PIN is not kept).
func Create(dir, label string) (Token, error) {
	t := Token{Dir: dir, Label: label, PINFile: filepath.Join(dir, "user.pin")}
	if _, err := os.Stat(Module); err != nil {
		return t, fmt.Errorf("SoftHSM2 is not installed (%s missing): run `make deps` (Debian package softhsm2)", Module)
	}
	if _, err := os.Stat(t.PINFile); err == nil {
		return t, fmt.Errorf("%s already holds a token", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "tokens"), 0o700); err != nil {
		return t, err
	}
	conf := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", filepath.Join(dir, "tokens"))
	if err := os.WriteFile(t.Conf(), []byte(conf), 0o600); err != nil {
		return t, err
	}
	userPIN, soPIN := randomPIN(), randomPIN()
	if err := t.Use(); err != nil {
		return t, err
	}
	if err := initToken(label, soPIN, userPIN); err != nil {
		return t, err
	}
	if err := os.WriteFile(t.PINFile, []byte(userPIN), 0o600); err != nil {
		return t, errors.Join(err, os.RemoveAll(filepath.Join(dir, "tokens")))
	}
	return t, nil
}

// initToken initialises a free slot's token through PKCS#11 itself (C_InitToken,
// C_InitPIN), so that no PIN ever stands on a command line.
func initToken(label, soPIN, userPIN string) error {
	p := pkcs11.New(Module)
	if p == nil {
		return fmt.Errorf("cannot load %s", Module)
	}
	defer p.Destroy()
	if err := p.Initialize(); err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		return fmt.Errorf("C_Initialize: %w", err)
	}
	defer p.Finalize()
	slots, err := p.GetSlotList(true)
	if err != nil {
		return fmt.Errorf("C_GetSlotList: %w", err)
	}
	for _, slot := range slots {
		info, err := p.GetTokenInfo(slot)
		if err != nil || info.Flags&pkcs11.CKF_TOKEN_INITIALIZED != 0 {
			continue
		}
		if err := p.InitToken(slot, soPIN, label); err != nil {
			return fmt.Errorf("C_InitToken: %w", err)
		}
		// SoftHSM2 moves an initialised token to a new slot: find it by label.
		return initUserPIN(p, label, soPIN, userPIN)
	}
	return errors.New("SoftHSM2 has no free slot")
}

func initUserPIN(p *pkcs11.Ctx, label, soPIN, userPIN string) error {
	slots, err := p.GetSlotList(true)
	if err != nil {
		return fmt.Errorf("C_GetSlotList: %w", err)
	}
	for _, slot := range slots {
		info, err := p.GetTokenInfo(slot)
		if err != nil || info.Label != label {
			continue
		}
		se, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
		if err != nil {
			return fmt.Errorf("C_OpenSession: %w", err)
		}
		defer p.CloseSession(se)
		if err := p.Login(se, pkcs11.CKU_SO, soPIN); err != nil {
			return fmt.Errorf("C_Login (SO): %w", err)
		}
		defer p.Logout(se)
		if err := p.InitPIN(se, userPIN); err != nil {
			return fmt.Errorf("C_InitPIN: %w", err)
		}
		return nil
	}
	return fmt.Errorf("the token %q is not to be found after C_InitToken", label)
}

// Open finds the token an earlier Create made in dir.
func Open(dir, label string) (Token, error) {
	t := Token{Dir: dir, Label: label, PINFile: filepath.Join(dir, "user.pin")}
	if _, err := os.Stat(t.PINFile); err != nil {
		if es, _ := os.ReadDir(filepath.Join(dir, "tokens")); len(es) > 0 {
			return t, fmt.Errorf("the simulated HSM's PIN file %s is missing, so its token in %s cannot be opened: put the file back from a copy of the state directory, or make a new state with `jukiterm init --state`: %w", t.PINFile, dir, err)
		}
		return t, fmt.Errorf("no SoftHSM2 token in %s (make a new state with `jukiterm init --state`): %w", dir, err)
	}
	return t, nil
}

func randomPIN() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
