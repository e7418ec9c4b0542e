package vaulterr

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
)

// TestIsTLSOrConfig (issue 20, bad TLS): the failures no retry can mend
// are told from Vault being unavailable, and only they.
func TestIsTLSOrConfig(t *testing.T) {
	get := func(err error) error {
		return fmt.Errorf("checking the token: %w", &url.Error{Op: "Get", URL: "https://127.0.0.1:8200/v1/auth/token/lookup-self", Err: err})
	}
	verify := func(err error) error { return get(&tls.CertificateVerificationError{Err: err}) }
	resp := func(status int, raw bool, body string) error {
		return fmt.Errorf("op: %w", &api.ResponseError{StatusCode: status, RawError: raw, Errors: []string{body}})
	}
	tests := []struct {
		name        string
		err         error
		tlsOrConfig bool
	}{
		{"unknown CA", verify(x509.UnknownAuthorityError{}), true},
		{"hostname mismatch", verify(x509.HostnameError{Host: "127.0.0.1"}), true},
		{"expired", verify(x509.CertificateInvalidError{Reason: x509.Expired}), true},
		{"x509 error alone", get(x509.UnknownAuthorityError{}), true},
		{"TLS to a plain HTTP port", get(http.ErrSchemeMismatch), true},
		{"TLS to something else", get(tls.RecordHeaderError{Msg: "tls: first record does not look like a TLS handshake"}), true},
		{"server's alert", get(&net.OpError{Op: "remote error", Net: "tcp", Err: errors.New("tls: certificate required")}), true},
		{"alert error", get(tls.AlertError(116)), true},
		{"plain HTTP to a TLS port", resp(400, true, "Client sent an HTTP request to an HTTPS server.\n"), true},
		{"configuration", fmt.Errorf("reading the vault environment: %w", Config(errors.New("Error loading CA File: Couldn't parse PEM in: /ca.pem"))), true},
		{"address that does not parse", fmt.Errorf("vault address: %w", &url.Error{Op: "parse", URL: "::", Err: errors.New("missing protocol scheme")}), true},
		{"another 400, raw", resp(400, true, "Bad Request"), false},
		{"the same words from Vault, as JSON", resp(400, false, "Client sent an HTTP request to an HTTPS server."), false},
		{"500", resp(500, false, "internal error"), false},
		{"connection refused", get(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), false},
		{"connection reset", get(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), false},
		{"deadline", get(context.DeadlineExceeded), false},
		{"local file", &fs.PathError{Op: "open", Path: "/x", Err: syscall.ENOENT}, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.tlsOrConfig, IsTLSOrConfig(tt.err), "IsTLSOrConfig")
			if tt.tlsOrConfig {
				assert.False(t, Unavailable(tt.err), "Unavailable too")
			}
		})
	}
	assert.Nil(t, Config(nil))
}

// TestDescribePlainToTLS: Go's answer to plain HTTP on a TLS port is told
// with the address it came from, where any other raw body is left out.
func TestDescribePlainToTLS(t *testing.T) {
	err := fmt.Errorf("checking the token: %w", &api.ResponseError{HTTPMethod: "GET", StatusCode: 400, RawError: true,
		URL: "http://user:pw@127.0.0.1:8200/v1/auth/token/lookup-self?x=y", Errors: []string{"Client sent an HTTP request to an HTTPS server.\n"}})
	assert.Equal(t, "checking the token: http://127.0.0.1:8200: the server answered 400: client sent an HTTP request to an HTTPS server (use https:// in the address)", Describe(err))
}
