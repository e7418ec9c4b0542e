package vaultclient

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// statusServer answers every request with status and body, counting them.
func statusServer(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func client(t *testing.T, addr string, opts ...Option) *api.Client {
	t.Helper()
	caller, err := api.NewClient(&api.Config{Address: addr, MaxRetries: 2, MinRetryWait: time.Millisecond, MaxRetryWait: time.Millisecond})
	require.NoError(t, err)
	c, err := Own(caller, opts...)
	require.NoError(t, err)
	c.SetToken("t")
	return c
}

func TestAttemptsCountsAndLost(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		attempts int
		lost     bool
	}{
		{"500 retried twice, may have reached Vault", 500, `{"errors":["boom"]}`, 3, true},
		{"sealed 503: Vault did nothing", 503, `{"errors":["Vault is sealed"]}`, 3, false},
		{"standby 503: may have been forwarded", 503, `{"errors":["local node not active but active cluster node not found"]}`, 3, true},
		{"429: refused", 429, `{"errors":["rate limit quota exceeded"]}`, 3, false},
		{"404: an answer", 404, `{"errors":[]}`, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, n := statusServer(t, tt.status, tt.body)
			c := client(t, srv.URL)
			ctx, a := Track(context.Background())
			outer := a
			ctx, a = Track(ctx) // a call inside a call reports to both
			_, err := c.Logical().ReadWithContext(ctx, "secret/data/x")
			if tt.status != 404 {
				require.Error(t, err)
			}
			assert.Equal(t, tt.attempts, a.N())
			assert.Equal(t, tt.attempts, outer.N())
			// The retries are the attempts after the first: the policy's
			// last "retry", refused by MaxRetries, is no attempt.
			assert.Equal(t, tt.attempts-1, a.Retries())
			assert.Equal(t, tt.attempts-1, outer.Retries())
			assert.Equal(t, int64(tt.attempts), n.Load())
			assert.Equal(t, tt.lost, a.Lost())
		})
	}
}

func TestTrackOnceNeverRepeatsWhatMayHaveReachedVault(t *testing.T) {
	srv, n := statusServer(t, 502, `{"errors":["bad gateway"]}`)
	c := client(t, srv.URL)
	ctx, a := TrackOnce(context.Background())
	_, err := c.Logical().WriteWithContext(ctx, "sys/wrapping/unwrap", nil)
	require.Error(t, err)
	assert.Equal(t, int64(1), n.Load())
	assert.Equal(t, 0, a.Retries())
	assert.True(t, a.Lost())

	sealed, n := statusServer(t, 503, `{"errors":["Vault is sealed"]}`)
	c = client(t, sealed.URL)
	ctx, a = TrackOnce(context.Background())
	_, err = c.Logical().WriteWithContext(ctx, "sys/wrapping/unwrap", nil)
	require.Error(t, err)
	assert.Equal(t, int64(3), n.Load(), "a sealed Vault did nothing: retried")
	assert.Equal(t, 2, a.Retries())
	assert.False(t, a.Lost())
}

func TestRetryBudget(t *testing.T) {
	srv, n := statusServer(t, 500, `{"errors":["local node not active but active cluster node not found"]}`)
	const budget = 700 * time.Millisecond
	c := client(t, srv.URL, RetryBudget(budget))
	ctx, _ := Track(context.Background())
	start := time.Now()
	_, err := c.Logical().ReadWithContext(ctx, "secret/data/x")
	took := time.Since(start)
	require.Error(t, err)
	// Waits of 0.1, 0.2, 0.4 s: the budget is spent after the fourth
	// attempt, and the call ends within one wait of the budget.
	assert.GreaterOrEqual(t, took, budget)
	assert.Less(t, took, budget+RetryMaxWait)
	assert.GreaterOrEqual(t, n.Load(), int64(4))

	// Untracked, the number of retries bounds it.
	n.Store(0)
	_, err = c.Logical().ReadWithContext(context.Background(), "secret/data/x")
	require.Error(t, err)
	assert.Equal(t, int64(int(budget/RetryMaxWait)+4+1), n.Load())
}

func TestMaybeReached(t *testing.T) {
	dial := &url.Error{Op: "Get", URL: "u", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	read := &url.Error{Op: "Get", URL: "u", Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}
	resp := func(code int, body string) *http.Response {
		return &http.Response{StatusCode: code, Body: io.NopCloser(strings.NewReader(body))}
	}
	assert.False(t, MaybeReached(nil, dial), "never connected")
	assert.True(t, MaybeReached(nil, read))
	assert.True(t, MaybeReached(resp(500, ""), nil))
	assert.True(t, MaybeReached(resp(502, ""), nil))
	assert.False(t, MaybeReached(resp(503, `{"errors":["Vault is sealed"]}`), nil))
	r := resp(503, `{"errors":["Vault is sealed"]}`)
	MaybeReached(r, nil)
	b, _ := io.ReadAll(r.Body)
	assert.Equal(t, `{"errors":["Vault is sealed"]}`, string(b), "the body is still whole")
	assert.False(t, MaybeReached(resp(429, ""), nil))
	assert.False(t, MaybeReached(resp(200, ""), nil))
}
