package vaulterr

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/hashicorp/vault/api"
)

// ConfigError is a vault/api client configuration that cannot be used,
// found before any request: vault/api's environment (VAULT_CACERT naming
// a file that does not exist or holds no certificate, an unreadable
// VAULT_CLIENT_CERT, a VAULT_ADDR that is not a URL, ...) or the client
// it makes from it.
type ConfigError struct {
	Err error
}

// Config returns err marked as a configuration failure, or nil for nil.
func Config(err error) error {
	if err == nil {
		return nil
	}
	return &ConfigError{Err: err}
}

func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// plainToTLS is what a Go server (Vault's listener) answers, with status
// 400, to a plain HTTP request on its TLS port.
const plainToTLS = "Client sent an HTTP request to an HTTPS server."

// IsTLSOrConfig reports whether err says that the client cannot talk to
// Vault as configured, so that trying again cannot help, and that the
// request was not acted on:
//
//   - a configuration that cannot be used (a *ConfigError, an address
//     that does not parse);
//   - a server certificate that does not verify: from an unknown
//     authority, for another host name, expired or not yet valid (a
//     *tls.CertificateVerificationError, or the x509 errors it wraps);
//   - TLS spoken to a plain HTTP port (http.ErrSchemeMismatch) or to
//     anything else that does not speak TLS (a tls.RecordHeaderError);
//   - plain HTTP spoken to a TLS port: the server's 400, "Client sent an
//     HTTP request to an HTTPS server.";
//   - a TLS alert from the server, which refused the connection at the
//     TLS level: "tls: certificate required" when it requires a client
//     certificate and none was presented, "tls: bad certificate",
//     "tls: unknown certificate authority", "tls: handshake failure".
//
// With TLS 1.3 a server's refusal of the client's certificate arrives
// after the client has written its request; the server's TLS layer
// discarded it, so it still was not acted on.
func IsTLSOrConfig(err error) bool {
	if err == nil {
		return false
	}
	var (
		ce  *ConfigError
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		he  x509.HostnameError
		cie x509.CertificateInvalidError
		rhe tls.RecordHeaderError
		ae  tls.AlertError
		ue  *url.Error
	)
	switch {
	case errors.As(err, &ce), errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &he), errors.As(err, &cie),
		errors.As(err, &rhe), errors.As(err, &ae), errors.Is(err, http.ErrSchemeMismatch):
		return true
	case errors.As(err, &ue) && ue.Op == "parse":
		return true
	}
	return isRemoteAlert(err) || IsPlainToTLS(err)
}

// isRemoteAlert reports whether err is a TLS alert the peer sent:
// crypto/tls reports one as a *net.OpError whose Op is "remote error"
// (its alert type is not exported).
func isRemoteAlert(err error) bool {
	for err != nil {
		var op *net.OpError
		if !errors.As(err, &op) {
			return false
		}
		if op.Op == "remote error" {
			return true
		}
		err = op.Err
	}
	return false
}

// IsPlainToTLS reports whether err is the answer of a Go server, as
// Vault's listener is, to a plain HTTP request on its TLS port: a 400
// with a body that is not JSON, exactly "Client sent an HTTP request to
// an HTTPS server.".
func IsPlainToTLS(err error) bool {
	var re *api.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 400 || !re.RawError || len(re.Errors) != 1 {
		return false
	}
	return strings.TrimSpace(re.Errors[0]) == plainToTLS
}

// origin returns the scheme and host of rawURL (no user, path or query),
// or "" when it does not parse.
func origin(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
