package main

// -tls: a certificate authority made at start, a server certificate it
// signs for the loopback addresses, and the CA certificate in a file of a
// private temporary directory that clients are pointed at (the JSON line's
// "ca_cert"). The CA's and the server's keys never leave the process's
// memory.
//
// -tls-client-auth adds a second CA, for clients: the server requires and
// verifies a client certificate signed by it, and one such certificate
// and its key are written to the same directory (the JSON line's
// "client_cert" and "client_key") for the clients to present. The client
// CA's key never leaves memory either.

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

// The files in devTLS.dir.
const (
	caFileName         = "ca.pem"
	clientCertFileName = "client.pem"
	clientKeyFileName  = "client-key.pem"
)

// certLifetime is how long the CA and the server certificate are valid:
// longer than any dev Vault runs, since both are made anew at every start.
const certLifetime = 30 * 24 * time.Hour

// devTLS is the TLS setup of one -tls run.
type devTLS struct {
	dir    string         // private temporary directory (0700) holding the files; removed by remove
	caFile string         // the CA certificate, PEM
	roots  *x509.CertPool // the CA, for the process's own clients
	server *tls.Config    // the listener's: the server certificate, HTTP/2 offered
	// client is the TLS configuration of the process's own clients:
	// roots, and with -tls-client-auth the client certificate.
	client *tls.Config

	// With -tls-client-auth: the client certificate (PEM) and its key
	// (PEM, PKCS #8, file mode 0600); "" otherwise.
	clientCertFile string
	clientKeyFile  string
}

// newDevTLS makes a CA (ECDSA P-256) and a server certificate signed by it
// for 127.0.0.1, ::1, localhost and the host of listen if it is another
// loopback IP, and writes the CA certificate to a file in a new private
// temporary directory. With clientAuth, the server also requires and
// verifies a client certificate signed by a second CA made here, and one
// such certificate and its key go to files in that directory.
func newDevTLS(listen string, clientAuth bool) (d *devTLS, err error) {
	now := time.Now()
	ca, caDER, caKey, err := newCA("edge-devvault CA", now)
	if err != nil {
		return nil, err
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
	d = &devTLS{dir: dir, caFile: filepath.Join(dir, caFileName), roots: x509.NewCertPool()}
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
	d.client = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: d.roots}
	if clientAuth {
		if err := d.requireClientCert(now); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// requireClientCert makes a client CA and sets d.server to require and
// verify a client certificate it signed; it makes one such certificate
// for the process's own clients (d.client) and writes it and its key to
// files in d.dir for the others.
func (d *devTLS) requireClientCert(now time.Time) error {
	ca, _, caKey, err := newCA("edge-devvault client CA", now)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("tls: client key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "edge-devvault client", Organization: []string{"edge-devvault (throwaway)"}},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(certLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("tls: client certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("tls: client key: %w", err)
	}
	d.clientCertFile = filepath.Join(d.dir, clientCertFileName)
	d.clientKeyFile = filepath.Join(d.dir, clientKeyFileName)
	// The key first, so that no certificate file names a key that is
	// not there yet; both 0600 in the 0700 directory.
	if err := os.WriteFile(d.clientKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("tls: writing the client key: %w", err)
	}
	if err := os.WriteFile(d.clientCertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("tls: writing the client certificate: %w", err)
	}

	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(ca)
	d.server.ClientAuth = tls.RequireAndVerifyClientCert
	d.server.ClientCAs = clientCAs
	d.client.Certificates = []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}
	return nil
}

// newCA makes a self-signed CA certificate (ECDSA P-256) named name,
// valid from a minute before now for certLifetime, that signs end-entity
// certificates only.
func newCA(name string, now time.Time) (ca *x509.Certificate, der []byte, key *ecdsa.PrivateKey, err error) {
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("tls: %s key: %w", name, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"edge-devvault (throwaway)"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("tls: %s certificate: %w", name, err)
	}
	ca, err = x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("tls: %s certificate: %w", name, err)
	}
	return ca, der, key, nil
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
