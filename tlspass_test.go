package edge_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/vault/api/auth/userpass"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/scopes"
)

// TestTLSPass runs the SDK over the dev Vault served over TLS, as every
// production Vault is (vault/api then speaks HTTP/2): the twelve
// operations and the history (versions, a version read, a rollback), a
// wrap verified and unwrapped by a receiver, and a watch seeing an
// update, on a session from NewSession and on one from a Client (traced,
// with OpenTelemetry's SDK); and a Config.Auth login whose
// token lives 2 s and at most 4 s, renewed and replaced while operations
// run for 5 s without an error.
func TestTLSPass(t *testing.T) {
	t.Parallel()
	vault := edgetest.StartTLS(t)
	ctx := context.Background()
	u := vault.NewUser(t)
	org := vault.NewOrg(t, u)

	cfg := vault.Config(u, org)
	require.NotNil(t, cfg.Client, "edgetest's Config trusts the TLS Vault's CA")
	shared := cfg.Client
	tel := newRecordedTelemetry()
	c, err := edge.NewClient(ctx, edge.Config{Client: shared, Mount: vault.Mount(), Org: org, TracerProvider: tel.tp, MeterProvider: tel.mp})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	fromClient, err := c.Session(ctx, u.Token)
	require.NoError(t, err)
	receiver := vault.RootClient(t)
	receiver.ClearToken()

	for _, tc := range []struct {
		name string
		sess *edge.Session
	}{
		{"NewSession", vault.Session(t, u, org)},
		{"Client.Session", fromClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ops := range []scopes.Ops{scopes.User(tc.sess), scopes.Org(tc.sess)} {
				name := edgetest.UniqueName("tls")
				require.NoError(t, ops.Create(ctx, name, edge.Secret{"v": "1"}), ops.Name)
				require.NoError(t, ops.Update(ctx, name, edge.Secret{"v": "2"}), ops.Name)
				got, err := ops.Read(ctx, name)
				require.NoError(t, err, ops.Name)
				assert.Equal(t, "2", got["v"])
				names, err := ops.List(ctx)
				require.NoError(t, err, ops.Name)
				assert.Contains(t, names, name)
				w, err := ops.Wrap(ctx, name, edge.WithWrapVersion())
				require.NoError(t, err, ops.Name)
				want := edge.OrgSecretOrigin(org, name)
				if ops.Name == "user" {
					want = edge.UserSecretOrigin(u.EntityID, name)
				}
				want.Mount = vault.Mount()
				_, err = edge.VerifyWrapped(ctx, receiver, w.Token, want)
				require.NoError(t, err, ops.Name)
				un, err := edge.UnwrapSecret(ctx, receiver, w.Token)
				require.NoError(t, err, ops.Name)
				assert.Equal(t, w.Version, un.Version)
				assert.Equal(t, "2", un.Value["v"])
				vs, err := ops.Versions(ctx, name)
				require.NoError(t, err, ops.Name)
				require.Len(t, vs, 2, ops.Name)
				assert.Equal(t, 2, vs[0].Number)
				old, err := ops.ReadVersion(ctx, name, 1)
				require.NoError(t, err, ops.Name)
				assert.Equal(t, "1", old["v"])
				require.NoError(t, ops.Rollback(ctx, name, 1), ops.Name)
				got, err = ops.Read(ctx, name)
				require.NoError(t, err, ops.Name)
				assert.Equal(t, "1", got["v"], "rolled back")
				require.NoError(t, ops.Delete(ctx, name), ops.Name)
				_, err = ops.Read(ctx, name)
				require.ErrorIs(t, err, edge.ErrNotFound, ops.Name)
			}
		})
		t.Run(tc.name+"/watch", func(t *testing.T) {
			for _, ops := range []scopes.Ops{scopes.User(tc.sess), scopes.Org(tc.sess)} {
				t.Run(ops.Name, func(t *testing.T) {
					t.Parallel()
					name := edgetest.UniqueName("tlswatch")
					require.NoError(t, ops.Create(ctx, name, edge.Secret{"v": "1"}))
					wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					defer cancel()
					var seen []edge.Change
					for ch, err := range ops.Watch(wctx, name, edge.WatchInterval(edge.MinWatchInterval)) {
						require.NoError(t, err)
						seen = append(seen, ch)
						if ch.Initial {
							require.NoError(t, ops.Update(ctx, name, edge.Secret{"v": "2"}))
							continue
						}
						break
					}
					require.Len(t, seen, 2, "the initial state, then the update, over TLS")
					assert.Equal(t, 1, seen[0].Version)
					assert.Equal(t, 2, seen[1].Version)
				})
			}
		})
	}
	// The Client's operations were traced over TLS too, one span each.
	names := map[string]int{}
	for _, s := range tel.spans.Ended() {
		names[s.Name()]++
	}
	for _, n := range []string{"edge.ReadUserSecret", "edge.RollbackOrgSecret", "edge.WatchUserSecret", "edge.WatchOrgSecret"} {
		assert.NotZero(t, names[n], "span %s over TLS", n)
	}

	t.Run("Config.Auth", func(t *testing.T) {
		name, password := edgetest.UniqueName("tlsup"), randomHex(t)
		root := vault.RootClient(t)
		_, err := root.Logical().WriteWithContext(ctx, "auth/userpass/users/"+name, map[string]any{
			"password": password, "token_policies": []string{vault.Admin().UserPolicyName()},
			"token_ttl": 2, "token_max_ttl": 4,
		})
		require.NoError(t, err)
		method, err := userpass.NewUserpassAuth(name, &userpass.Password{FromString: password})
		require.NoError(t, err)
		logs := &recordLog{}
		client := vault.RootClient(t)
		client.ClearToken()
		sess, err := edge.NewSession(ctx, edge.Config{Client: client, Auth: method, Mount: vault.Mount(), Logger: slog.New(logs)})
		require.NoError(t, err)
		t.Cleanup(func() { _ = sess.Close() })
		require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "alive", edge.Secret{"v": "x"}))
		ops := 0
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); ops++ {
			_, err := sess.Secrets.ReadUserSecret(ctx, "alive")
			require.NoError(t, err, "after %d reads", ops)
			time.Sleep(20 * time.Millisecond)
		}
		assert.NotZero(t, logs.count("edge: token renewed"), "renewed over TLS")
		assert.NotZero(t, logs.count("edge: logged in again"), "logged in again at the max TTL, over TLS")
		t.Logf("%d reads in 5 s over TLS; %d renewals, %d logins after the first", ops, logs.count("edge: token renewed"), logs.count("edge: logged in again"))
	})
}
