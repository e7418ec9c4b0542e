package edgetest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
)

// namespaceHeader is the header vault/api sends a namespace in.
const namespaceHeader = "X-Vault-Namespace"

// TestConfigIgnoresVaultNamespace checks the package documentation's
// promise for the sessions edgetest gives or configures: a developer's
// VAULT_NAMESPACE (and VAULT_WRAP_TTL) never reaches the test Vault.
// The dev Vault (Vault OSS) ignores a namespace header, so the sessions
// work either way there; an Enterprise Vault would look in that
// namespace. The check is therefore at the wire, through a recording
// proxy, and on the Config's client.
func TestConfigIgnoresVaultNamespace(t *testing.T) {
	v := edgetest.Start(t)
	t.Setenv(api.EnvVaultNamespace, "edgetest-not-a-namespace")
	t.Setenv(api.EnvVaultWrapTTL, "30s")
	ctx := context.Background()
	u := v.NewUser(t)

	// Every request also goes through a proxy that records whether it
	// carried a namespace.
	target, err := url.Parse(v.Addr())
	require.NoError(t, err)
	var (
		mu        sync.Mutex
		requests  int
		namespace []string
	)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		if ns := r.Header.Get(namespaceHeader); ns != "" {
			namespace = append(namespace, r.Method+" "+r.URL.Path)
		}
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()

	newSession := func(t *testing.T, cfg edge.Config) *edge.Session {
		sess, err := edge.NewSession(ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = sess.Close() })
		return sess
	}
	tests := []struct {
		name    string
		session func(t *testing.T) *edge.Session
	}{
		{"edge.NewSession with Config", func(t *testing.T) *edge.Session { return newSession(t, v.Config(u, "")) }},
		{"edge.NewSession with Config, through the proxy", func(t *testing.T) *edge.Session {
			cfg := v.Config(u, "")
			cfg.Address = srv.URL
			return newSession(t, cfg)
		}},
		{"Session", func(t *testing.T) *edge.Session { return v.Session(t, u, "") }},
		{"NewSession", func(t *testing.T) *edge.Session { return v.NewSession(t, edge.Config{Token: u.Token}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess := tt.session(t)
			name := edgetest.UniqueName("ns")
			want := edge.Secret{"k": "v"}
			require.NoError(t, sess.Secrets.CreateUserSecret(ctx, name, want))
			got, err := sess.Secrets.ReadUserSecret(ctx, name)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			// VAULT_WRAP_TTL would have wrapped the read's answer.
			w, err := sess.Secrets.WrapUserSecret(ctx, name)
			require.NoError(t, err)
			assert.NotEmpty(t, w.Token)
		})
	}
	mu.Lock()
	assert.NotZero(t, requests, "the proxy saw the requests")
	assert.Empty(t, namespace, "requests sent with a namespace")
	mu.Unlock()

	cfg := v.Config(u, "")
	require.NotNil(t, cfg.Client, "Config sets a client that ignores VAULT_NAMESPACE")
	assert.Empty(t, cfg.Client.Headers().Get(namespaceHeader))
	assert.Equal(t, u.Token, cfg.Client.Token())
	assert.Equal(t, v.Addr(), cfg.Client.Address())
	assert.Equal(t, v.Addr(), cfg.Address)
	assert.Equal(t, u.Token, cfg.Token)
	assert.Empty(t, cfg.Client.CurrentWrappingLookupFunc()(http.MethodGet, "secret/data/x"), "no wrapping")
}
