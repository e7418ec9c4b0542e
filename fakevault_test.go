package edge_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
)

// A fake Vault (httptest) for the races and faults a real Vault cannot
// be made to show on demand: an answer cut at a chosen byte, an unwrap
// that completes after its answer was dropped, a node whose clock is
// off. It answers what edge.NewSession asks (lookup-self, with entity
// fakeEntity; the mount check, with 403, which NewSession leaves to the
// requests that follow) and hands every other request to handle.

const fakeEntity = "fake-entity"

type fakeVault struct {
	*httptest.Server
}

// newFakeVault starts a fake Vault over plain HTTP, or, with tls, over
// TLS with HTTP/2 offered, as production Vaults serve.
func newFakeVault(t *testing.T, tls bool, handle http.HandlerFunc) *fakeVault {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/auth/token/lookup-self":
			writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"entity_id": fakeEntity, "ttl": 3600}})
		case "/v1/sys/internal/ui/mounts/secret":
			writeJSON(w, http.StatusForbidden, map[string]any{"errors": []string{"permission denied"}})
		default:
			handle(w, r)
		}
	}))
	if tls {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return &fakeVault{srv}
}

// client returns a vault/api client of the fake Vault with short retry
// waits; over TLS it trusts the fake's certificate and speaks HTTP/2, as
// vault/api's DefaultConfig does with a Vault's CA.
func (f *fakeVault) client(t *testing.T) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	require.NoError(t, cfg.Error)
	cfg.Address = f.URL
	cfg.MaxRetries, cfg.MinRetryWait, cfg.MaxRetryWait = 2, 5*time.Millisecond, 20*time.Millisecond
	if f.TLS != nil {
		pool := x509.NewCertPool()
		pool.AddCert(f.Certificate())
		cfg.HttpClient.Transport.(*http.Transport).TLSClientConfig.RootCAs = pool
	}
	c, err := api.NewClient(cfg)
	require.NoError(t, err)
	c.SetToken("fake-token")
	return c
}

// session returns a session of the fake Vault on org "acme".
func (f *fakeVault) session(t *testing.T) *edge.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := edge.NewSession(ctx, edge.Config{Client: f.client(t), Org: "acme"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sess.Close() })
	return sess
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// dropAnswer closes the connection of r without an answer, after the
// request was read: a lost answer, as a crash or a proxy's timeout gives.
func dropAnswer(t *testing.T, w http.ResponseWriter) {
	t.Helper()
	_ = http.NewResponseController(w).EnableFullDuplex()
	conn, _, err := http.NewResponseController(w).Hijack()
	require.NoError(t, err)
	_ = conn.Close()
}

// kvRead is the body of a KV v2 read of version, created at created.
func kvRead(data map[string]any, version int, created time.Time) map[string]any {
	return map[string]any{"data": map[string]any{"data": data, "metadata": map[string]any{
		"version": version, "created_time": created.UTC().Format(time.RFC3339Nano), "deletion_time": "", "destroyed": false,
	}}}
}

func drainRequest(r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }
