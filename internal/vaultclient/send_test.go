package vaultclient

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// contextRecorder is a RoundTripper that keeps the context of every
// request it sends.
type contextRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	ctxs []context.Context
}

func (r *contextRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.ctxs = append(r.ctxs, req.Context())
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *contextRecorder) last(t *testing.T) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.ctxs)
	return r.ctxs[len(r.ctxs)-1]
}

// TestSendOwnsTheContext: while read runs, the request's context is
// live (its body can be read whole); once Send returns, it is cancelled,
// whether read consumed the body, abandoned it, or got an error. The
// caller's context is untouched.
func TestSendOwnsTheContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("fail") != "" {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"errors":["permission denied"]}`)
			return
		}
		assert.Equal(t, "300s", r.Header.Get("X-Vault-Wrap-TTL"))
		_, _ = io.WriteString(w, `{"data":{"k":"v"}}`)
	}))
	defer srv.Close()
	rec := &contextRecorder{next: http.DefaultTransport}
	cfg := api.DefaultConfig()
	cfg.Address = srv.URL
	cfg.HttpClient = &http.Client{Transport: rec}
	c, err := api.NewClient(cfg)
	require.NoError(t, err)

	tests := []struct {
		name string
		req  Request
		read func(t *testing.T, resp *api.Response, err error)
	}{
		{"body read", Request{Method: http.MethodGet, Path: "secret/data/x", WrapTTL: "300s"}, func(t *testing.T, resp *api.Response, err error) {
			require.NoError(t, err)
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.JSONEq(t, `{"data":{"k":"v"}}`, string(b))
		}},
		{"body abandoned", Request{Method: http.MethodPut, Path: "sys/wrapping/unwrap", Body: []byte(`{}`), WrapTTL: "300s"}, func(t *testing.T, resp *api.Response, err error) {
			require.NoError(t, err)
		}},
		{"vault refused", Request{Method: http.MethodGet, Path: "secret/data/x", Query: map[string][]string{"fail": {"1"}}}, func(t *testing.T, resp *api.Response, err error) {
			require.Error(t, err)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			caller, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := Send(caller, c, tt.req, func(resp *api.Response, err error) (struct{}, error) {
				assert.NoError(t, rec.last(t).Err(), "the request's context is live while read runs")
				tt.read(t, resp, err)
				return struct{}{}, nil
			})
			require.NoError(t, err)
			assert.Error(t, rec.last(t).Err(), "the request's context is cancelled once Send returns")
			assert.NoError(t, caller.Err())
		})
	}
}
