// Package tlstest makes the odd TLS servers the tests of bad TLS need:
// certificates from a CA made on the spot (an unknown CA, another
// hostname, an expired certificate), a server that requires a client
// certificate, and a count of the connections each server accepted, so
// that a test sees whether the client tried again.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// CA is a certificate authority made for one test.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// NewCA makes a CA.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "edge test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// File writes the CA's certificate to a file in t's temporary directory
// and returns its path, for VAULT_CACERT.
func (ca *CA) File(t testing.TB) string {
	t.Helper()
	return WriteFile(t, "ca.pem", ca.pem)
}

// Pool returns a pool holding the CA's certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Leaf is what a certificate Issue makes is valid for.
type Leaf struct {
	DNSNames []string // none: 127.0.0.1 only
	Expired  bool     // valid until an hour ago
	Client   bool     // a client certificate rather than a server's
}

// Issue returns a certificate signed by ca for l.
func (ca *CA) Issue(t testing.TB, l Leaf) tls.Certificate {
	t.Helper()
	key := newKey(t)
	notAfter := time.Now().Add(24 * time.Hour)
	if l.Expired {
		notAfter = time.Now().Add(-time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: "edge test"},
		NotBefore:    time.Now().Add(-2 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     l.DNSNames,
	}
	if l.Client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	if len(l.DNSNames) == 0 {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// Server is an httptest server that counts the connections it accepted.
type Server struct {
	*httptest.Server
	conns atomic.Int64
}

// Conns returns the number of connections the server accepted.
func (s *Server) Conns() int { return int(s.conns.Load()) }

// NewTLSServer starts a TLS server presenting cert, with cfg's other
// settings if cfg is not nil, answering every request with handler (a
// 200 with "{}" when nil). It is closed when t ends.
func NewTLSServer(t testing.TB, cert tls.Certificate, cfg *tls.Config, handler http.Handler) *Server {
	t.Helper()
	s := newServer(t, handler)
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg.Certificates = []tls.Certificate{cert}
	s.TLS = cfg
	s.StartTLS()
	return s
}

// NewPlainServer starts a server without TLS, as NewTLSServer.
func NewPlainServer(t testing.TB, handler http.Handler) *Server {
	t.Helper()
	s := newServer(t, handler)
	s.Start()
	return s
}

func newServer(t testing.TB, handler http.Handler) *Server {
	if handler == nil {
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("{}"))
		})
	}
	s := &Server{Server: httptest.NewUnstartedServer(handler)}
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failures are the point
	t.Cleanup(s.Close)
	return s
}

// WriteFile writes content to a file named name in t's temporary
// directory and returns its path.
func WriteFile(t testing.TB, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
