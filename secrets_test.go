package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
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

func TestLifecycle(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	forEachScope(t, func(t *testing.T, sess *edge.Session, ops scopes.Ops) {
		ctx := context.Background()

		names, err := ops.List(ctx)
		require.NoError(t, err)
		assert.Empty(t, names)
		assert.NotNil(t, names, "an empty scope lists as an empty slice, not nil")

		require.NoError(t, ops.Create(ctx, "my-secret", edge.Secret{"secret": "value"}))
		names, err = ops.List(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"my-secret"}, names)

		got, err := ops.Read(ctx, "my-secret")
		require.NoError(t, err)
		assert.Equal(t, edge.Secret{"secret": "value"}, got)

		require.NoError(t, ops.Update(ctx, "my-secret", edge.Secret{"other": "v2"}))
		got, err = ops.Read(ctx, "my-secret")
		require.NoError(t, err)
		assert.Equal(t, edge.Secret{"other": "v2"}, got, "update replaces the whole value")

		w, err := ops.Wrap(ctx, "my-secret")
		require.NoError(t, err)
		assert.NotEmpty(t, w.Token)
		assert.Equal(t, vault.Addr()+"/v1/sys/wrapping/unwrap", w.UnwrapURL)

		require.NoError(t, ops.Delete(ctx, "my-secret"))
		_, err = ops.Read(ctx, "my-secret")
		assert.ErrorIs(t, err, edge.ErrNotFound)
		names, err = ops.List(ctx)
		require.NoError(t, err)
		assert.Empty(t, names)

		require.NoError(t, ops.Create(ctx, "my-secret", edge.Secret{"again": true}), "a deleted name can be created again")
		got, err = ops.Read(ctx, "my-secret")
		require.NoError(t, err)
		assert.Equal(t, edge.Secret{"again": true}, got)
	})
}

func TestListIsSorted(t *testing.T) {
	t.Parallel()
	forEachScope(t, func(t *testing.T, sess *edge.Session, ops scopes.Ops) {
		ctx := context.Background()
		for _, n := range []string{"zeta", "Alpha", "beta", "_x", "0-first", "beta2"} {
			require.NoError(t, ops.Create(ctx, n, edge.Secret{"n": n}))
		}
		names, err := ops.List(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"0-first", "Alpha", "_x", "beta", "beta2", "zeta"}, names)
	})
}

func TestValuesRoundTripExactly(t *testing.T) {
	t.Parallel()
	value := edge.Secret{
		"big":     int64(math.MaxInt64),
		"neg":     int64(math.MinInt64),
		"umax":    uint64(math.MaxUint64),
		"tenth":   0.1,
		"exp":     json.Number("1e300"),
		"unicode": "ключ 值 🔑 \u2028 \uFFFD <&>",
		"empty":   "",
		"null":    nil,
		"bool":    false,
		"nested":  map[string]any{"list": []any{1, "two", []any{3.5}, map[string]any{}}, "deep": map[string]any{"k": "v"}},
		"ключ":    "non-ASCII key",
	}
	want := edge.Secret{
		"big":     json.Number("9223372036854775807"),
		"neg":     json.Number("-9223372036854775808"),
		"umax":    json.Number("18446744073709551615"),
		"tenth":   json.Number("0.1"),
		"exp":     json.Number("1e300"),
		"unicode": "ключ 值 🔑 \u2028 \uFFFD <&>",
		"empty":   "",
		"null":    nil,
		"bool":    false,
		"nested":  map[string]any{"list": []any{json.Number("1"), "two", []any{json.Number("3.5")}, map[string]any{}}, "deep": map[string]any{"k": "v"}},
		"ключ":    "non-ASCII key",
	}
	forEachScope(t, func(t *testing.T, sess *edge.Session, ops scopes.Ops) {
		ctx := context.Background()
		require.NoError(t, ops.Create(ctx, "exact", value))
		got, err := ops.Read(ctx, "exact")
		require.NoError(t, err)
		assert.Equal(t, want, got)
		n, err := got["big"].(json.Number).Int64()
		require.NoError(t, err)
		assert.Equal(t, int64(math.MaxInt64), n)

		require.NoError(t, ops.Update(ctx, "exact", edge.Secret{"tenth": 0.1}))
		got, err = ops.Read(ctx, "exact")
		require.NoError(t, err)
		assert.Equal(t, edge.Secret{"tenth": json.Number("0.1")}, got)
	})
}

func TestErrors(t *testing.T) {
	t.Parallel()
	forEachScope(t, func(t *testing.T, sess *edge.Session, ops scopes.Ops) {
		ctx := context.Background()
		require.NoError(t, ops.Create(ctx, "exists", edge.Secret{"v": 1}))
		tests := []struct {
			name string
			call func() error
			want error
		}{
			{"create existing", func() error { return ops.Create(ctx, "exists", edge.Secret{"v": 2}) }, edge.ErrAlreadyExists},
			{"read missing", func() error { _, err := ops.Read(ctx, "missing"); return err }, edge.ErrNotFound},
			{"update missing", func() error { return ops.Update(ctx, "missing", edge.Secret{"v": 1}) }, edge.ErrNotFound},
			{"wrap missing", func() error { _, err := ops.Wrap(ctx, "missing"); return err }, edge.ErrNotFound},
			{"delete missing", func() error { return ops.Delete(ctx, "missing") }, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.call()
				if tt.want == nil {
					assert.NoError(t, err)
					return
				}
				assert.ErrorIs(t, err, tt.want)
				var e *edge.Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, ops.Name, e.Scope)
			})
		}
		got, err := ops.Read(ctx, "exists")
		require.NoError(t, err)
		assert.Equal(t, edge.Secret{"v": json.Number("1")}, got, "a refused create changes nothing")

		// Update never resurrects: after a delete, it is NotFound and
		// the secret stays gone.
		require.NoError(t, ops.Delete(ctx, "exists"))
		assert.ErrorIs(t, ops.Update(ctx, "exists", edge.Secret{"v": 3}), edge.ErrNotFound)
		_, err = ops.Read(ctx, "exists")
		assert.ErrorIs(t, err, edge.ErrNotFound)
	})
}

// TestBadInputSendsNothing checks every operation refuses bad names and
// values with ErrBadEntry before any request reaches Vault.
func TestBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	p := newProxy(t)
	u := vault.NewUser(t)
	sess, err := edge.NewSession(context.Background(), edge.Config{Address: p.URL, Token: u.Token, Org: vault.NewOrg(t, u), Mount: vault.Mount()})
	require.NoError(t, err)

	badNames := []string{"", ".", "..", "../x", "a/b", "/", "a b", "%2e%2e", "..%2F", "café", "a\x00", strings.Repeat("x", 257)}
	badValues := []edge.Secret{nil, {"f": func() {}}, {"c": make(chan int)}, {"n": math.NaN()}, {"n": math.Inf(1)}, {"n": math.Inf(-1)}, {"s": "\xff"}, {"\xfe": "k"}}
	for _, ops := range []scopes.Ops{scopes.User(sess), scopes.Org(sess)} {
		t.Run(ops.Name, func(t *testing.T) {
			ctx := context.Background()
			before := p.requests.Load()
			for _, name := range badNames {
				calls := map[string]error{
					"read":   func() error { _, err := ops.Read(ctx, name); return err }(),
					"create": ops.Create(ctx, name, edge.Secret{"v": 1}),
					"update": ops.Update(ctx, name, edge.Secret{"v": 1}),
					"delete": ops.Delete(ctx, name),
					"wrap":   func() error { _, err := ops.Wrap(ctx, name); return err }(),
				}
				for op, err := range calls {
					assert.ErrorIs(t, err, edge.ErrBadEntry, "%s %q", op, name)
				}
			}
			for i, v := range badValues {
				assert.ErrorIs(t, ops.Create(ctx, "good", v), edge.ErrBadEntry, "create value %d", i)
				assert.ErrorIs(t, ops.Update(ctx, "good", v), edge.ErrBadEntry, "update value %d", i)
			}
			for _, ttl := range []time.Duration{0, -time.Second} {
				_, err := ops.Wrap(ctx, "good", edge.WithWrapTTL(ttl))
				assert.ErrorIs(t, err, edge.ErrBadEntry, "wrap TTL %v", ttl)
			}
			assert.Equal(t, before, p.requests.Load(), "bad input must not reach Vault")
		})
	}
}

// TestRequestCounts pins how many requests each operation sends.
func TestRequestCounts(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	p := newProxy(t)
	u := vault.NewUser(t)
	sess, err := edge.NewSession(context.Background(), edge.Config{Address: p.URL, Token: u.Token, Org: vault.NewOrg(t, u), Mount: vault.Mount()})
	require.NoError(t, err)
	for _, ops := range []scopes.Ops{scopes.User(sess), scopes.Org(sess)} {
		t.Run(ops.Name, func(t *testing.T) {
			ctx := context.Background()
			steps := []struct {
				name string
				call func() error
				want int64
			}{
				{"create", func() error { return ops.Create(ctx, "s", edge.Secret{"v": 1}) }, 1},
				{"create existing", func() error { return ops.Create(ctx, "s", edge.Secret{"v": 1}) }, 1},
				{"read", func() error { _, err := ops.Read(ctx, "s"); return err }, 1},
				{"list", func() error { _, err := ops.List(ctx); return err }, 1},
				{"update", func() error { return ops.Update(ctx, "s", edge.Secret{"v": 2}) }, 2},
				{"wrap", func() error { _, err := ops.Wrap(ctx, "s"); return err }, 1},
				{"delete", func() error { return ops.Delete(ctx, "s") }, 1},
			}
			for _, st := range steps {
				before := p.requests.Load()
				err := st.call()
				if st.name != "create existing" {
					require.NoError(t, err, st.name)
				}
				assert.Equal(t, st.want, p.requests.Load()-before, st.name)
			}
		})
	}
}

func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	t.Parallel()
	forEachScope(t, func(t *testing.T, sess *edge.Session, ops scopes.Ops) {
		ctx := context.Background()
		require.NoError(t, ops.Create(ctx, "counter", edge.Secret{"by": -1}))
		const writers = 6
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = ops.Update(ctx, "counter", edge.Secret{"by": i})
			}()
		}
		wg.Wait()
		succeeded := 0
		for _, err := range errs {
			if err == nil {
				succeeded++
				continue
			}
			assert.ErrorIs(t, err, edge.ErrConflict)
		}
		assert.Positive(t, succeeded)
		got, err := ops.Read(ctx, "counter")
		require.NoError(t, err)
		by, err := got["by"].(json.Number).Int64()
		require.NoError(t, err)
		assert.GreaterOrEqual(t, by, int64(0), "some update won")
		assert.NoError(t, errs[by], "the winner's call succeeded")
	})
}

func TestUpdateNeverResurrects(t *testing.T) {
	t.Parallel()
	forEachScope(t, func(t *testing.T, sess *edge.Session, ops scopes.Ops) {
		ctx := context.Background()
		for i := range 15 {
			require.NoError(t, ops.Create(ctx, "racy", edge.Secret{"i": i}))
			var wg sync.WaitGroup
			var updateErr, deleteErr error
			wg.Add(2)
			go func() { defer wg.Done(); updateErr = ops.Update(ctx, "racy", edge.Secret{"i": "updated"}) }()
			go func() { defer wg.Done(); deleteErr = ops.Delete(ctx, "racy") }()
			wg.Wait()
			require.NoError(t, deleteErr)
			if updateErr != nil {
				require.ErrorIs(t, updateErr, edge.ErrNotFound)
			}
			_, err := ops.Read(ctx, "racy")
			require.ErrorIs(t, err, edge.ErrNotFound, "round %d: the deleted secret came back", i)
		}
	})
}

// TestUpdateDeleteBetweenReadAndWrite deletes the secret exactly between
// Update's metadata read and its write: the write must fail its
// check-and-set and Update report ErrNotFound, leaving the secret gone.
func TestUpdateDeleteBetweenReadAndWrite(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	p := newProxy(t)
	u := vault.NewUser(t)
	sess, err := edge.NewSession(context.Background(), edge.Config{Address: p.URL, Token: u.Token, Org: vault.NewOrg(t, u), Mount: vault.Mount()})
	require.NoError(t, err)
	direct := vault.Session(t, u, sess.Org())
	for _, pair := range [][2]scopes.Ops{{scopes.User(sess), scopes.User(direct)}, {scopes.Org(sess), scopes.Org(direct)}} {
		through, owner := pair[0], pair[1]
		t.Run(through.Name, func(t *testing.T) {
			ctx := context.Background()
			require.NoError(t, owner.Create(ctx, "racy", edge.Secret{"v": "original"}))
			deleted := false
			p.setModify(func(resp *http.Response) error {
				if !deleted && resp.Request.Method == http.MethodGet && strings.Contains(resp.Request.URL.Path, "/metadata/") {
					deleted = true
					return owner.Delete(ctx, "racy")
				}
				return nil
			})
			defer p.setModify(nil)
			err := through.Update(ctx, "racy", edge.Secret{"v": "updated"})
			require.True(t, deleted, "the proxy saw the metadata read")
			assert.ErrorIs(t, err, edge.ErrNotFound)
			_, err = owner.Read(ctx, "racy")
			assert.ErrorIs(t, err, edge.ErrNotFound, "the deleted secret came back")
		})
	}
}

// TestKVDeletedVersions covers secrets other tools soft-deleted or
// destroyed through the KV v2 API: they read as NotFound, and Update does
// not bring them back.
func TestKVDeletedVersions(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	u := vault.NewUser(t)
	sess := vault.Session(t, u, vault.NewOrg(t, u))
	ctx := context.Background()
	client := vault.RootClient(t)
	base := vault.Mount() + "/%s/edge/users/" + u.EntityID + "/"
	path := func(kind, name string) string { return strings.Replace(base, "%s", kind, 1) + name }

	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "soft", edge.Secret{"v": 1}))
	_, err := client.Logical().DeleteWithContext(ctx, path("data", "soft"))
	require.NoError(t, err)
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "destroyed", edge.Secret{"v": 1}))
	_, err = client.Logical().WriteWithContext(ctx, path("destroy", "destroyed"), map[string]any{"versions": []int{1}})
	require.NoError(t, err)

	for _, name := range []string{"soft", "destroyed"} {
		t.Run(name, func(t *testing.T) {
			_, err := sess.Secrets.ReadUserSecret(ctx, name)
			assert.ErrorIs(t, err, edge.ErrNotFound)
			// Vault wraps its 404 for such a secret like any answer: the
			// token unwraps to ErrNotFound (documented in the README).
			w, err := sess.Secrets.WrapUserSecret(ctx, name)
			require.NoError(t, err)
			_, err = edge.Unwrap(ctx, receiver(t), w.Token)
			assert.ErrorIs(t, err, edge.ErrNotFound)
			names, err := sess.Secrets.ListUserSecrets(ctx)
			require.NoError(t, err)
			assert.Contains(t, names, name, "its metadata still lists it")
			assert.ErrorIs(t, sess.Secrets.CreateUserSecret(ctx, name, edge.Secret{"v": 2}), edge.ErrAlreadyExists)
			assert.ErrorIs(t, sess.Secrets.UpdateUserSecret(ctx, name, edge.Secret{"v": 2}), edge.ErrNotFound)
			_, err = sess.Secrets.ReadUserSecret(ctx, name)
			assert.ErrorIs(t, err, edge.ErrNotFound)
			require.NoError(t, sess.Secrets.DeleteUserSecret(ctx, name))
			require.NoError(t, sess.Secrets.CreateUserSecret(ctx, name, edge.Secret{"v": 3}), "after Delete the name is free")
		})
	}
}

// redeem unwraps a wrapping token the way the seed documents: a plain
// HTTP POST to the unwrap URL with the token in X-Vault-Token.
func redeem(t *testing.T, w *edge.WrappedSecret) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, w.UnwrapURL, nil)
	require.NoError(t, err)
	req.Header.Set("X-Vault-Token", w.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

func TestWrapRedeemsOnceWithPlainPOST(t *testing.T) {
	t.Parallel()
	forEachScope(t, func(t *testing.T, sess *edge.Session, ops scopes.Ops) {
		ctx := context.Background()
		require.NoError(t, ops.Create(ctx, "handover", edge.Secret{"secret": "value", "n": 42}))
		w, err := ops.Wrap(ctx, "handover", edge.WithWrapTTL(90*time.Second))
		require.NoError(t, err)
		assert.Equal(t, 90*time.Second, w.TTL)
		assert.WithinDuration(t, time.Now(), w.CreationTime, 5*time.Second)
		assert.True(t, strings.HasSuffix(w.CreationPath, "/handover"), w.CreationPath)

		status, body := redeem(t, w)
		require.Equal(t, http.StatusOK, status)
		var out struct {
			Data struct {
				Data map[string]any `json:"data"`
			} `json:"data"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		require.NoError(t, dec.Decode(&out))
		assert.Equal(t, map[string]any{"secret": "value", "n": json.Number("42")}, out.Data.Data)

		status, _ = redeem(t, w)
		assert.NotEqual(t, http.StatusOK, status, "a wrapping token is single-use")
	})
}

// TestWrapFailsClosed makes Vault's answer to a wrap lose its wrap_info,
// or carry the data beside it: the SDK must refuse it and never show the
// value.
func TestWrapFailsClosed(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	p := newProxy(t)
	u := vault.NewUser(t)
	sess, err := edge.NewSession(context.Background(), edge.Config{Address: p.URL, Token: u.Token, Mount: vault.Mount()})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "s", edge.Secret{"password": "hunter2"}))

	rewrites := map[string]func(body map[string]any){
		"unwrapped secret": func(body map[string]any) {
			body["wrap_info"] = nil
			body["data"] = map[string]any{"data": map[string]any{"password": "hunter2"}}
		},
		"data beside wrap_info": func(body map[string]any) {
			body["data"] = map[string]any{"data": map[string]any{"password": "hunter2"}}
		},
		"empty wrap token": func(body map[string]any) {
			body["wrap_info"].(map[string]any)["token"] = ""
		},
	}
	for name, rewrite := range rewrites {
		t.Run(name, func(t *testing.T) {
			p.setModify(func(resp *http.Response) error {
				if resp.Request.Header.Get("X-Vault-Wrap-TTL") == "" {
					return nil
				}
				return rewriteJSON(resp, rewrite)
			})
			defer p.setModify(nil)
			w, err := sess.Secrets.WrapUserSecret(ctx, "s")
			require.Error(t, err)
			assert.Nil(t, w)
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

// TestWrapEnvDoesNotLeak sets VAULT_WRAP_TTL, which makes vault/api wrap
// every request by default: every operation must still be right.
func TestWrapEnvDoesNotLeak(t *testing.T) {
	t.Setenv("VAULT_WRAP_TTL", "60s")
	vault := edgetest.Start(t)
	u := vault.NewUser(t)
	sess := vault.Session(t, u, vault.NewOrg(t, u))
	ctx := context.Background()
	for _, ops := range []scopes.Ops{scopes.User(sess), scopes.Org(sess)} {
		t.Run(ops.Name, func(t *testing.T) {
			require.NoError(t, ops.Create(ctx, "s", edge.Secret{"v": "one"}))
			assert.ErrorIs(t, ops.Create(ctx, "s", edge.Secret{"v": "x"}), edge.ErrAlreadyExists)
			got, err := ops.Read(ctx, "s")
			require.NoError(t, err)
			assert.Equal(t, edge.Secret{"v": "one"}, got)
			names, err := ops.List(ctx)
			require.NoError(t, err)
			assert.Equal(t, []string{"s"}, names)
			require.NoError(t, ops.Update(ctx, "s", edge.Secret{"v": "two"}))
			got, err = ops.Read(ctx, "s")
			require.NoError(t, err)
			assert.Equal(t, edge.Secret{"v": "two"}, got)
			w, err := ops.Wrap(ctx, "s")
			require.NoError(t, err)
			assert.Equal(t, 5*time.Minute, w.TTL, "the session's TTL, not VAULT_WRAP_TTL")
			require.NoError(t, ops.Delete(ctx, "s"))
			_, err = ops.Read(ctx, "s")
			assert.ErrorIs(t, err, edge.ErrNotFound)
		})
	}
}

// TestVaultFailures covers answers that are neither a success nor one of
// the classified errors: the *Error wraps vault/api's *ResponseError.
func TestVaultFailures(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	p := newProxy(t)
	u := vault.NewUser(t)
	client, err := api.NewClient(&api.Config{Address: p.URL})
	require.NoError(t, err)
	client.SetMaxRetries(0)
	client.SetToken(u.Token)
	sess, err := edge.NewSession(context.Background(), edge.Config{Client: client, Org: vault.NewOrg(t, u), Mount: vault.Mount()})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "s", edge.Secret{"v": "hunter2"}))

	p.setModify(func(resp *http.Response) error {
		resp.StatusCode = http.StatusBadGateway
		setBody(resp, []byte(`{"errors":["upstream exploded"]}`))
		return nil
	})
	defer p.setModify(nil)
	for _, ops := range []scopes.Ops{scopes.User(sess), scopes.Org(sess)} {
		calls := map[string]error{
			"list":   func() error { _, err := ops.List(ctx); return err }(),
			"read":   func() error { _, err := ops.Read(ctx, "s"); return err }(),
			"create": ops.Create(ctx, "t", edge.Secret{"v": "hunter2"}),
			"update": ops.Update(ctx, "s", edge.Secret{"v": "hunter2"}),
			"delete": ops.Delete(ctx, "s"),
			"wrap":   func() error { _, err := ops.Wrap(ctx, "s"); return err }(),
		}
		for op, err := range calls {
			t.Run(ops.Name+"/"+op, func(t *testing.T) {
				var re *api.ResponseError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, http.StatusBadGateway, re.StatusCode)
				var e *edge.Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, op, e.Op)
				for _, sentinel := range []error{edge.ErrNotFound, edge.ErrAlreadyExists, edge.ErrBadEntry, edge.ErrPermissionDenied} {
					assert.NotErrorIs(t, err, sentinel)
				}
				assert.Contains(t, err.Error(), "upstream exploded")
				assert.NotContains(t, err.Error(), "hunter2")
				assert.NotContains(t, err.Error(), u.Token)
			})
		}
	}
}

func TestPermissionDenied(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	u := vault.NewUser(t, edgetest.WithPolicies())
	sess := vault.Session(t, u, edgetest.UniqueName("org"))
	for _, ops := range []scopes.Ops{scopes.User(sess), scopes.Org(sess)} {
		calls := map[string]error{
			"list":   func() error { _, err := ops.List(ctx); return err }(),
			"read":   func() error { _, err := ops.Read(ctx, "s"); return err }(),
			"create": ops.Create(ctx, "s", edge.Secret{"v": 1}),
			"update": ops.Update(ctx, "s", edge.Secret{"v": 1}),
			"delete": ops.Delete(ctx, "s"),
			"wrap":   func() error { _, err := ops.Wrap(ctx, "s"); return err }(),
		}
		for op, err := range calls {
			t.Run(ops.Name+"/"+op, func(t *testing.T) {
				assert.ErrorIs(t, err, edge.ErrPermissionDenied)
				assert.NotErrorIs(t, err, edge.ErrNotFound)
				var re *api.ResponseError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, http.StatusForbidden, re.StatusCode)
				assert.NotContains(t, err.Error(), u.Token)
			})
		}
	}
}

func TestNewSession(t *testing.T) {
	vault := edgetest.Start(t)
	ctx := context.Background()
	u := vault.NewUser(t)

	t.Run("bad token", func(t *testing.T) {
		_, err := edge.NewSession(ctx, edge.Config{Address: vault.Addr(), Token: "hvs.not-a-real-token"})
		assert.ErrorIs(t, err, edge.ErrPermissionDenied)
		assert.NotContains(t, err.Error(), "hvs.not-a-real-token")
	})
	t.Run("revoked token", func(t *testing.T) {
		v := vault.NewUser(t)
		status, _, err := rawDo(ctx, vault.Addr(), http.MethodPost, "/v1/auth/token/revoke-self", v.Token, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, status)
		_, err = edge.NewSession(ctx, edge.Config{Address: vault.Addr(), Token: v.Token})
		assert.ErrorIs(t, err, edge.ErrPermissionDenied)
	})
	t.Run("no token", func(t *testing.T) {
		t.Setenv("VAULT_TOKEN", "")
		_, err := edge.NewSession(ctx, edge.Config{Address: vault.Addr()})
		assert.ErrorIs(t, err, edge.ErrPermissionDenied)
	})
	t.Run("entity id", func(t *testing.T) {
		sess := vault.Session(t, u, "acme")
		assert.Equal(t, u.EntityID, sess.EntityID())
		assert.Equal(t, "acme", sess.Org())
	})
	t.Run("root token has no user scope", func(t *testing.T) {
		sess := vault.NewSession(t, edge.Config{Token: vault.RootClient(t).Token(), Org: edgetest.UniqueName("org")})
		_, err := sess.Secrets.ListUserSecrets(ctx)
		assert.ErrorIs(t, err, edge.ErrNoEntity)
		assert.ErrorIs(t, sess.Secrets.CreateUserSecret(ctx, "s", edge.Secret{"v": 1}), edge.ErrNoEntity)
		require.NoError(t, sess.Secrets.CreateOrgSecret(ctx, "s", edge.Secret{"v": 1}), "org operations still work")
		_, err = sess.Secrets.ReadOrgSecret(ctx, "s")
		assert.NoError(t, err)
	})
	t.Run("no org", func(t *testing.T) {
		t.Setenv("EDGE_ORG", "")
		t.Setenv("EDGE_API_ORG", "")
		sess := vault.Session(t, u, "")
		_, err := sess.Secrets.ListOrgSecrets(ctx)
		assert.ErrorIs(t, err, edge.ErrNoOrg)
		_, err = sess.Secrets.ListUserSecrets(ctx)
		assert.NoError(t, err)
	})
	badConfigs := map[string]edge.Config{
		"org with slash":        {Org: "a/b"},
		"org traversal":         {Org: ".."},
		"mount traversal":       {Mount: "secret/../sys"},
		"prefix with space":     {Prefix: "a b"},
		"negative wrap TTL":     {WrapTTL: -time.Second},
		"mount of another type": {Mount: "cubbyhole"},
		"mount inside a mount":  {Mount: vault.Mount() + "/edge"},
	}
	for name, cfg := range badConfigs {
		t.Run(name, func(t *testing.T) {
			cfg.Address, cfg.Token = vault.Addr(), u.Token
			_, err := edge.NewSession(ctx, cfg)
			assert.ErrorIs(t, err, edge.ErrBadEntry)
		})
	}
}

func TestNewSessionFromEnvironment(t *testing.T) {
	vault := edgetest.Start(t)
	ctx := context.Background()
	u := vault.NewUser(t)
	t.Setenv("VAULT_ADDR", vault.Addr())
	t.Setenv("VAULT_TOKEN", u.Token)
	t.Setenv("EDGE_KV_MOUNT", vault.Mount())
	for _, env := range []string{"EDGE_ORG", "EDGE_API_ORG"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv("EDGE_ORG", "")
			t.Setenv("EDGE_API_ORG", "")
			org := vault.NewOrg(t, u)
			t.Setenv(env, org)
			sess, err := edge.NewSession(ctx, edge.Config{})
			require.NoError(t, err)
			assert.Equal(t, org, sess.Org())
			assert.Equal(t, u.EntityID, sess.EntityID())
			require.NoError(t, sess.Secrets.CreateOrgSecret(ctx, "s", edge.Secret{"v": 1}))
			names, err := sess.Secrets.ListOrgSecrets(ctx)
			require.NoError(t, err)
			assert.Equal(t, []string{"s"}, names)
		})
	}
	t.Run("EDGE_KV_MOUNT", func(t *testing.T) {
		t.Setenv("EDGE_KV_MOUNT", "no-such-mount")
		sess, err := edge.NewSession(ctx, edge.Config{})
		require.NoError(t, err, "Vault answers 403 for a mount the token cannot see")
		_, err = sess.Secrets.ListUserSecrets(ctx)
		assert.ErrorIs(t, err, edge.ErrPermissionDenied, "the session used the mount from the environment")
	})
}

func TestCallerClientUnchanged(t *testing.T) {
	vault := edgetest.Start(t)
	ctx := context.Background()
	u, other := vault.NewUser(t), vault.NewUser(t)
	client, err := api.NewClient(&api.Config{Address: vault.Addr()})
	require.NoError(t, err)
	client.SetToken(u.Token)
	client.AddHeader("X-Edge-Test", "kept")
	t.Setenv("VAULT_WRAP_TTL", "30s")

	sess, err := edge.NewSession(ctx, edge.Config{Client: client, Org: vault.NewOrg(t, u), Mount: vault.Mount()})
	require.NoError(t, err)
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "s", edge.Secret{"v": 1}))
	got, err := sess.Secrets.ReadUserSecret(ctx, "s")
	require.NoError(t, err)
	assert.Equal(t, edge.Secret{"v": json.Number("1")}, got)
	_, err = sess.Secrets.WrapUserSecret(ctx, "s")
	require.NoError(t, err)

	assert.Equal(t, u.Token, client.Token())
	assert.Nil(t, client.CurrentWrappingLookupFunc(), "the caller's wrapping lookup is untouched")
	assert.Equal(t, "kept", client.Headers().Get("X-Edge-Test"))
	assert.Equal(t, vault.Addr(), client.Address())

	t.Run("token override", func(t *testing.T) {
		sess, err := edge.NewSession(ctx, edge.Config{Client: client, Token: other.Token, Mount: vault.Mount()})
		require.NoError(t, err)
		assert.Equal(t, other.EntityID, sess.EntityID())
		assert.Equal(t, u.Token, client.Token())
	})
}

func TestErrorsNeverShowValuesOrTokens(t *testing.T) {
	t.Parallel()
	sess := newSession(t)
	ctx := context.Background()
	const value = "s3cr3t-value-XYZ"
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "s", edge.Secret{"v": value}))
	w, err := sess.Secrets.WrapUserSecret(ctx, "s")
	require.NoError(t, err)
	errs := []error{
		sess.Secrets.CreateUserSecret(ctx, "s", edge.Secret{"v": value}),
		sess.Secrets.CreateUserSecret(ctx, "t", edge.Secret{"v": value + "\xff"}),
		sess.Secrets.UpdateUserSecret(ctx, "missing", edge.Secret{"v": value}),
		sess.Secrets.UpdateUserSecret(ctx, "s", edge.Secret{value: math.NaN()}),
	}
	for i, err := range errs {
		require.Error(t, err, i)
		assert.NotContains(t, err.Error(), value, i)
		assert.NotContains(t, err.Error(), w.Token, i)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		assert.NotContains(t, fmt.Sprintf(format, w), w.Token, format)
		assert.NotContains(t, fmt.Sprintf(format, *w), w.Token, format)
	}
}

// TestStorageLayout reads what the SDK wrote with a plain vault/api
// client: the documented paths, values field by field, and the exact-JSON
// envelope only for numbers Vault cannot return exactly.
func TestStorageLayout(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	u := vault.NewUser(t)
	org := vault.NewOrg(t, u)
	sess := vault.Session(t, u, org)
	ctx := context.Background()
	root := vault.RootClient(t)

	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "plain", edge.Secret{"secret": "value", "n": 1}))
	require.NoError(t, sess.Secrets.CreateOrgSecret(ctx, "big", edge.Secret{"n": int64(math.MaxInt64)}))

	tests := []struct {
		path string
		want map[string]any
	}{
		{vault.Mount() + "/data/edge/users/" + u.EntityID + "/plain", map[string]any{"secret": "value", "n": json.Number("1")}},
		{vault.Mount() + "/data/edge/orgs/" + org + "/big", map[string]any{"_edge_json": `{"n":9223372036854775807}`}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			s, err := root.Logical().ReadWithContext(ctx, tt.path)
			require.NoError(t, err)
			require.NotNil(t, s)
			assert.Equal(t, tt.want, s.Data["data"])
		})
	}
}

// TestNewSessionChecksMount: a KV version 1 mount (Vault's test core puts
// one at secret/) is refused, since create-once and versions need KV v2.
func TestNewSessionChecksMount(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	root := vault.RootClient(t).Token()
	mount := edgetest.UniqueName("kv1")
	status, body, err := rawDo(ctx, vault.Addr(), http.MethodPost, "/v1/sys/mounts/"+mount, root, map[string]any{"type": "kv", "options": map[string]any{"version": "1"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, status, string(body))
	_, err = edge.NewSession(ctx, edge.Config{Address: vault.Addr(), Token: root, Mount: mount})
	assert.ErrorIs(t, err, edge.ErrBadEntry)
	assert.Contains(t, err.Error(), "KV version 1, not KV version 2")
}

// TestNewSessionChecksEntityID makes Vault's lookup-self answer carry an
// entity id that would change the path: the session is refused, and no
// other request is sent.
func TestNewSessionChecksEntityID(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	p := newProxy(t)
	u := vault.NewUser(t)
	for _, bad := range []string{"../x", "a/b", "%2e%2e", ""} {
		t.Run(bad, func(t *testing.T) {
			p.setModify(func(resp *http.Response) error {
				return rewriteJSON(resp, func(body map[string]any) {
					body["data"].(map[string]any)["entity_id"] = bad
				})
			})
			defer p.setModify(nil)
			before := p.requests.Load()
			sess, err := edge.NewSession(context.Background(), edge.Config{Address: p.URL, Token: u.Token, Mount: vault.Mount()})
			if bad == "" {
				// No entity: a session without user scope.
				require.NoError(t, err)
				_, err = sess.Secrets.ListUserSecrets(context.Background())
				assert.ErrorIs(t, err, edge.ErrNoEntity)
				return
			}
			assert.ErrorIs(t, err, edge.ErrBadEntry)
			assert.Equal(t, int64(1), p.requests.Load()-before, "only lookup-self was sent")
		})
	}
}

func TestCallerClientCloneToken(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	u := vault.NewUser(t)
	client, err := api.NewClient(&api.Config{Address: vault.Addr()})
	require.NoError(t, err)
	client.SetToken(u.Token)
	client.SetCloneToken(true)
	sess, err := edge.NewSession(ctx, edge.Config{Client: client, Mount: vault.Mount()})
	require.NoError(t, err)
	assert.Equal(t, u.EntityID, sess.EntityID())
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "s", edge.Secret{"v": 1}))
	assert.Equal(t, u.Token, client.Token())
	assert.True(t, client.CloneToken())

	t.Run("unix socket beside Address", func(t *testing.T) {
		sess, err := edge.NewSession(ctx, edge.Config{Client: client, Address: unixVault(t), Mount: vault.Mount()})
		require.NoError(t, err)
		defer sess.Close()
		_, err = sess.Secrets.ReadUserSecret(ctx, "s")
		assert.NoError(t, err)
		assert.Equal(t, vault.Addr(), client.Address())
	})
}
