// Package simpeer keeps a simulated peer's link identity (an ECDSA key and a
// self-signed certificate) in a directory, and reads the terminal's link certificate
// to pin it: the identities of `jukiterm sim cs` and `jukiterm sim national`.
package simpeer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"jukiterm/daemon/link"
)

// Identity loads the peer's key and certificate from dir, making them the first time.
// It returns the identity and the certificate's path (for `jukiterm peer add --cert`).
func Identity(dir, name string) (link.Identity, string, error) {
	keyPath, certPath := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return link.Identity{}, "", err
	}
	kb, err := os.ReadFile(keyPath)
	if errors.Is(err, os.ErrNotExist) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return link.Identity{}, "", err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return link.Identity{}, "", err
		}
		c, err := link.SelfSigned(k, name, time.Now().AddDate(5, 0, 0))
		if err != nil {
			return link.Identity{}, "", err
		}
		if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return link.Identity{}, "", err
		}
		if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c}), 0o644); err != nil {
			return link.Identity{}, "", err
		}
		return link.Identity{Certificate: c, Key: k}, certPath, nil
	}
	if err != nil {
		return link.Identity{}, "", err
	}
	kblk, _ := pem.Decode(kb)
	if kblk == nil {
		return link.Identity{}, "", fmt.Errorf("%s is not a PEM key", keyPath)
	}
	key, err := x509.ParsePKCS8PrivateKey(kblk.Bytes)
	if err != nil {
		return link.Identity{}, "", fmt.Errorf("%s: %w", keyPath, err)
	}
	signer, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return link.Identity{}, "", fmt.Errorf("%s is not an ECDSA key", keyPath)
	}
	cb, err := os.ReadFile(certPath)
	if err != nil {
		return link.Identity{}, "", err
	}
	cblk, _ := pem.Decode(cb)
	if cblk == nil {
		return link.Identity{}, "", fmt.Errorf("%s is not a PEM certificate", certPath)
	}
	return link.Identity{Certificate: cblk.Bytes, Key: signer}, certPath, nil
}

// TerminalPin reads the terminal's link certificate (link_cert, made by jukitermd at
// its first start) and pins it as the terminal.
func TerminalPin(certPath string) (*link.PinSet, error) {
	b, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("the terminal's link certificate %s cannot be read (jukitermd makes it at its first start): %w", certPath, err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s is not a PEM certificate", certPath)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, err
	}
	return link.NewPinSet([]link.Pin{{Name: "terminal", Role: link.RoleTerminal, SPKISHA256: sha256.Sum256(c.RawSubjectPublicKeyInfo)}})
}
