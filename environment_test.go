package edge_test

import (
	"context"
	"sync"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/faultproxy"
)

// headerLog records a header of every request a fault proxy sees.
type headerLog struct {
	mu     sync.Mutex
	values []string
}

func (h *headerLog) rule(name string) func(faultproxy.Request) faultproxy.Fault {
	return func(r faultproxy.Request) faultproxy.Fault {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.values = append(h.values, r.Header.Get(name))
		return faultproxy.None
	}
}

func (h *headerLog) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.values...)
}

// TestHostileEnvironment sets vault/api's environment variables against
// the session and checks it behaves, with the privilege, as documented.
// Not parallel: it sets the process environment.
func TestHostileEnvironment(t *testing.T) {
	vault := edgetest.Start(t)
	ctx := context.Background()
	u := vault.NewUser(t)
	other := vault.NewUser(t)
	org := vault.NewOrg(t, u)

	t.Run("VAULT_TOKEN of another user beside Config.Token", func(t *testing.T) {
		t.Setenv("VAULT_TOKEN", other.Token)
		sess, err := edge.NewSession(ctx, edge.Config{Address: vault.Addr(), Token: u.Token, Org: org, Mount: vault.Mount()})
		require.NoError(t, err)
		defer sess.Close()
		assert.Equal(t, u.EntityID, sess.EntityID(), "Config.Token wins")
	})

	t.Run("VAULT_TOKEN of another user beside Config.Client", func(t *testing.T) {
		client, err := api.NewClient(&api.Config{Address: vault.Addr()})
		require.NoError(t, err)
		client.SetToken(u.Token)
		t.Setenv("VAULT_TOKEN", other.Token)
		sess, err := edge.NewSession(ctx, edge.Config{Client: client, Org: org, Mount: vault.Mount()})
		require.NoError(t, err)
		defer sess.Close()
		assert.Equal(t, u.EntityID, sess.EntityID(), "the client's token wins")
	})

	t.Run("VAULT_TOKEN alone", func(t *testing.T) {
		t.Setenv("VAULT_TOKEN", other.Token)
		sess, err := edge.NewSession(ctx, edge.Config{Address: vault.Addr(), Mount: vault.Mount()})
		require.NoError(t, err)
		defer sess.Close()
		assert.Equal(t, other.EntityID, sess.EntityID())
	})

	t.Run("VAULT_WRAP_TTL", func(t *testing.T) {
		t.Setenv("VAULT_WRAP_TTL", "1s")
		sess, err := edge.NewSession(ctx, edge.Config{Address: vault.Addr(), Token: u.Token, Org: org, Mount: vault.Mount()})
		require.NoError(t, err)
		defer sess.Close()
		require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "wrapttl", edge.Secret{"v": "x"}))
		got, err := sess.Secrets.ReadUserSecret(ctx, "wrapttl")
		require.NoError(t, err, "a read is never wrapped")
		assert.Equal(t, "x", got["v"])
		w, err := sess.Secrets.WrapUserSecret(ctx, "wrapttl")
		require.NoError(t, err)
		assert.Equal(t, edge.DefaultWrapTTL, w.TTL, "Wrap uses Config.WrapTTL, not VAULT_WRAP_TTL")
	})

	t.Run("VAULT_MAX_RETRIES=0", func(t *testing.T) {
		t.Setenv("VAULT_MAX_RETRIES", "0")
		p, err := faultproxy.New(vault.Addr())
		require.NoError(t, err)
		defer p.Close()
		sess, err := edge.NewSession(ctx, edge.Config{Address: p.URL(), Token: u.Token, Org: org, Mount: vault.Mount()})
		require.NoError(t, err)
		defer sess.Close()

		// No retry: a 429 fails the read at once.
		require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "retries", edge.Secret{"v": 1}))
		p.FailNext(1, faultproxy.TooMany, nil)
		before := p.Requests()
		_, err = sess.Secrets.ReadUserSecret(ctx, "retries")
		assert.ErrorIs(t, err, edge.ErrUnavailable)
		assert.Equal(t, int64(1), p.Requests()-before)

		// A create whose answer is lost is not retried; the SDK reads
		// version 1 back and finds its own write.
		p.FailNext(1, faultproxy.Drop, isWrite)
		before = p.Requests()
		require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "lost", edge.Secret{"v": 1}))
		assert.Equal(t, int64(2), p.Requests()-before, "the write and the read of version 1")
	})

	t.Run("VAULT_NAMESPACE", func(t *testing.T) {
		p, err := faultproxy.New(vault.Addr())
		require.NoError(t, err)
		defer p.Close()
		var seen headerLog
		p.SetRule(seen.rule("X-Vault-Namespace"))
		t.Setenv("VAULT_NAMESPACE", "ns1")

		// Without Config.Client, vault/api's environment applies: the
		// requests carry the namespace (Vault's open-source edition has
		// no namespaces and ignores it).
		sess, err := edge.NewSession(ctx, edge.Config{Address: p.URL(), Token: u.Token, Mount: vault.Mount()})
		require.NoError(t, err)
		defer sess.Close()
		require.NotEmpty(t, seen.all())
		for _, v := range seen.all() {
			assert.Equal(t, "ns1", v)
		}

		// With Config.Client, its namespace (none) wins over the
		// environment.
		client, err := api.NewClient(&api.Config{Address: p.URL()})
		require.NoError(t, err)
		client.ClearNamespace()
		client.SetToken(u.Token)
		seen = headerLog{}
		p.SetRule(seen.rule("X-Vault-Namespace"))
		sess2, err := edge.NewSession(ctx, edge.Config{Client: client, Mount: vault.Mount()})
		require.NoError(t, err)
		defer sess2.Close()
		require.NotEmpty(t, seen.all())
		for _, v := range seen.all() {
			assert.Empty(t, v)
		}
	})
}
