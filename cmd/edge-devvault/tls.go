package main

// -tls: a certificate authority made at start, a server certificate it
// signs for the loopback addresses, and the CA certificate in a file of a
// private temporary directory that clients are pointed at (the JSON line's
// "ca_cert"). The keys never leave the process's memory.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// certLifetime is how long the CA and the server certificate are valid:
// longer than any dev Vault runs, since both are made anew at every start.
const certLifetime = 30 * 24 * time.Hour

// devTLS is the TLS setup of one -tls run.
type devTLS struct {
	dir    string         // private temporary directory (0700) holding caFile; removed by remove
	caFile string         // the CA certificate, PEM
	roots  *x509.CertPool // the CA, for the process's own clients
	server *tls.Config    // the listener's: the server certificate, HTTP/2 offered
}

// newDevTLS makes a CA (ECDSA P-256) and a server certificate signed by it
// for 127.0.0.1, ::1, localhost and the host of listen if it is another
// loopback IP, and writes the CA certificate to a file in a new private
// temporary directory.
func newDevTLS(listen string) (d *devTLS, err error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tls: CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "edge-devvault CA", Organization: []string{"edge-devvault (throwaway)"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("tls: CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("tls: CA certificate: %w", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tls: server key: %w", err)
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if host, _, err := net.SplitHostPort(listen); err == nil {
		if ip := net.ParseIP(host); ip != nil && !ip.Equal(ips[0]) && !ip.Equal(ips[1]) {
			ips = append(ips, ip)
		}
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(certLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  ips,
		DNSNames:     []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("tls: server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, fmt.Errorf("tls: server certificate: %w", err)
	}

	dir, err := os.MkdirTemp("", "edge-devvault-tls-") // 0700
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	d = &devTLS{dir: dir, caFile: filepath.Join(dir, "ca.pem"), roots: x509.NewCertPool()}
	defer func() {
		if err != nil {
			d.remove()
		}
	}()
	pemCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	if err := os.WriteFile(d.caFile, pemCA, 0o600); err != nil {
		return nil, fmt.Errorf("tls: writing the CA certificate: %w", err)
	}
	d.roots.AddCert(ca)
	d.server = &tls.Config{
		MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{{
			Certificate: [][]byte{leafDER, caDER},
			PrivateKey:  key,
			Leaf:        leaf,
		}},
		// HTTP/2 first, as a production Vault listener offers it.
		NextProtos: []string{"h2", "http/1.1"},
	}
	return d, nil
}

// remove deletes the directory with the CA file. It is safe on nil.
func (d *devTLS) remove() {
	if d != nil {
		_ = os.RemoveAll(d.dir)
	}
}

// serial returns a random 128-bit certificate serial number.
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n
}
