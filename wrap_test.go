package edge_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/scopes"
)

// receiver is a vault/api client the way a receiver has one: it knows
// where Vault is and holds no token.
func receiver(t *testing.T) *api.Client {
	t.Helper()
	vault := edgetest.Start(t)
	c, err := api.NewClient(&api.Config{Address: vault.Addr()})
	require.NoError(t, err)
	c.SetToken("")
	return c
}

func TestUnwrapOnce(t *testing.T) {
	t.Parallel()
	forEachScope(t, func(t *testing.T, sess *edge.Session, ops scopes.Ops) {
		ctx := context.Background()
		value := edge.Secret{"secret": "value", "big": int64(9223372036854775807)}
		require.NoError(t, ops.Create(ctx, "s", value))
		w, err := ops.Wrap(ctx, "s")
		require.NoError(t, err)

		client := receiver(t)
		got, err := edge.Unwrap(ctx, client, w.Token)
		require.NoError(t, err)
		big, err := got["big"].(interface{ Int64() (int64, error) }).Int64()
		require.NoError(t, err)
		assert.Equal(t, int64(9223372036854775807), big)
		assert.Equal(t, "value", got["secret"])
		assert.Empty(t, client.Token(), "Unwrap must not set the wrapping token on the caller's client")

		_, err = edge.Unwrap(ctx, client, w.Token)
		assert.ErrorIs(t, err, edge.ErrInvalidToken, "a wrapping token unwraps once")
		assert.NotErrorIs(t, err, edge.ErrNotFound)
		assert.NotContains(t, err.Error(), w.Token)
	})
}

func TestUnwrapKeepsCallerToken(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	sess := newSession(t)
	ctx := context.Background()
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "s", edge.Secret{"v": "x"}))
	w, err := sess.Secrets.WrapUserSecret(ctx, "s")
	require.NoError(t, err)
	other := vault.NewUser(t)
	client := receiver(t)
	client.SetToken(other.Token)
	got, err := edge.Unwrap(ctx, client, w.Token)
	require.NoError(t, err)
	assert.Equal(t, edge.Secret{"v": "x"}, got)
	assert.Equal(t, other.Token, client.Token())
}

func TestUnwrapFromEnvironment(t *testing.T) {
	vault := edgetest.Start(t)
	sess := newSession(t)
	ctx := context.Background()
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "s", edge.Secret{"v": "x"}))
	w, err := sess.Secrets.WrapUserSecret(ctx, "s")
	require.NoError(t, err)
	t.Setenv("VAULT_ADDR", vault.Addr())
	t.Setenv("VAULT_TOKEN", "")
	t.Setenv("VAULT_WRAP_TTL", "60s")
	info, err := edge.LookupWrapped(ctx, nil, w.Token)
	require.NoError(t, err)
	assert.Equal(t, w.CreationPath, info.CreationPath)
	got, err := edge.Unwrap(ctx, nil, w.Token)
	require.NoError(t, err)
	assert.Equal(t, edge.Secret{"v": "x"}, got)
}

func TestInvalidTokens(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	client := receiver(t)
	for _, token := range []string{"", "   ", "hvs.CAESIJunkJunkJunk", "not a token at all"} {
		t.Run(fmt.Sprintf("%q", token), func(t *testing.T) {
			_, err := edge.Unwrap(ctx, client, token)
			assert.ErrorIs(t, err, edge.ErrInvalidToken)
			_, err = edge.LookupWrapped(ctx, client, token)
			assert.ErrorIs(t, err, edge.ErrInvalidToken)
			if strings.TrimSpace(token) != "" {
				assert.NotContains(t, err.Error(), token)
			}
		})
	}
	t.Run("a login token is not a wrapping token", func(t *testing.T) {
		u := vault.NewUser(t)
		_, err := edge.LookupWrapped(ctx, client, u.Token)
		assert.ErrorIs(t, err, edge.ErrInvalidToken)
		assert.NotContains(t, err.Error(), u.Token)
	})
}

func TestWrapTTLExpiry(t *testing.T) {
	t.Parallel()
	sess := newSession(t)
	ctx := context.Background()
	require.NoError(t, sess.Secrets.CreateOrgSecret(ctx, "s", edge.Secret{"v": "x"}))
	w, err := sess.Secrets.WrapOrgSecret(ctx, "s", edge.WithWrapTTL(time.Second))
	require.NoError(t, err)
	assert.Equal(t, time.Second, w.TTL)
	assert.WithinDuration(t, time.Now().Add(time.Second), w.ExpiresAt(), time.Second)

	client := receiver(t)
	info, err := edge.LookupWrapped(ctx, client, w.Token)
	require.NoError(t, err)
	assert.Equal(t, time.Second, info.TTL)
	assert.WithinDuration(t, w.ExpiresAt(), info.ExpiresAt(), time.Second)

	// Wait past expiry; Vault's expiration manager revokes the token.
	require.Eventually(t, func() bool {
		_, err := edge.LookupWrapped(ctx, client, w.Token)
		return err != nil
	}, 10*time.Second, 100*time.Millisecond)
	assert.False(t, time.Now().Before(w.ExpiresAt()), "the token died before ExpiresAt")
	_, err = edge.Unwrap(ctx, client, w.Token)
	assert.ErrorIs(t, err, edge.ErrInvalidToken)
}

func TestWrapTTLRounding(t *testing.T) {
	t.Parallel()
	sess := newSession(t)
	ctx := context.Background()
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "s", edge.Secret{"v": "x"}))
	tests := []struct {
		ttl, want time.Duration
	}{
		{time.Millisecond, time.Second},
		{1500 * time.Millisecond, 2 * time.Second},
		{time.Hour, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.ttl.String(), func(t *testing.T) {
			w, err := sess.Secrets.WrapUserSecret(ctx, "s", edge.WithWrapTTL(tt.ttl))
			require.NoError(t, err)
			assert.Equal(t, tt.want, w.TTL)
		})
	}
}

// TestWrapTTLPolicyLimits gives a user a policy with min_wrapping_ttl and
// max_wrapping_ttl on their user path: TTLs outside the limits are
// ErrBadEntry with Vault's reason. (A min_wrapping_ttl makes wrapping
// mandatory on the path, so the root token writes the secret.)
func TestWrapTTLPolicyLimits(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	root := vault.RootClient(t).Token()
	ctx := context.Background()
	policy := fmt.Sprintf(`
path "%[1]s/data/edge/users/{{identity.entity.id}}/*" {
  capabilities = ["create", "read", "update"]
  min_wrapping_ttl = "1m"
  max_wrapping_ttl = "10m"
}
path "%[1]s/metadata/edge/users/{{identity.entity.id}}/*" {
  capabilities = ["read", "list", "delete"]
}`, vault.Mount())
	name := edgetest.UniqueName("wraplimits")
	status, body, err := rawDo(ctx, vault.Addr(), http.MethodPut, "/v1/sys/policies/acl/"+name, root, map[string]any{"policy": policy})
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, status, string(body))
	u := vault.NewUser(t, edgetest.WithPolicies(name))
	sess := vault.Session(t, u, "")
	status, body, err = rawDo(ctx, vault.Addr(), http.MethodPut, "/v1/"+vault.Mount()+"/data/edge/users/"+u.EntityID+"/s", root, map[string]any{"data": map[string]any{"v": "x"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, string(body))

	tests := []struct {
		ttl time.Duration
		ok  bool
	}{
		{30 * time.Second, false},
		{time.Minute, true},
		{5 * time.Minute, true},
		{10 * time.Minute, true},
		{11 * time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.ttl.String(), func(t *testing.T) {
			w, err := sess.Secrets.WrapUserSecret(ctx, "s", edge.WithWrapTTL(tt.ttl))
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, tt.ttl, w.TTL)
				return
			}
			assert.ErrorIs(t, err, edge.ErrBadEntry)
			assert.NotErrorIs(t, err, edge.ErrPermissionDenied)
			var re *api.ResponseError
			require.ErrorAs(t, err, &re, "Vault's own answer is kept")
			assert.Equal(t, http.StatusForbidden, re.StatusCode)
			assert.Nil(t, w)
		})
	}
}

func TestVerifyWrapped(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	u := vault.NewUser(t)
	org := vault.NewOrg(t, u)
	sess := vault.Session(t, u, org)
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "db", edge.Secret{"v": "user-db"}))
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "other", edge.Secret{"v": "user-other"}))
	require.NoError(t, sess.Secrets.CreateOrgSecret(ctx, "db", edge.Secret{"v": "org-db"}))
	userDB, err := sess.Secrets.WrapUserSecret(ctx, "db")
	require.NoError(t, err)
	userOther, err := sess.Secrets.WrapUserSecret(ctx, "other")
	require.NoError(t, err)
	orgDB, err := sess.Secrets.WrapOrgSecret(ctx, "db")
	require.NoError(t, err)

	mount := func(o edge.Origin) edge.Origin { o.Mount = vault.Mount(); return o }
	tests := []struct {
		name  string
		token string
		want  edge.Origin
		err   error
	}{
		{"user secret", userDB.Token, mount(edge.UserSecretOrigin(u.EntityID, "db")), nil},
		{"org secret", orgDB.Token, mount(edge.OrgSecretOrigin(org, "db")), nil},
		{"swapped: other user secret", userOther.Token, mount(edge.UserSecretOrigin(u.EntityID, "db")), edge.ErrWrongSecret},
		{"swapped: org for user", orgDB.Token, mount(edge.UserSecretOrigin(u.EntityID, "db")), edge.ErrWrongSecret},
		{"swapped: user for org", userDB.Token, mount(edge.OrgSecretOrigin(org, "db")), edge.ErrWrongSecret},
		{"other org", orgDB.Token, mount(edge.OrgSecretOrigin("globex", "db")), edge.ErrWrongSecret},
		{"other mount", userDB.Token, edge.Origin{Scope: "user", Owner: u.EntityID, Name: "db", Mount: "kv"}, edge.ErrWrongSecret},
		{"bad origin name", userDB.Token, mount(edge.UserSecretOrigin(u.EntityID, "../db")), edge.ErrBadEntry},
		{"bad origin scope", userDB.Token, edge.Origin{Scope: "team", Owner: "x", Name: "db"}, edge.ErrBadEntry},
		{"invalid token", "hvs.nope", mount(edge.UserSecretOrigin(u.EntityID, "db")), edge.ErrInvalidToken},
	}
	client := receiver(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := edge.VerifyWrapped(ctx, client, tt.token, tt.want)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				assert.Nil(t, info)
				if tt.token != "" {
					assert.NotContains(t, err.Error(), tt.token)
				}
				return
			}
			require.NoError(t, err)
			assert.NotEmpty(t, info.CreationPath)
		})
	}
	// Verification does not consume: every token still unwraps, once.
	for want, w := range map[string]*edge.WrappedSecret{"user-db": userDB, "user-other": userOther, "org-db": orgDB} {
		got, err := edge.Unwrap(ctx, client, w.Token)
		require.NoError(t, err)
		assert.Equal(t, edge.Secret{"v": want}, got)
	}
}

// TestConcurrentWrapping: 50 goroutines wrap and read on one session at
// once; every token is valid and no read comes back wrapped.
func TestConcurrentWrapping(t *testing.T) {
	t.Parallel()
	sess := newSession(t)
	ctx := context.Background()
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "s", edge.Secret{"v": "x"}))
	require.NoError(t, sess.Secrets.CreateOrgSecret(ctx, "o", edge.Secret{"v": "y"}))
	const goroutines = 50
	var wg sync.WaitGroup
	wrapped := make(chan *edge.WrappedSecret, goroutines)
	for i := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch i % 4 {
			case 0:
				w, err := sess.Secrets.WrapUserSecret(ctx, "s")
				if assert.NoError(t, err) {
					wrapped <- w
				}
			case 1:
				w, err := sess.Secrets.WrapOrgSecret(ctx, "o", edge.WithWrapTTL(time.Minute))
				if assert.NoError(t, err) {
					wrapped <- w
				}
			case 2:
				got, err := sess.Secrets.ReadUserSecret(ctx, "s")
				if assert.NoError(t, err) {
					assert.Equal(t, edge.Secret{"v": "x"}, got)
				}
			case 3:
				got, err := sess.Secrets.ReadOrgSecret(ctx, "o")
				if assert.NoError(t, err) {
					assert.Equal(t, edge.Secret{"v": "y"}, got)
				}
			}
		}()
	}
	wg.Wait()
	close(wrapped)
	client := receiver(t)
	n := 0
	for w := range wrapped {
		n++
		got, err := edge.Unwrap(ctx, client, w.Token)
		require.NoError(t, err)
		assert.Contains(t, []any{"x", "y"}, got["v"])
	}
	assert.Equal(t, 26, n)
}

func TestWrappedSecretNeverPrintsToken(t *testing.T) {
	t.Parallel()
	sess := newSession(t)
	ctx := context.Background()
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "s", edge.Secret{"v": "x"}))
	w, err := sess.Secrets.WrapUserSecret(ctx, "s")
	require.NoError(t, err)
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		assert.NotContains(t, fmt.Sprintf(format, w), w.Token, format)
		assert.NotContains(t, fmt.Sprintf(format, *w), w.Token, format)
		assert.NotContains(t, fmt.Sprintf(format, []any{w}), w.Token, format)
		assert.NotContains(t, fmt.Sprintf(format, struct{ W *edge.WrappedSecret }{w}), w.Token, format)
	}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("handover", "wrapped", w)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("handover", "wrapped", *w)
	assert.NotContains(t, buf.String(), w.Token)
	assert.Contains(t, fmt.Sprint(w), w.Accessor)
}
