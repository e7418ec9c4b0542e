package vaulttest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTLSServer starts the dev Vault with TLS and checks that it answers
// over HTTPS with HTTP/2 negotiated to a client that trusts only its CA,
// that a client without the CA is refused, and that the CA's private
// directory goes away with the server.
func TestTLSServer(t *testing.T) {
	ctx := testContext(t)
	s, err := Start(ctx, Options{TLS: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	require.True(t, strings.HasPrefix(s.Addr, "https://127.0.0.1:"), s.Addr)
	require.NotEmpty(t, s.CACert)
	fi, err := os.Stat(filepath.Dir(s.CACert))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), "the CA's directory is private")

	roots, err := loadCA(s.CACert)
	require.NoError(t, err)
	withCA := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
	defer withCA.CloseIdleConnections()
	withoutCA := &http.Transport{ForceAttemptHTTP2: true}
	defer withoutCA.CloseIdleConnections()
	addrs := []string{s.Addr, strings.Replace(s.Addr, "127.0.0.1", "localhost", 1)}

	tests := []struct {
		name  string
		tr    *http.Transport
		addrs []string
		ok    bool
	}{
		{"trusting the CA", withCA, addrs, true},
		{"without the CA", withoutCA, addrs[:1], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, addr := range tt.addrs {
				resp, err := sysHealth(ctx, &http.Client{Transport: tt.tr}, addr)
				if !tt.ok {
					var unknown x509.UnknownAuthorityError
					assert.ErrorAs(t, err, &unknown, addr)
					continue
				}
				require.NoError(t, err, addr)
				assert.Equal(t, http.StatusOK, resp.StatusCode, addr)
				assert.Equal(t, 2, resp.ProtoMajor, "%s: HTTP/2 negotiated, got %s", addr, resp.Proto)
			}
		})
	}

	// The server's own client (Do) trusts the CA.
	status, _, err := s.Do(ctx, http.MethodGet, "/v1/sys/health", "", nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)

	require.NoError(t, s.Close())
	_, err = os.Stat(filepath.Dir(s.CACert))
	assert.True(t, errors.Is(err, os.ErrNotExist), "the CA's directory is removed at exit: %v", err)
}

func sysHealth(ctx context.Context, c *http.Client, addr string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr+"/v1/sys/health", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp, resp.Body.Close()
}

func TestTLSOptionValidated(t *testing.T) {
	for _, opts := range []Options{{TLS: true, Cluster: 3}, {TLSClientAuth: true, Cluster: 3}} {
		_, err := Start(testContext(t), opts)
		assert.Error(t, err, "%+v", opts)
	}
}
