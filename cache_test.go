package edge_test

import (
	"context"
	"encoding/json"
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
	"github.com/edgesdk/edge/internal/faultproxy"
	"github.com/edgesdk/edge/internal/scopes"
)

// cachedSession returns a session with a read cache of ttl for the user,
// on org, through addr (Vault or a proxy in front of it).
func cachedSession(t testing.TB, addr, token, org string, ttl time.Duration) *edge.Session {
	t.Helper()
	return edgetest.Start(t).NewSession(t, edge.Config{Address: addr, Token: token, Org: org, CacheTTL: ttl})
}

// countingProxy is a proxy in front of Vault that counts the reads of
// KV v2 data paths by the secret's name, and injects a fault into the
// next reads when asked.
type countingProxy struct {
	*faultproxy.Proxy
	mu        sync.Mutex
	reads     map[string]int // by last path segment
	fault     faultproxy.Fault
	faultNext int // reads to inject fault into
}

func newCountingProxy(t *testing.T) *countingProxy {
	t.Helper()
	vault := edgetest.Start(t)
	p, err := faultproxy.New(vault.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	cp := &countingProxy{Proxy: p, reads: map[string]int{}}
	p.SetRule(func(r faultproxy.Request) faultproxy.Fault {
		if r.Method != http.MethodGet || !strings.Contains(r.Path, "/data/") {
			return faultproxy.None
		}
		cp.mu.Lock()
		defer cp.mu.Unlock()
		cp.reads[r.Path[strings.LastIndexByte(r.Path, '/')+1:]]++
		if cp.faultNext > 0 {
			cp.faultNext--
			return cp.fault
		}
		return faultproxy.None
	})
	return cp
}

// failReads injects f into the next n reads.
func (cp *countingProxy) failReads(n int, f faultproxy.Fault) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.fault, cp.faultNext = f, n
}

func (cp *countingProxy) readsOf(name string) int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.reads[name]
}

// cacheFixture is a user, admin of a fresh org, with a cached session
// through a counting proxy and an uncached session straight to Vault:
// another client.
type cacheFixture struct {
	user   edgetest.User
	org    string
	proxy  *countingProxy
	cached *edge.Session
	other  *edge.Session
}

func newCacheFixture(t *testing.T, ttl time.Duration) *cacheFixture {
	t.Helper()
	vault := edgetest.Start(t)
	u := vault.NewUser(t)
	org := vault.NewOrg(t, u)
	p := newCountingProxy(t)
	return &cacheFixture{
		user: u, org: org, proxy: p,
		cached: cachedSession(t, p.URL(), u.Token, org, ttl),
		other:  vault.Session(t, u, org),
	}
}

// forEachCachedScope runs f for user secrets and for org secrets, each on
// a fresh fixture.
func forEachCachedScope(t *testing.T, ttl time.Duration, f func(t *testing.T, fx *cacheFixture, cached, other scopes.Ops, invalidate func(string))) {
	t.Run("user", func(t *testing.T) {
		t.Parallel()
		fx := newCacheFixture(t, ttl)
		f(t, fx, scopes.User(fx.cached), scopes.User(fx.other), fx.cached.Secrets.InvalidateUserSecret)
	})
	t.Run("org", func(t *testing.T) {
		t.Parallel()
		fx := newCacheFixture(t, ttl)
		f(t, fx, scopes.Org(fx.cached), scopes.Org(fx.other), fx.cached.Secrets.InvalidateOrgSecret)
	})
}

func val(v int) edge.Secret { return edge.Secret{"v": v} }

func readV(t *testing.T, ops scopes.Ops, name string) any {
	t.Helper()
	got, err := ops.Read(context.Background(), name)
	require.NoError(t, err)
	return got["v"]
}

func num(v int) json.Number { return json.Number(fmt.Sprint(v)) }

func TestCacheReadsItsOwnWrites(t *testing.T) {
	t.Parallel()
	forEachCachedScope(t, time.Hour, func(t *testing.T, fx *cacheFixture, ops, _ scopes.Ops, _ func(string)) {
		ctx := context.Background()
		require.NoError(t, ops.Create(ctx, "s", val(1)))
		assert.Equal(t, num(1), readV(t, ops, "s"))
		assert.Equal(t, num(1), readV(t, ops, "s"))
		assert.Equal(t, 1, fx.proxy.readsOf("s"), "the second read is served from the cache")

		require.NoError(t, ops.Update(ctx, "s", val(2)))
		assert.Equal(t, num(2), readV(t, ops, "s"), "an update drops the cached value")

		require.NoError(t, ops.Delete(ctx, "s"))
		_, err := ops.Read(ctx, "s")
		assert.ErrorIs(t, err, edge.ErrNotFound, "a delete drops the cached value")

		require.NoError(t, ops.Create(ctx, "s", val(3)))
		assert.Equal(t, num(3), readV(t, ops, "s"), "a create drops the cached value")
		assert.Equal(t, num(3), readV(t, ops, "s"))
		assert.Equal(t, 4, fx.proxy.readsOf("s"))
	})
}

// TestCacheTTLBoundsStaleness: another client's update reaches a cached
// name within the TTL, or at once after an Invalidate.
func TestCacheTTLBoundsStaleness(t *testing.T) {
	t.Parallel()
	const ttl = 400 * time.Millisecond
	forEachCachedScope(t, ttl, func(t *testing.T, fx *cacheFixture, ops, other scopes.Ops, invalidate func(string)) {
		ctx := context.Background()
		require.NoError(t, other.Create(ctx, "s", val(1)))
		// The value is stored between before and after: it expires
		// between before+ttl and after+ttl.
		before := time.Now()
		assert.Equal(t, num(1), readV(t, ops, "s"))
		after := time.Now()
		require.NoError(t, other.Update(ctx, "s", val(2)))
		if time.Since(before) < ttl/2 {
			assert.Equal(t, num(1), readV(t, ops, "s"), "within the TTL the cached value stands")
		}
		time.Sleep(time.Until(after.Add(ttl + 10*time.Millisecond)))
		assert.Equal(t, num(2), readV(t, ops, "s"), "after the TTL the read asks Vault")

		require.NoError(t, other.Update(ctx, "s", val(3)))
		invalidate("s")
		assert.Equal(t, num(3), readV(t, ops, "s"), "after Invalidate the read asks Vault")

		require.NoError(t, other.Update(ctx, "s", val(4)))
		fx.cached.Secrets.InvalidateAll()
		assert.Equal(t, num(4), readV(t, ops, "s"), "after InvalidateAll the read asks Vault")
	})
}

func TestCacheIsPerSession(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	alice, bob := vault.NewUser(t), vault.NewUser(t)
	org := vault.NewOrg(t, alice)
	p := newCountingProxy(t)
	a := cachedSession(t, p.URL(), alice.Token, org, time.Hour)
	b := cachedSession(t, p.URL(), bob.Token, org, time.Hour)

	require.NoError(t, a.Secrets.CreateUserSecret(ctx, "mine", val(1)))
	require.NoError(t, a.Secrets.CreateOrgSecret(ctx, "ours", val(2)))
	_, err := a.Secrets.ReadUserSecret(ctx, "mine")
	require.NoError(t, err)
	_, err = a.Secrets.ReadOrgSecret(ctx, "ours")
	require.NoError(t, err)

	// The same names, for another user: never alice's cached values.
	_, err = b.Secrets.ReadUserSecret(ctx, "mine")
	assert.ErrorIs(t, err, edge.ErrNotFound, "bob's user scope is his own")
	_, err = b.Secrets.ReadOrgSecret(ctx, "ours")
	assert.ErrorIs(t, err, edge.ErrPermissionDenied, "bob is no member of the org")
	assert.Equal(t, 2, p.readsOf("mine"))
	assert.Equal(t, 2, p.readsOf("ours"))

	// A second session of alice's own has a cache of its own.
	a2 := cachedSession(t, p.URL(), alice.Token, org, time.Hour)
	_, err = a2.Secrets.ReadUserSecret(ctx, "mine")
	require.NoError(t, err)
	assert.Equal(t, 3, p.readsOf("mine"))
}

func TestCacheReturnsCopies(t *testing.T) {
	t.Parallel()
	forEachCachedScope(t, time.Hour, func(t *testing.T, fx *cacheFixture, ops, _ scopes.Ops, _ func(string)) {
		ctx := context.Background()
		value := edge.Secret{"s": "x", "m": map[string]any{"k": "v"}, "l": []any{"a", map[string]any{"k": "v"}}}
		require.NoError(t, ops.Create(ctx, "s", value))
		want, err := ops.Read(ctx, "s")
		require.NoError(t, err)
		for range 2 {
			got, err := ops.Read(ctx, "s")
			require.NoError(t, err)
			assert.Equal(t, want, got)
			got["s"] = "changed"
			got["new"] = true
			got["m"].(map[string]any)["k"] = "changed"
			got["l"].([]any)[0] = "changed"
			got["l"].([]any)[1].(map[string]any)["k"] = "changed"
		}
		want["s"] = "changed" // the first read's value is the caller's too
		got, err := ops.Read(ctx, "s")
		require.NoError(t, err)
		assert.Equal(t, "x", got["s"])
		assert.Equal(t, map[string]any{"k": "v"}, got["m"])
		assert.Equal(t, []any{"a", map[string]any{"k": "v"}}, got["l"])
		assert.Equal(t, 1, fx.proxy.readsOf("s"))
	})
}

func TestCacheKeepsNoErrors(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	forEachCachedScope(t, time.Hour, func(t *testing.T, fx *cacheFixture, ops, other scopes.Ops, _ func(string)) {
		ctx := context.Background()
		_, err := ops.Read(ctx, "s")
		require.ErrorIs(t, err, edge.ErrNotFound)
		require.NoError(t, other.Create(ctx, "s", val(1)))
		assert.Equal(t, num(1), readV(t, ops, "s"), "a NotFound is not cached")

		require.NoError(t, other.Update(ctx, "s", val(2)))
		fx.cached.Secrets.InvalidateAll()
		fx.proxy.failReads(3, faultproxy.Sealed) // vault/api tries 3 times
		_, err = ops.Read(ctx, "s")
		require.ErrorIs(t, err, edge.ErrUnavailable)
		assert.Equal(t, 5, fx.proxy.readsOf("s"))
		assert.Equal(t, num(2), readV(t, ops, "s"), "a fault is not cached")
	})

	t.Run("denied", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		admin, member := vault.NewUser(t), vault.NewUser(t)
		org := vault.NewOrg(t, admin)
		require.NoError(t, vault.Session(t, admin, org).Secrets.CreateOrgSecret(ctx, "s", val(1)))
		sess := cachedSession(t, vault.Addr(), member.Token, org, time.Hour)
		_, err := sess.Secrets.ReadOrgSecret(ctx, "s")
		require.ErrorIs(t, err, edge.ErrPermissionDenied)
		vault.AddMember(t, org, member)
		got, err := sess.Secrets.ReadOrgSecret(ctx, "s")
		require.NoError(t, err, "a denial is not cached")
		assert.Equal(t, num(1), got["v"])
	})
}

// TestCacheServesRevokedMembersUntilInvalidated: the documented limit.
func TestCacheServesRevokedMembersUntilInvalidated(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	admin, member := vault.NewUser(t), vault.NewUser(t)
	org := vault.NewOrg(t, admin)
	vault.AddMember(t, org, member)
	require.NoError(t, vault.Session(t, admin, org).Secrets.CreateOrgSecret(ctx, "s", val(1)))
	sess := cachedSession(t, vault.Addr(), member.Token, org, time.Hour)
	_, err := sess.Secrets.ReadOrgSecret(ctx, "s")
	require.NoError(t, err)

	vault.RemoveMember(t, org, member)
	_, err = sess.Secrets.ReadOrgSecret(ctx, "s")
	assert.NoError(t, err, "served from the cache until the TTL ends")
	sess.Secrets.InvalidateAll()
	_, err = sess.Secrets.ReadOrgSecret(ctx, "s")
	assert.ErrorIs(t, err, edge.ErrPermissionDenied)
}

// TestCacheOneRequestPerMiss: 100 goroutines reading one cold name make
// one request to Vault, counted at the wire.
func TestCacheOneRequestPerMiss(t *testing.T) {
	t.Parallel()
	forEachCachedScope(t, time.Hour, func(t *testing.T, fx *cacheFixture, ops, other scopes.Ops, _ func(string)) {
		ctx := context.Background()
		require.NoError(t, other.Create(ctx, "cold", val(7)))
		// Every goroutine waits at the proxy's door: Vault's answer is
		// held back until all of them have asked.
		fx.proxy.SetDelay(300 * time.Millisecond)
		fx.proxy.failReads(1, faultproxy.Delay)
		var wg sync.WaitGroup
		var failed atomic.Int32
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := ops.Read(ctx, "cold")
				if err != nil || got["v"] != num(7) {
					failed.Add(1)
				}
			}()
		}
		wg.Wait()
		assert.Zero(t, failed.Load())
		assert.Equal(t, 1, fx.proxy.readsOf("cold"))
	})
}

// TestCacheCoherentUnderRace: one goroutine writes and reads its own
// writes while others read the same name without pause, keeping reads in
// flight across every write: the writer always reads what it wrote.
func TestCacheCoherentUnderRace(t *testing.T) {
	t.Parallel()
	forEachCachedScope(t, time.Hour, func(t *testing.T, fx *cacheFixture, ops, _ scopes.Ops, _ func(string)) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		require.NoError(t, ops.Create(ctx, "hot", val(0)))
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					if _, err := ops.Read(ctx, "hot"); err != nil && !errors.Is(err, context.Canceled) {
						t.Errorf("read: %v", err)
						return
					}
					time.Sleep(200 * time.Microsecond) // leave the CPU to the writer
				}
			}()
		}
		for i := 1; i <= 30; i++ {
			require.NoError(t, ops.Update(ctx, "hot", val(i)))
			require.Equal(t, num(i), readV(t, ops, "hot"), "update %d", i)
		}
		cancel()
		wg.Wait()
	})
}

// TestCacheWriteDuringRead: a read whose answer left Vault before the
// session's own update, and arrives after it, neither answers a read
// made after the update nor stays in the cache.
func TestCacheWriteDuringRead(t *testing.T) {
	t.Parallel()
	forEachCachedScope(t, time.Hour, func(t *testing.T, fx *cacheFixture, ops, _ scopes.Ops, _ func(string)) {
		ctx := context.Background()
		require.NoError(t, ops.Create(ctx, "s", val(1)))
		fx.proxy.SetDelay(500 * time.Millisecond)
		fx.proxy.failReads(1, faultproxy.DelayAnswer)
		early := make(chan any, 1)
		go func() {
			v, err := ops.Read(ctx, "s")
			assert.NoError(t, err)
			early <- v["v"]
		}()
		time.Sleep(100 * time.Millisecond) // Vault has answered 1; the answer is held

		require.NoError(t, ops.Update(ctx, "s", val(2)))
		assert.Equal(t, num(2), readV(t, ops, "s"), "a read after the update does not join the read before it")
		assert.Equal(t, num(1), <-early, "the early read answers what Vault said")
		assert.Equal(t, num(2), readV(t, ops, "s"), "the early read's answer is not cached")
		assert.Equal(t, num(2), readV(t, ops, "s"))
		assert.Equal(t, 2, fx.proxy.readsOf("s"), "after the update, one request")
	})
}

// TestCacheCallerContext: a reader whose context ends stops waiting at
// once, and the readers sharing its request still get the value.
func TestCacheCallerContext(t *testing.T) {
	t.Parallel()
	fx := newCacheFixture(t, time.Hour)
	ops := scopes.User(fx.cached)
	require.NoError(t, scopes.User(fx.other).Create(context.Background(), "s", val(5)))
	fx.proxy.SetDelay(300 * time.Millisecond)
	fx.proxy.failReads(1, faultproxy.Delay)

	leader, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := ops.Read(leader, "s"); done <- err }()
	time.Sleep(50 * time.Millisecond) // the leader's request is at the proxy
	type result struct {
		value edge.Secret
		err   error
	}
	follower := make(chan result, 1)
	go func() { v, err := ops.Read(context.Background(), "s"); follower <- result{v, err} }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	r := <-follower
	require.NoError(t, r.err, "the follower asks again with its own context")
	assert.Equal(t, num(5), r.value["v"])
}

func TestCacheConfig(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	u := vault.NewUser(t)
	for _, cfg := range []edge.Config{{CacheTTL: -time.Second}, {CacheTTL: time.Second, CacheSize: -1}} {
		cfg.Address, cfg.Token, cfg.Mount = vault.Addr(), u.Token, vault.Mount()
		_, err := edge.NewSession(context.Background(), cfg)
		assert.ErrorIs(t, err, edge.ErrBadEntry)
	}
}

// TestCacheWrapAlwaysAsksVault: a wrap is never served from the cache,
// even of a name the cache holds: each is a request, and its token
// unwraps to what Vault holds (here another client's newer value, while
// the cache still serves the older one).
func TestCacheWrapAlwaysAsksVault(t *testing.T) {
	t.Parallel()
	forEachCachedScope(t, time.Hour, func(t *testing.T, fx *cacheFixture, ops, other scopes.Ops, _ func(string)) {
		ctx := context.Background()
		require.NoError(t, ops.Create(ctx, "s", val(1)))
		assert.Equal(t, num(1), readV(t, ops, "s"))
		require.NoError(t, other.Update(ctx, "s", val(2)))
		require.Equal(t, num(1), readV(t, ops, "s"), "the cache serves the older value")
		before := fx.proxy.readsOf("s")

		receiver, err := api.NewClient(&api.Config{Address: edgetest.Start(t).Addr()})
		require.NoError(t, err)
		receiver.SetToken("")
		for range 2 {
			w, err := ops.Wrap(ctx, "s")
			require.NoError(t, err)
			got, err := edge.Unwrap(ctx, receiver, w.Token)
			require.NoError(t, err)
			assert.Equal(t, num(2), got["v"], "the wrapped value is Vault's")
		}
		assert.Equal(t, before+2, fx.proxy.readsOf("s"), "each wrap is a request")
	})
}
