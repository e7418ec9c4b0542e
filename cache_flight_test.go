package edge_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
)

// countingTransport counts the reads of KV v2 data paths it sends, by
// the secret's name. It is no *http.Transport, so vaultclient.Own shares
// it as it is: it sees every request of the session.
type countingTransport struct {
	base  http.RoundTripper
	mu    sync.Mutex
	reads map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/data/") {
		c.mu.Lock()
		c.reads[r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]]++
		c.mu.Unlock()
	}
	return c.base.RoundTrip(r)
}

func (c *countingTransport) readsOf(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads[name]
}

// countingClient returns a vault/api client for the test Vault whose
// requests go through a countingTransport.
func countingClient(t *testing.T) (*api.Client, *countingTransport) {
	t.Helper()
	cfg := api.DefaultConfig()
	require.NoError(t, cfg.Error)
	ct := &countingTransport{base: cfg.HttpClient.Transport, reads: map[string]int{}}
	cfg.HttpClient.Transport = ct
	cfg.Address = edgetest.Start(t).Addr()
	c, err := api.NewClient(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { cfg.HttpClient.CloseIdleConnections() })
	return c, ct
}

// TestCacheColdReadSendsOneRequest: 100 goroutines reading one cold name
// through the cache send exactly one request, round after round: a
// caller that reaches the shared request after it ended finds the value
// it stored instead of asking again. (Issue 19, 3b.)
func TestCacheColdReadSendsOneRequest(t *testing.T) {
	t.Parallel()
	const rounds, readers = 1000, 100
	vault := edgetest.Start(t)
	u := vault.NewUser(t)
	client, ct := countingClient(t)
	sess := vault.NewSession(t, edge.Config{Client: client, Token: u.Token, CacheTTL: time.Hour})
	ctx := context.Background()
	var twice []int
	began := time.Now()
	for round := range rounds {
		name := fmt.Sprintf("cold-%d", round)
		require.NoError(t, sess.Secrets.CreateUserSecret(ctx, name, edge.Secret{"v": round}))
		start := make(chan struct{})
		var wg sync.WaitGroup
		var failed atomic.Int64
		for range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := sess.Secrets.ReadUserSecret(ctx, name); err != nil {
					failed.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		require.Zero(t, failed.Load(), "round %d: reads failed", round)
		if n := ct.readsOf(name); n != 1 {
			twice = append(twice, round)
		}
	}
	t.Logf("%d rounds of %d cold reads in %v", rounds, readers, time.Since(began))
	assert.Empty(t, twice, "rounds whose 100 cold reads sent more than one request")
}

// TestCacheJoinersNotDeniedAcrossRevocation: with Config.Auth and
// CacheTTL, the session's token is revoked under it, then 50 goroutines
// read a cold name, arriving over about a login's time: the reads that
// join another's request get what it finally got, never a refusal its
// own caller did not keep. (Issue 19, 3.)
func TestCacheJoinersNotDeniedAcrossRevocation(t *testing.T) {
	t.Parallel()
	const rounds, readers = 10, 50
	vault := edgetest.Start(t)
	method, user := userpassAuth(t, time.Hour, time.Hour)
	sess := vault.NewSession(t, edge.Config{Auth: method, CacheTTL: time.Hour})
	ctx := context.Background()
	for round := range rounds {
		name := fmt.Sprintf("revoked-%d", round)
		require.NoError(t, sess.Secrets.CreateUserSecret(ctx, name, edge.Secret{"v": round}))
		rootDo(t, http.MethodPut, "/v1/sys/leases/revoke-prefix/auth/userpass/login/"+user, nil)
		var wg sync.WaitGroup
		var denied, failed atomic.Int64
		for i := range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Spread over about a userpass login's time (bcrypt), so
				// that some calls begin during the recovery.
				time.Sleep(time.Duration(i) * 2 * time.Millisecond)
				_, err := sess.Secrets.ReadUserSecret(ctx, name)
				switch {
				case errors.Is(err, edge.ErrPermissionDenied):
					denied.Add(1)
				case err != nil:
					failed.Add(1)
				}
			}()
		}
		wg.Wait()
		assert.Zero(t, denied.Load(), "round %d: reads denied", round)
		assert.Zero(t, failed.Load(), "round %d: reads failed", round)
	}
}
