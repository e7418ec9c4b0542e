package edge_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
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

// Config.CacheStaleIfError against the shared dev Vault, behind a fault
// proxy that plays the outage (a sealed Vault's 503, dropped connections,
// a Vault that does not answer) without sealing the Vault other tests
// use. The cache reads the time from a fake clock: no test waits for a
// TTL to pass.

const (
	staleTTL    = time.Minute
	staleWindow = 2 * time.Minute // CacheStaleIfError

	msgStale     = "edge: read: vault unavailable, serving a stale value"
	msgRecovered = "edge: read: vault answers again after stale values were served"
)

// outageProxy is a fault proxy in front of the shared dev Vault that
// answers every request with one fault while an outage lasts.
type outageProxy struct {
	*faultproxy.Proxy
	fault atomic.Int32 // a faultproxy.Fault; None: no outage
	reads atomic.Int64 // reads of KV v2 data paths, outage or not
}

func newOutageProxy(t *testing.T) *outageProxy {
	t.Helper()
	p, err := faultproxy.New(edgetest.Start(t).Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	op := &outageProxy{Proxy: p}
	p.SetDelay(time.Minute) // Delay: a Vault that does not answer
	p.SetRule(func(r faultproxy.Request) faultproxy.Fault {
		if r.Method == http.MethodGet && strings.Contains(r.Path, "/data/") {
			op.reads.Add(1)
		}
		return faultproxy.Fault(op.fault.Load())
	})
	return op
}

// outage starts an outage of fault f; None ends it.
func (p *outageProxy) outage(f faultproxy.Fault) { p.fault.Store(int32(f)) }

// staleKinds are the two ways to make a session: NewSession, and
// Client.Session, whose sessions take the read cache's settings from the
// Client's Config. Both get clientCfg's vault/api client (at the proxy,
// with fast retries), the cache, a fake clock and log.
var staleKinds = []struct {
	name string
	make func(t *testing.T, clientCfg *api.Config, token string, cfg edge.Config) *edge.Session
}{
	{"NewSession", func(t *testing.T, clientCfg *api.Config, token string, cfg edge.Config) *edge.Session {
		client, err := api.NewClient(clientCfg)
		require.NoError(t, err)
		client.SetToken(token)
		cfg.Client = client
		sess, err := edge.NewSession(context.Background(), cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = sess.Close() })
		return sess
	}},
	{"Client.Session", func(t *testing.T, clientCfg *api.Config, token string, cfg edge.Config) *edge.Session {
		client, err := api.NewClient(clientCfg)
		require.NoError(t, err)
		client.SetToken("")
		cfg.Client = client
		c, err := edge.NewClient(context.Background(), cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		sess, err := c.Session(context.Background(), token)
		require.NoError(t, err)
		t.Cleanup(func() { _ = sess.Close() })
		return sess
	}},
}

// staleFixture is a fresh user, admin of a fresh org, with a session
// (cached, stale-if-error) through an outage proxy and a session
// straight to Vault, another client of the same user.
type staleFixture struct {
	user   edgetest.User
	org    string
	proxy  *outageProxy
	clock  *edge.FakeClock
	log    *recordLog
	sess   *edge.Session
	cached scopes.Ops // through the proxy
	other  scopes.Ops // straight to Vault
}

// newStaleFixture makes the fixture for one session kind and scope;
// tune, if not nil, changes the proxied session's vault/api Config.
func newStaleFixture(t *testing.T, kind int, scope string, tune func(*api.Config)) *staleFixture {
	t.Helper()
	vault := edgetest.Start(t)
	u := vault.NewUser(t)
	org := vault.NewOrg(t, u)
	p := newOutageProxy(t)
	clientCfg := fastRetries(p.URL())
	if tune != nil {
		tune(clientCfg)
	}
	log := &recordLog{}
	sess := staleKinds[kind].make(t, clientCfg, u.Token, edge.Config{Org: org, Mount: vault.Mount(),
		CacheTTL: staleTTL, CacheStaleIfError: staleWindow, Logger: slog.New(log)})
	clock := edge.NewFakeClock()
	edge.SetCacheClock(sess, clock)
	pick := scopes.User
	if scope == "org" {
		pick = scopes.Org
	}
	return &staleFixture{user: u, org: org, proxy: p, clock: clock, log: log, sess: sess,
		cached: pick(sess), other: pick(vault.Session(t, u, org))}
}

// forEachStaleKind runs f as a parallel subtest for each session kind
// and scope.
func forEachStaleKind(t *testing.T, scopeNames []string, f func(t *testing.T, kind int, scope string)) {
	for kind, k := range staleKinds {
		for _, scope := range scopeNames {
			t.Run(k.name+"/"+scope, func(t *testing.T) {
				t.Parallel()
				f(t, kind, scope)
			})
		}
	}
}

// staleValue is a value of the stale tests, with a canary no log record
// may show.
func staleValue(v string) edge.Secret { return edge.Secret{"v": faultCanary + "-" + v} }

func (fx *staleFixture) read(t *testing.T) (string, error) {
	t.Helper()
	got, err := fx.cached.Read(context.Background(), "s")
	if err != nil {
		assert.Nil(t, got)
		return "", err
	}
	return strings.TrimPrefix(got["v"].(string), faultCanary+"-"), nil
}

// at moves the fake clock to d after t0.
func (fx *staleFixture) at(t0 time.Time, d time.Duration) {
	fx.clock.Add(t0.Add(d).Sub(fx.clock.Now()))
}

// assertNoSecretsLogged checks that no record shows a value or the token.
func (fx *staleFixture) assertNoSecretsLogged(t *testing.T) {
	t.Helper()
	for _, r := range fx.log.all() {
		text := r.Message
		r.Attrs(func(a slog.Attr) bool { text += " " + a.String(); return true })
		assert.NotContains(t, text, faultCanary+"-", "a value in %q", text)
		assert.NotContains(t, text, fx.user.Token, "the token in a record")
	}
}

// records returns the records of message msg at level.
func (fx *staleFixture) records(msg string, level slog.Level) []slog.Record {
	var out []slog.Record
	for _, r := range fx.log.all() {
		if r.Message == msg && r.Level == level {
			out = append(out, r)
		}
	}
	return out
}

// warnings returns the Warn records of stale serves, the first of each
// outage; recoveries the Info records of their ends.
func (fx *staleFixture) warnings() []slog.Record   { return fx.records(msgStale, slog.LevelWarn) }
func (fx *staleFixture) recoveries() []slog.Record { return fx.records(msgRecovered, slog.LevelInfo) }

func attrOf(r slog.Record, key string) slog.Value {
	var v slog.Value
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value
			return false
		}
		return true
	})
	return v
}

// TestCacheStaleDuringOutage: while Vault is sealed, or drops every
// connection, an expired value is served up to CacheTTL +
// CacheStaleIfError after it was read, each read still asking Vault
// first; after that bound the read fails with ErrUnavailable. When Vault
// answers again the fresh value returns, with one Info record; the first
// stale serve of each outage has one Warn record, and no record holds a
// value or the token.
func TestCacheStaleDuringOutage(t *testing.T) {
	t.Parallel()
	for _, fault := range []faultproxy.Fault{faultproxy.Sealed, faultproxy.Reset} {
		t.Run(fault.String(), func(t *testing.T) {
			t.Parallel()
			forEachStaleKind(t, []string{"user", "org"}, func(t *testing.T, kind int, scope string) {
				fx := newStaleFixture(t, kind, scope, nil)
				ctx := context.Background()
				require.NoError(t, fx.other.Create(ctx, "s", staleValue("1")))
				t0 := fx.clock.Now()
				v, err := fx.read(t)
				require.NoError(t, err)
				require.Equal(t, "1", v)
				require.NoError(t, fx.other.Update(ctx, "s", staleValue("2")))

				fx.proxy.outage(fault)
				for _, at := range []time.Duration{staleTTL + time.Nanosecond, staleTTL + staleWindow/2, staleTTL + staleWindow - time.Nanosecond} {
					fx.at(t0, at)
					before := fx.proxy.reads.Load()
					v, err := fx.read(t)
					require.NoError(t, err, "%v after the read, inside the bound", at)
					assert.Equal(t, "1", v, "the stale value")
					assert.Greater(t, fx.proxy.reads.Load(), before, "the read asked Vault first")
				}
				require.Equal(t, 1, len(fx.warnings()), "one Warn per outage")
				warn := fx.warnings()[0]
				assert.Len(t, fx.records(msgStale, slog.LevelDebug), 2, "later stale serves are Debug records")
				assert.Equal(t, "s", attrOf(warn, "name").String())
				assert.Equal(t, scope, attrOf(warn, "scope").String())
				assert.Equal(t, "ErrUnavailable", attrOf(warn, "outcome").String())
				assert.Equal(t, staleTTL+time.Nanosecond, attrOf(warn, "age").Duration())

				fx.proxy.outage(faultproxy.None)
				v, err = fx.read(t)
				require.NoError(t, err)
				assert.Equal(t, "2", v, "Vault answers again: the fresh value")
				require.Equal(t, 1, len(fx.recoveries()))
				info := fx.recoveries()[0]
				assert.Equal(t, "ok", attrOf(info, "outcome").String())
				assert.Equal(t, "s", attrOf(info, "name").String())
				before := fx.proxy.reads.Load()
				v, err = fx.read(t)
				require.NoError(t, err)
				assert.Equal(t, "2", v)
				assert.Equal(t, before, fx.proxy.reads.Load(), "the fresh value is cached again")

				// A second outage: stale again, reported again, and
				// refused once the value is CacheTTL + CacheStaleIfError
				// old.
				t1 := fx.clock.Now()
				fx.proxy.outage(fault)
				fx.at(t1, staleTTL+time.Nanosecond)
				v, err = fx.read(t)
				require.NoError(t, err)
				assert.Equal(t, "2", v)
				assert.Equal(t, 2, len(fx.warnings()), "a new outage is reported")
				fx.at(t1, staleTTL+staleWindow)
				_, err = fx.read(t)
				require.ErrorIs(t, err, edge.ErrUnavailable, "past the bound")
				fx.at(t1, staleTTL+staleWindow-time.Nanosecond) // the value was dropped
				_, err = fx.read(t)
				require.ErrorIs(t, err, edge.ErrUnavailable)
				assert.Equal(t, 2, len(fx.warnings()))
				fx.assertNoSecretsLogged(t)
			})
		})
	}
}

// TestCacheStaleNeverMasksAnswers: whatever Vault answers is returned at
// once, even with a stale value cached (a 404 for a secret another
// session deleted, a 403 for a revoked token or a member removed from
// the org), and ends the stale value: a later outage does not bring it
// back.
func TestCacheStaleNeverMasksAnswers(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	for _, tc := range []struct {
		name   string
		scope  string
		member bool // the cached session is a member's of the fixture's org
		change func(t *testing.T, fx *staleFixture, member edgetest.User)
		want   error
	}{
		{"deleted by another session", "user", false, func(t *testing.T, fx *staleFixture, _ edgetest.User) {
			require.NoError(t, fx.other.Delete(context.Background(), "s"))
		}, edge.ErrNotFound},
		{"token revoked", "user", false, func(t *testing.T, fx *staleFixture, _ edgetest.User) {
			_, err := vault.RootClient(t).Logical().Write("auth/token/revoke", map[string]any{"token": fx.user.Token})
			require.NoError(t, err)
		}, edge.ErrPermissionDenied},
		{"removed from the org", "org", true, func(t *testing.T, fx *staleFixture, member edgetest.User) {
			vault.RemoveMember(t, fx.org, member)
		}, edge.ErrPermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachStaleKind(t, []string{tc.scope}, func(t *testing.T, kind int, scope string) {
				fx := newStaleFixture(t, kind, scope, nil)
				ctx := context.Background()
				require.NoError(t, fx.other.Create(ctx, "s", staleValue("1")))
				var member edgetest.User
				if tc.member {
					member = vault.NewUser(t)
					vault.AddMember(t, fx.org, member)
					sess := staleKinds[kind].make(t, fastRetries(fx.proxy.URL()), member.Token, edge.Config{Org: fx.org, Mount: vault.Mount(),
						CacheTTL: staleTTL, CacheStaleIfError: staleWindow, Logger: slog.New(fx.log)})
					edge.SetCacheClock(sess, fx.clock)
					fx.cached = scopes.Org(sess)
				}
				require.NoError(t, fx.other.Create(ctx, "s2", staleValue("1")))
				t0 := fx.clock.Now()
				_, err := fx.read(t)
				require.NoError(t, err)
				_, err = fx.cached.Read(ctx, "s2") // a second name in the cache
				require.NoError(t, err)
				tc.change(t, fx, member)
				fx.at(t0, staleTTL+time.Nanosecond)

				_, err = fx.read(t)
				require.ErrorIs(t, err, tc.want, "Vault's answer, at once")
				assert.NotErrorIs(t, err, edge.ErrUnavailable)

				fx.proxy.outage(faultproxy.Sealed)
				_, err = fx.read(t)
				assert.ErrorIs(t, err, edge.ErrUnavailable, "the answer dropped the stale value")
				assert.Zero(t, len(fx.warnings()))
				// A refusal drops every cached value of the session, not
				// only the refused name's: the token may be revoked, or the
				// user removed from the org. A not-found drops its name only.
				_, err = fx.cached.Read(ctx, "s2")
				if errors.Is(tc.want, edge.ErrPermissionDenied) {
					assert.ErrorIs(t, err, edge.ErrUnavailable, "no stale value of another name after a refusal")
				} else {
					assert.NoError(t, err, "another name's value is still served stale")
				}
			})
		})
	}
}

// TestCacheStaleDeadlines: an outage in which Vault holds every request
// without answering. A caller whose context ends first gets its
// context's error, never a stale value; a session whose vault/api client
// times out first (Config.Timeout, the client's own request timeout)
// gets ErrUnavailable from the refresh, and so the stale value.
func TestCacheStaleDeadlines(t *testing.T) {
	t.Parallel()
	forEachStaleKind(t, []string{"user"}, func(t *testing.T, kind int, scope string) {
		fx := newStaleFixture(t, kind, scope, func(c *api.Config) { c.Timeout = 300 * time.Millisecond })
		ctx := context.Background()
		require.NoError(t, fx.other.Create(ctx, "s", staleValue("1")))
		t0 := fx.clock.Now()
		_, err := fx.read(t)
		require.NoError(t, err)
		fx.proxy.outage(faultproxy.Delay)
		fx.at(t0, staleTTL+time.Nanosecond)

		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		got, err := fx.cached.Read(short, "s")
		require.ErrorIs(t, err, context.DeadlineExceeded, "the caller's deadline")
		assert.NotErrorIs(t, err, edge.ErrUnavailable)
		assert.Nil(t, got)
		assert.Zero(t, len(fx.warnings()))

		v, err := fx.read(t)
		require.NoError(t, err, "the client's own timeout is ErrUnavailable: stale")
		assert.Equal(t, "1", v)
		assert.Equal(t, 1, len(fx.warnings()))
	})
}

// TestCacheStaleClientTimeoutIsUnavailable: without a cache, a read
// whose vault/api client times out is ErrUnavailable, and a read whose
// caller's deadline passes is the context's error alone.
func TestCacheStaleClientTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	u := vault.NewUser(t)
	p := newOutageProxy(t)
	clientCfg := fastRetries(p.URL())
	clientCfg.Timeout = 200 * time.Millisecond
	sess := staleKinds[0].make(t, clientCfg, u.Token, edge.Config{Mount: vault.Mount()})
	ctx := context.Background()
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "s", staleValue("1")))
	p.outage(faultproxy.Delay)
	_, err := sess.Secrets.ReadUserSecret(ctx, "s")
	require.ErrorIs(t, err, edge.ErrUnavailable)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the cause shows")
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = sess.Secrets.ReadUserSecret(short, "s")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, edge.ErrUnavailable)
}

// TestCacheStaleConcurrent: many readers of one name through an outage
// and its end, under -race: every read returns the value, stale during
// the outage and fresh after it, never an error; the outage is reported
// once and its end once.
func TestCacheStaleConcurrent(t *testing.T) {
	t.Parallel()
	forEachStaleKind(t, []string{"user"}, func(t *testing.T, kind int, scope string) {
		const readers = 32
		fx := newStaleFixture(t, kind, scope, nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		require.NoError(t, fx.other.Create(ctx, "s", staleValue("old")))
		t0 := fx.clock.Now()
		_, err := fx.read(t)
		require.NoError(t, err)
		fx.proxy.outage(faultproxy.Sealed)
		fx.at(t0, staleTTL+time.Nanosecond)

		var (
			wg       sync.WaitGroup
			stale    = make(chan struct{}, readers) // a reader's fifth stale value
			fresh    = make(chan struct{}, readers) // a reader's first fresh value
			failures atomic.Int32
		)
		for range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				olds, news := 0, 0
				for ctx.Err() == nil {
					got, err := fx.cached.Read(ctx, "s")
					switch {
					case err != nil:
						if ctx.Err() == nil {
							t.Errorf("read: %v", err)
							failures.Add(1)
						}
						return
					case got["v"] == faultCanary+"-old":
						if news > 0 {
							t.Errorf("the stale value after the fresh one")
							failures.Add(1)
							return
						}
						if olds++; olds == 5 {
							stale <- struct{}{}
						}
					case got["v"] == faultCanary+"-new":
						if news++; news == 1 {
							fresh <- struct{}{}
						}
					default:
						t.Errorf("read %v", got["v"])
						failures.Add(1)
						return
					}
				}
			}()
		}
		wait := func(ch chan struct{}, what string) {
			for range readers {
				select {
				case <-ch:
				case <-time.After(20 * time.Second):
					t.Fatalf("not every reader got %s", what)
				}
			}
		}
		wait(stale, "five stale values")
		require.NoError(t, fx.other.Update(context.Background(), "s", staleValue("new")))
		fx.proxy.outage(faultproxy.None)
		wait(fresh, "the fresh value")
		cancel()
		wg.Wait()
		assert.Zero(t, failures.Load())
		assert.Equal(t, 1, len(fx.warnings()), "one Warn for the outage")
		assert.Equal(t, 1, len(fx.recoveries()), "one Info for its end")
		fx.assertNoSecretsLogged(t)
	})
}

// TestCacheStaleConfig: CacheStaleIfError must not be negative, and
// needs CacheTTL.
func TestCacheStaleConfig(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	u := vault.NewUser(t)
	for _, cfg := range []edge.Config{
		{CacheTTL: time.Second, CacheStaleIfError: -time.Second},
		{CacheStaleIfError: time.Second},
		{CacheTTL: time.Second, CacheStaleIfError: math.MaxInt64}, // the sum would overflow
	} {
		cfg.Address, cfg.Token, cfg.Mount = vault.Addr(), u.Token, vault.Mount()
		_, err := edge.NewSession(context.Background(), cfg)
		assert.ErrorIs(t, err, edge.ErrBadEntry)
		_, err = edge.NewClient(context.Background(), cfg)
		assert.ErrorIs(t, err, edge.ErrBadEntry)
	}
}
