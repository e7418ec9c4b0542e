package edge_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/internal/tlstest"
)

// badTLSToken is the fake token the bad TLS tests give: no error may
// print it.
const badTLSToken = "hvs.BADTLS-fake-token-0123456789abcdef"

// TestBadTLSIsConfigError (issue 20, bad TLS): a session over a TLS
// setup that cannot work gets an error of kind ErrConfig, and of no
// other kind (it was ErrUnavailable, "vault is unavailable", so the CLI
// said "try again"), naming the address and the cause, never the token,
// after exactly one attempt: not retried. The address, CA file and token
// come from the environment, as a program run in production reads them.
func TestBadTLSIsConfigError(t *testing.T) {
	ca, otherCA := tlstest.NewCA(t), tlstest.NewCA(t)
	good := ca.Issue(t, tlstest.Leaf{})
	tests := []struct {
		name  string
		setup func(t *testing.T) (srv *tlstest.Server, addr, caFile string)
		conns int    // connections the server sees: 1, or 0 when the client fails first
		cause string // what the error must say of the cause, besides the address
	}{
		{"unknown CA", func(t *testing.T) (*tlstest.Server, string, string) {
			srv := tlstest.NewTLSServer(t, good, nil, nil)
			return srv, srv.URL, otherCA.File(t)
		}, 1, "unknown authority"},
		{"hostname mismatch", func(t *testing.T) (*tlstest.Server, string, string) {
			srv := tlstest.NewTLSServer(t, ca.Issue(t, tlstest.Leaf{DNSNames: []string{"vault.example.com"}}), nil, nil)
			return srv, srv.URL, ca.File(t)
		}, 1, "validate certificate for 127.0.0.1"},
		{"expired certificate", func(t *testing.T) (*tlstest.Server, string, string) {
			srv := tlstest.NewTLSServer(t, ca.Issue(t, tlstest.Leaf{Expired: true}), nil, nil)
			return srv, srv.URL, ca.File(t)
		}, 1, "expired"},
		{"CA file that does not exist", func(t *testing.T) (*tlstest.Server, string, string) {
			srv := tlstest.NewTLSServer(t, good, nil, nil)
			return srv, srv.URL, filepath.Join(t.TempDir(), "missing-ca.pem")
		}, 0, "missing-ca.pem"},
		{"CA file with no certificate", func(t *testing.T) (*tlstest.Server, string, string) {
			srv := tlstest.NewTLSServer(t, good, nil, nil)
			return srv, srv.URL, tlstest.WriteFile(t, "empty-ca.pem", []byte("not a certificate\n"))
		}, 0, "empty-ca.pem"},
		{"plain HTTP to a TLS port", func(t *testing.T) (*tlstest.Server, string, string) {
			srv := tlstest.NewTLSServer(t, good, nil, nil)
			return srv, "http://" + srv.Listener.Addr().String(), ca.File(t)
		}, 1, "HTTPS server"},
		{"TLS to a plain port", func(t *testing.T) (*tlstest.Server, string, string) {
			srv := tlstest.NewPlainServer(t, nil)
			return srv, "https://" + srv.Listener.Addr().String(), ca.File(t)
		}, 1, "HTTP response to HTTPS client"},
		{"client certificate required", func(t *testing.T) (*tlstest.Server, string, string) {
			srv := tlstest.NewTLSServer(t, good, &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()}, nil)
			return srv, srv.URL, ca.File(t)
		}, 1, "certificate required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, addr, caFile := tt.setup(t)
			t.Setenv("VAULT_ADDR", addr)
			t.Setenv("VAULT_CACERT", caFile)
			t.Setenv("VAULT_TOKEN", badTLSToken)
			for _, v := range []string{"VAULT_CAPATH", "VAULT_CACERT_BYTES", "VAULT_CLIENT_CERT", "VAULT_CLIENT_KEY",
				"VAULT_SKIP_VERIFY", "VAULT_TLS_SERVER_NAME", "VAULT_MAX_RETRIES", "VAULT_AGENT_ADDR"} {
				t.Setenv(v, "")
			}

			sess, err := edge.NewSession(context.Background(), edge.Config{})
			if sess != nil {
				sess.Close()
			}
			require.Error(t, err)
			var e *edge.Error
			require.True(t, errors.As(err, &e), "an *edge.Error: %v", err)
			assert.ErrorIs(t, err, edge.ErrConfig)
			assert.NotErrorIs(t, err, edge.ErrUnavailable, "reported as if Vault were down")
			assert.Equal(t, []string{"ErrConfig"}, matchedKinds(err), "one kind")
			msg := err.Error()
			t.Log(msg)
			assert.Contains(t, msg, addr, "the error names the address")
			assert.Contains(t, msg, tt.cause, "the error names the cause")
			assert.NotContains(t, msg, badTLSToken)
			assert.NotContains(t, msg, "\n")
			assert.Equal(t, tt.conns, srv.Conns(), "connections: not retried")
		})
	}
}

// TestBadTLSWriteIsNotUnknownOutcome (issue 20, bad TLS): a create
// whose TLS handshake fails never reached Vault, so its outcome is known:
// ErrConfig after one attempt, not ErrUnknownOutcome (a failed handshake
// was counted as an answer lost after the request was written, and the
// write then retried). The server presents a certificate from an unknown
// CA from the moment the session is made.
func TestBadTLSWriteIsNotUnknownOutcome(t *testing.T) {
	ca, otherCA := tlstest.NewCA(t), tlstest.NewCA(t)
	var swapped atomic.Bool
	bad := &tls.Config{Certificates: []tls.Certificate{otherCA.Issue(t, tlstest.Leaf{})}}
	cfg := &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		if swapped.Load() {
			return bad, nil
		}
		return nil, nil
	}}
	srv := tlstest.NewTLSServer(t, ca.Issue(t, tlstest.Leaf{}), cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/auth/token/lookup-self":
			writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"entity_id": fakeEntity, "ttl": 3600}})
		case "/v1/sys/internal/ui/mounts/secret":
			writeJSON(w, http.StatusForbidden, map[string]any{"errors": []string{"permission denied"}})
		default:
			t.Errorf("request %s %s reached the server", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Setenv("VAULT_ADDR", srv.URL)
	t.Setenv("VAULT_CACERT", ca.File(t))
	t.Setenv("VAULT_TOKEN", badTLSToken)
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, edge.Config{Org: "acme"})
	require.NoError(t, err)
	require.NoError(t, sess.Close()) // its idle connection: the create makes a new one (a closed session still works)
	swapped.Store(true)
	before := srv.Conns()

	err = sess.Secrets.CreateOrgSecret(ctx, "db", edge.Secret{"password": "x"})
	require.Error(t, err)
	assert.ErrorIs(t, err, edge.ErrConfig)
	assert.Equal(t, []string{"ErrConfig"}, matchedKinds(err), "one kind")
	assert.Equal(t, 1, srv.Conns()-before, "connections: not retried")
	assert.Contains(t, err.Error(), srv.URL, "names the address")
	assert.NotContains(t, err.Error(), badTLSToken)
}
