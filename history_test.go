package edge_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/faultproxy"
	"github.com/edgesdk/edge/internal/scopes"
)

// sessionKinds returns a session of u on org made each way: NewSession
// (a Client of its own) and Client.Session on a shared Client, both on
// client's address (vault's, or a fault proxy's in front of it), with
// Config.CacheTTL cacheTTL.
func sessionKinds(t *testing.T, vault *edgetest.Vault, client *api.Client, u edgetest.User, org string, cacheTTL time.Duration) map[string]*edge.Session {
	t.Helper()
	ctx := context.Background()
	own, err := client.Clone()
	require.NoError(t, err)
	own.SetToken(u.Token)
	sess, err := edge.NewSession(ctx, edge.Config{Client: own, Org: org, Mount: vault.Mount(), CacheTTL: cacheTTL})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sess.Close() })
	shared, err := client.Clone()
	require.NoError(t, err)
	shared.ClearToken()
	c, err := edge.NewClient(ctx, edge.Config{Client: shared, Org: org, Mount: vault.Mount(), CacheTTL: cacheTTL})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	fromClient, err := c.Session(ctx, u.Token)
	require.NoError(t, err)
	return map[string]*edge.Session{"NewSession": sess, "Client.Session": fromClient}
}

// rootKV does a KV v2 operation other than data (delete, destroy,
// undelete) on version n of the secret at data path, with the root token.
func rootKV(ctx context.Context, t *testing.T, vault *edgetest.Vault, op, data string, n int) {
	t.Helper()
	path := strings.Replace(data, "/data/", "/"+op+"/", 1)
	_, err := vault.RootClient(t).Logical().WriteWithContext(ctx, path, map[string]any{"versions": []int{n}})
	require.NoError(t, err, "%s version %d", op, n)
}

// numbers returns the version numbers of vs, in order.
func numbers(vs []edge.SecretVersion) []int {
	out := make([]int, len(vs))
	for i, v := range vs {
		out[i] = v.Number
	}
	return out
}

// TestSecretHistory: on both scopes and both session kinds, the history
// lists every version Vault keeps, newest first, deleted and destroyed
// ones included; a version is read by number, and a deleted, destroyed
// or never written one is ErrNotFound saying which; a rollback writes the
// old value as a new version, drops the cached value, never reads a
// deleted or destroyed version and never brings back a secret whose
// latest version is deleted.
func TestSecretHistory(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	u := vault.NewUser(t)
	org := vault.NewOrg(t, u)
	for kind, sess := range sessionKinds(t, vault, vault.Config(u, org).Client, u, org, time.Minute) {
		for _, ops := range []scopes.Ops{scopes.User(sess), scopes.Org(sess)} {
			t.Run(kind+"/"+ops.Name, func(t *testing.T) {
				t.Parallel()
				name := edgetest.UniqueName("hist")
				data := vault.Mount() + "/data/edge/orgs/" + org + "/" + name
				if ops.Name == "user" {
					// Not sess.EntityID(): a Client.Session learns it
					// at its first user operation.
					data = vault.Mount() + "/data/edge/users/" + u.EntityID + "/" + name
				}
				var windows [][2]time.Time
				for i, v := range []string{"one", "two", "three", "four"} {
					start := time.Now()
					if i == 0 {
						require.NoError(t, ops.Create(ctx, name, edge.Secret{"v": v}))
					} else {
						require.NoError(t, ops.Update(ctx, name, edge.Secret{"v": v}))
					}
					windows = append(windows, [2]time.Time{start, time.Now()})
				}
				rootKV(ctx, t, vault, "delete", data, 2)
				rootKV(ctx, t, vault, "destroy", data, 3)

				vs, err := ops.Versions(ctx, name)
				require.NoError(t, err)
				require.Equal(t, []int{4, 3, 2, 1}, numbers(vs), "newest first, every version kept")
				for _, v := range vs {
					assertCreated(t, windows[v.Number-1], v.CreatedTime)
					assert.Equal(t, v.Number == 2, !v.DeletionTime.IsZero(), "version %d's deletion time", v.Number)
					assert.Equal(t, v.Number == 3, v.Destroyed, "version %d destroyed", v.Number)
				}
				assert.False(t, vs[2].DeletionTime.After(time.Now().Add(time.Second)), "deleted now, not scheduled")
				assert.Contains(t, vs[1].String(), "version 3 (created ")
				assert.Contains(t, vs[1].String(), "destroyed")

				// Reads by number.
				for n, want := range map[int]string{1: "one", 4: "four"} {
					got, err := ops.ReadVersion(ctx, name, n)
					require.NoError(t, err, "version %d", n)
					assert.Equal(t, edge.Secret{"v": want}, got)
				}
				for _, tc := range []struct {
					n    int
					says string
				}{{2, "version 2 was deleted"}, {3, "version 3 was destroyed"}, {9, "version 9 does not exist"}} {
					_, err := ops.ReadVersion(ctx, name, tc.n)
					require.ErrorIs(t, err, edge.ErrNotFound, "version %d", tc.n)
					assertOneKind(t, err)
					assert.Contains(t, err.Error(), tc.says)
					var re *api.ResponseError
					assert.ErrorAs(t, err, &re, "the cause is vault/api's")
				}

				// A cached latest value, then a rollback to version 1:
				// version 5 holds "one", and the cache no longer "four".
				got, err := ops.Read(ctx, name)
				require.NoError(t, err)
				require.Equal(t, edge.Secret{"v": "four"}, got)
				start := time.Now()
				require.NoError(t, ops.Rollback(ctx, name, 1))
				got, err = ops.Read(ctx, name)
				require.NoError(t, err)
				assert.Equal(t, edge.Secret{"v": "one"}, got, "the rollback dropped the cached value")
				vs, err = ops.Versions(ctx, name)
				require.NoError(t, err)
				require.Equal(t, []int{5, 4, 3, 2, 1}, numbers(vs))
				assertCreated(t, [2]time.Time{start, time.Now()}, vs[0].CreatedTime)

				// Rollbacks to versions that cannot be read write nothing.
				for n, says := range map[int]string{2: "version 2 was deleted", 3: "version 3 was destroyed", 6: "version 6 does not exist"} {
					err := ops.Rollback(ctx, name, n)
					require.ErrorIs(t, err, edge.ErrNotFound, "version %d", n)
					assertOneKind(t, err)
					assert.Contains(t, err.Error(), says)
				}
				// A latest version deleted: the secret is not found, and a
				// rollback does not bring it back.
				rootKV(ctx, t, vault, "delete", data, 5)
				err = ops.Rollback(ctx, name, 1)
				require.ErrorIs(t, err, edge.ErrNotFound)
				assertOneKind(t, err)
				_, err = ops.Read(ctx, name)
				assert.ErrorIs(t, err, edge.ErrNotFound)
				vs, err = ops.Versions(ctx, name)
				require.NoError(t, err)
				assert.Equal(t, []int{5, 4, 3, 2, 1}, numbers(vs), "nothing written")
				assert.False(t, vs[0].DeletionTime.IsZero())
				// The latest version destroyed: the same.
				rootKV(ctx, t, vault, "undelete", data, 5)
				rootKV(ctx, t, vault, "destroy", data, 5)
				assert.ErrorIs(t, ops.Rollback(ctx, name, 1), edge.ErrNotFound)
				got, err = ops.ReadVersion(ctx, name, 4)
				require.NoError(t, err, "an older version is still there")
				assert.Equal(t, edge.Secret{"v": "four"}, got)

				// A secret that does not exist.
				missing := edgetest.UniqueName("none")
				_, err = ops.Versions(ctx, missing)
				assert.ErrorIs(t, err, edge.ErrNotFound)
				assertOneKind(t, err)
				_, err = ops.ReadVersion(ctx, missing, 1)
				assert.ErrorIs(t, err, edge.ErrNotFound)
				assert.ErrorIs(t, ops.Rollback(ctx, missing, 1), edge.ErrNotFound)
			})
		}
	}
}

// TestHistoryScheduledDeletion: a version whose deletion is scheduled
// (the secret's delete_version_after) is live until then: listed with
// its future deletion time, read, and rolled back to.
func TestHistoryScheduledDeletion(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	u := vault.NewUser(t)
	sess := vault.Session(t, u, "")
	ops := scopes.User(sess)
	name := edgetest.UniqueName("sched")
	require.NoError(t, ops.Create(ctx, name, edge.Secret{"v": "one"}))
	data, _ := dataPath(vault.Mount(), sess, ops, name)
	meta := strings.Replace(data, "/data/", "/metadata/", 1)
	_, err := vault.RootClient(t).Logical().WriteWithContext(ctx, meta, map[string]any{"delete_version_after": "1h"})
	require.NoError(t, err)
	require.NoError(t, ops.Update(ctx, name, edge.Secret{"v": "two"}))

	vs, err := ops.Versions(ctx, name)
	require.NoError(t, err)
	require.Equal(t, []int{2, 1}, numbers(vs))
	assert.True(t, vs[0].DeletionTime.After(time.Now().Add(50*time.Minute)), "scheduled in an hour: %v", vs[0].DeletionTime)
	require.NoError(t, ops.Rollback(ctx, name, 1), "a latest version scheduled for deletion is live")
	got, err := ops.ReadVersion(ctx, name, 3)
	require.NoError(t, err)
	assert.Equal(t, edge.Secret{"v": "one"}, got)
}

// TestHistoryBadVersion: a version number below 1 is ErrBadEntry before
// any request; so is an invalid name.
func TestHistoryBadVersion(t *testing.T) {
	t.Parallel()
	fx := newFaultFixture(t, "org")
	ctx := context.Background()
	for _, n := range []int{0, -1} {
		before := fx.proxy.Requests()
		_, err := fx.proxied.ReadVersion(ctx, fx.name, n)
		require.ErrorIs(t, err, edge.ErrBadEntry)
		assertOneKind(t, err)
		err = fx.proxied.Rollback(ctx, fx.name, n)
		require.ErrorIs(t, err, edge.ErrBadEntry)
		assertOneKind(t, err)
		_, err = fx.proxied.ReadVersion(ctx, "a/b", 1)
		assert.ErrorIs(t, err, edge.ErrBadEntry)
		_, err = fx.proxied.Versions(ctx, "a/b")
		assert.ErrorIs(t, err, edge.ErrBadEntry)
		assert.Equal(t, before, fx.proxy.Requests(), "no request for n=%d", n)
	}
}

// isDataWrite matches the KV v2 write of a secret's data.
func isDataWrite(r faultproxy.Request) bool {
	return (r.Method == http.MethodPut || r.Method == http.MethodPost) && strings.Contains(r.Path, "/data/")
}

// TestRollbackConflict: a write by someone else between the rollback's
// read of the latest version and its check-and-set write makes the
// rollback fail with ErrConflict, once, without retrying and without
// overwriting the other write. The fault proxy's rule, seeing the
// rollback's write arrive, makes the other write straight to Vault before
// letting it through.
func TestRollbackConflict(t *testing.T) {
	t.Parallel()
	for _, scope := range []string{"user", "org"} {
		t.Run(scope, func(t *testing.T) {
			t.Parallel()
			fx := newFaultFixture(t, scope)
			ctx := context.Background()
			require.NoError(t, fx.direct.Create(ctx, fx.name, edge.Secret{"v": "one"}))
			require.NoError(t, fx.direct.Update(ctx, fx.name, edge.Secret{"v": "two"}))
			var writes, interleaved atomic.Int32
			fx.proxy.SetRule(func(r faultproxy.Request) faultproxy.Fault {
				if isDataWrite(r) {
					writes.Add(1)
					if interleaved.Add(1) == 1 {
						// Straight to Vault, not through the proxy.
						if err := fx.direct.Update(context.Background(), fx.name, edge.Secret{"v": "theirs"}); err != nil {
							t.Errorf("the concurrent update: %v", err)
						}
					}
				}
				return faultproxy.None
			})
			err := fx.proxied.Rollback(ctx, fx.name, 1)
			require.ErrorIs(t, err, edge.ErrConflict)
			assertOneKind(t, err)
			assert.Contains(t, err.Error(), "nothing was written")
			assert.Equal(t, int32(1), writes.Load(), "one write, no retry")
			got, err := fx.direct.Read(ctx, fx.name)
			require.NoError(t, err)
			assert.Equal(t, edge.Secret{"v": "theirs"}, got, "the other write stands")
			vs, err := fx.direct.Versions(ctx, fx.name)
			require.NoError(t, err)
			assert.Equal(t, []int{3, 2, 1}, numbers(vs))
		})
	}
}

// TestRollbackDeleted: Edge's Delete between the rollback's read of the
// latest version and its check-and-set write makes the write fail: the
// rollback reports ErrNotFound (the secret is gone, and a rollback never
// brings it back), not a conflict with a version nobody wrote. The fault
// proxy's rule, seeing the rollback's write arrive, deletes the secret
// straight in Vault before letting it through.
func TestRollbackDeleted(t *testing.T) {
	t.Parallel()
	for _, scope := range []string{"user", "org"} {
		t.Run(scope, func(t *testing.T) {
			t.Parallel()
			fx := newFaultFixture(t, scope)
			ctx := context.Background()
			require.NoError(t, fx.direct.Create(ctx, fx.name, edge.Secret{"v": "one"}))
			require.NoError(t, fx.direct.Update(ctx, fx.name, edge.Secret{"v": "two"}))
			var writes atomic.Int32
			fx.proxy.SetRule(func(r faultproxy.Request) faultproxy.Fault {
				if isDataWrite(r) && writes.Add(1) == 1 {
					if err := fx.direct.Delete(context.Background(), fx.name); err != nil {
						t.Errorf("the concurrent delete: %v", err)
					}
				}
				return faultproxy.None
			})
			err := fx.proxied.Rollback(ctx, fx.name, 1)
			require.ErrorIs(t, err, edge.ErrNotFound)
			assertOneKind(t, err)
			assert.Equal(t, int32(1), writes.Load(), "one write, no retry")
			_, err = fx.direct.Read(ctx, fx.name)
			assert.ErrorIs(t, err, edge.ErrNotFound, "still deleted")
		})
	}
}

// TestRollbackLostAnswer: a rollback whose write's answer is lost (the
// proxy drops it, or turns it into a 502, after Vault committed the
// write) is retried by vault/api, meets its own write (a check-and-set
// mismatch), and reports success after ownWrite read that version back;
// the secret holds version 1's value, as version 3 only. A lost answer
// whose version Vault then shows to be someone else's is ErrConflict.
func TestRollbackLostAnswer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		scope string
		fault faultproxy.Fault
	}{{"user", faultproxy.Drop}, {"org", faultproxy.Drop}, {"org", faultproxy.BadGateway502After}} {
		t.Run(tc.scope+"/"+tc.fault.String(), func(t *testing.T) {
			t.Parallel()
			fx := newFaultFixture(t, tc.scope)
			ctx := context.Background()
			require.NoError(t, fx.direct.Create(ctx, fx.name, edge.Secret{"v": "one"}))
			require.NoError(t, fx.direct.Update(ctx, fx.name, edge.Secret{"v": "two"}))
			fx.proxy.FailNext(1, tc.fault, isDataWrite)
			require.NoError(t, fx.proxied.Rollback(ctx, fx.name, 1))
			got, err := fx.direct.Read(ctx, fx.name)
			require.NoError(t, err)
			assert.Equal(t, edge.Secret{"v": "one"}, got)
			vs, err := fx.direct.Versions(ctx, fx.name)
			require.NoError(t, err)
			assert.Equal(t, []int{3, 2, 1}, numbers(vs), "written once")
		})
	}
	t.Run("theirs", func(t *testing.T) {
		t.Parallel()
		fx := newFaultFixture(t, "org")
		ctx := context.Background()
		require.NoError(t, fx.direct.Create(ctx, fx.name, edge.Secret{"v": "one"}))
		require.NoError(t, fx.direct.Update(ctx, fx.name, edge.Secret{"v": "two"}))
		// Someone else writes just before the rollback's write reaches
		// Vault, which refuses it (check-and-set), and the proxy turns
		// that answer into a 502: lost. vault/api's retry meets the
		// other write, which ownWrite shows is not the rollback's.
		var seen atomic.Int32
		fx.proxy.SetRule(func(r faultproxy.Request) faultproxy.Fault {
			if isDataWrite(r) && seen.Add(1) == 1 {
				if err := fx.direct.Update(context.Background(), fx.name, edge.Secret{"v": "theirs"}); err != nil {
					t.Errorf("the concurrent update: %v", err)
				}
				return faultproxy.BadGateway502After
			}
			return faultproxy.None
		})
		err := fx.proxied.Rollback(ctx, fx.name, 1)
		require.ErrorIs(t, err, edge.ErrConflict)
		assertOneKind(t, err)
		got, err := fx.direct.Read(ctx, fx.name)
		require.NoError(t, err)
		assert.Equal(t, edge.Secret{"v": "theirs"}, got)
	})
}
