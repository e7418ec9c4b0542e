package vaulttest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TLS alerts (RFC 8446, section 6) that the server sends when it refuses
// a client's certificate.
const (
	alertUnknownCA           = 48  // a certificate that no CA the server trusts signed
	alertCertificateRequired = 116 // no certificate (TLS 1.3)
)

// TestTLSClientAuth starts the dev Vault requiring client certificates
// and checks that a client presenting the certificate it made gets
// sys/health over HTTP/2, that clients presenting none or one of another
// CA are refused by the server in the TLS handshake, that Do presents the
// certificate, and that the files are private and go away with the
// server.
func TestTLSClientAuth(t *testing.T) {
	ctx := testContext(t)
	s, err := Start(ctx, Options{TLSClientAuth: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	require.True(t, strings.HasPrefix(s.Addr, "https://127.0.0.1:"), s.Addr)
	require.NotEmpty(t, s.CACert)
	require.NotEmpty(t, s.ClientCert)
	require.NotEmpty(t, s.ClientKey)
	dir := filepath.Dir(s.CACert)
	assert.Equal(t, dir, filepath.Dir(s.ClientCert))
	assert.Equal(t, dir, filepath.Dir(s.ClientKey))
	fi, err := os.Stat(s.ClientKey)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the client key is private")

	roots, err := loadCA(s.CACert)
	require.NoError(t, err)
	cert, err := tls.LoadX509KeyPair(s.ClientCert, s.ClientKey)
	require.NoError(t, err)
	foreign := selfSignedClientCert(t)

	clients := []struct {
		name  string
		cfg   *tls.Config
		alert uint8 // the alert the server answers a TLS 1.3 handshake with; 0: none
	}{
		{"the client certificate", &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}, 0},
		{"no client certificate", &tls.Config{RootCAs: roots}, alertCertificateRequired},
		{"a client certificate of another CA", &tls.Config{
			RootCAs: roots,
			// Sent although the server asks for its own CA's (Go's
			// client would send none), as other clients do.
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &foreign, nil },
		}, alertUnknownCA},
	}
	for _, tt := range clients {
		t.Run(tt.name, func(t *testing.T) {
			tr := &http.Transport{TLSClientConfig: tt.cfg, ForceAttemptHTTP2: true}
			defer tr.CloseIdleConnections()
			resp, err := sysHealth(ctx, &http.Client{Transport: tr}, s.Addr)
			if tt.alert == 0 {
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Equal(t, 2, resp.ProtoMajor, "HTTP/2 negotiated, got %s", resp.Proto)
			} else {
				// Over TLS 1.3 the client has finished its side of the
				// handshake and sent its request when the server's
				// refusal comes: net/http reports the server's alert,
				// or a write to the closed connection ("broken pipe"),
				// or, from HTTP/2, "client conn could not be
				// established", as the race goes. Only the server's
				// certificate is sure to have been trusted.
				var uerr *url.Error
				require.ErrorAs(t, err, &uerr)
				var unknown x509.UnknownAuthorityError
				var invalid x509.CertificateInvalidError
				var hostname x509.HostnameError
				assert.False(t, errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &hostname),
					"the client trusted the server's certificate: %v", err)
			}

			// The same on a bare TLS connection, where nothing is
			// written after the handshake: the server's alert always
			// arrives.
			alert, err := handshakeAndRead(ctx, s.Addr, tt.cfg)
			if tt.alert == 0 {
				assert.NoError(t, err, "the server speaks HTTP/2 first")
				return
			}
			require.Error(t, err)
			assert.Equal(t, int(tt.alert), int(alert), "the server's TLS alert: %v", err)
		})
	}

	// Do presents the certificate.
	status, _, err := s.Do(ctx, http.MethodGet, "/v1/sys/health", "", nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)

	require.NoError(t, s.Close())
	_, err = os.Stat(dir)
	assert.True(t, errors.Is(err, os.ErrNotExist), "the directory of the CA and the client certificate is removed at exit: %v", err)
}

// handshakeAndRead makes a TLS 1.3 connection to the server at addr
// (https://host:port) with cfg, offering only HTTP/2, and reads one byte
// from it without writing anything. It returns nil if the server sent
// one (its HTTP/2 SETTINGS frame: it accepted the client), else the
// error and, if that is the server's TLS alert, the alert.
func handshakeAndRead(ctx context.Context, addr string, cfg *tls.Config) (alert uint8, err error) {
	cfg = cfg.Clone()
	cfg.MinVersion = tls.VersionTLS13
	cfg.NextProtos = []string{"h2"}
	d := tls.Dialer{Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(addr, "https://"))
	if err != nil {
		return remoteAlert(err), err
	}
	defer conn.Close()
	// An HTTP/2 server speaks first (its SETTINGS frame), after the
	// handshake; with the client refused, the alert comes instead.
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return 0, err
	}
	if _, err := conn.Read(make([]byte, 1)); err != nil {
		return remoteAlert(err), err
	}
	return 0, nil
}

// remoteAlert returns the TLS alert that err reports the peer sent, or 0.
// crypto/tls reports one as a *net.OpError "remote error" whose Err is of
// its unexported alert type, a uint8: the alert's number.
func remoteAlert(err error) uint8 {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "remote error" {
		return 0
	}
	v := reflect.ValueOf(op.Err)
	if v.Kind() != reflect.Uint8 || v.Type().PkgPath() != "crypto/tls" {
		return 0
	}
	return uint8(v.Uint())
}

// selfSignedClientCert returns a client certificate that no CA of the
// dev Vault signed.
func selfSignedClientCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "stranger"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
