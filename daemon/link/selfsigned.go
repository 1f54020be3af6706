package link

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// SelfSigned makes a self-signed certificate (DER) for a key, valid from now (less a
// minute of clock skew) to notAfter, for TLS client and server use. Peers pin its key,
// not the certificate, so a new certificate for the same key keeps the pin.
func SelfSigned(signer crypto.Signer, commonName string, notAfter time.Time) ([]byte, error) {
	return selfSigned(signer, commonName, time.Now().Add(-time.Minute), notAfter)
}

func selfSigned(signer crypto.Signer, commonName string, notBefore, notAfter time.Time) ([]byte, error) {
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("a certificate valid until %s would never be valid: give a later end date", notAfter.Format(time.DateOnly))
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("draw a serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("make the link certificate: %w", err)
	}
	return der, nil
}

// CertificatePEM encodes a certificate (DER) as PEM, for a peer's operator.
func CertificatePEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// ParseCertificatePEM reads one PEM certificate and gives its DER.
func ParseCertificatePEM(b []byte) ([]byte, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate (it must start with -----BEGIN CERTIFICATE-----)")
	}
	if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
		return nil, fmt.Errorf("the PEM certificate cannot be read: %w", err)
	}
	return blk.Bytes, nil
}
