package edge_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
)

// tenants are users made once per test binary and per Vault, shared by
// the tests of a Client that acts for many users: they need many users,
// not fresh ones.
var tenants struct {
	mu    sync.Mutex
	users map[*edgetest.Vault][]edgetest.User
}

// tenantUsers returns n users of vault, made on the first call with
// tokenUsers and shared by every caller after.
func tenantUsers(t *testing.T, vault *edgetest.Vault, n int) []edgetest.User {
	t.Helper()
	tenants.mu.Lock()
	defer tenants.mu.Unlock()
	if tenants.users == nil {
		tenants.users = map[*edgetest.Vault][]edgetest.User{}
	}
	have := tenants.users[vault]
	if len(have) < n {
		have = append(have, tokenUsers(t, vault, n-len(have))...)
		tenants.users[vault] = have
	}
	return have[:n]
}

// wire counts what a Client sends: requests, and TCP connections dialed.
type wire struct {
	next           http.RoundTripper
	requests, dial atomic.Int64
	mu             sync.Mutex
	paths          []string
}

func (w *wire) RoundTrip(req *http.Request) (*http.Response, error) {
	w.requests.Add(1)
	w.mu.Lock()
	w.paths = append(w.paths, req.Method+" "+req.URL.Path)
	w.mu.Unlock()
	return w.next.RoundTrip(req)
}

// take returns the requests' paths since the last take.
func (w *wire) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.paths
	w.paths = nil
	return p
}

// countingClient returns a vault/api client of vault without a token,
// trusting its CA over TLS, whose requests and dials w counts.
func tenantAPIClient(t *testing.T, vault *edgetest.Vault) (*api.Client, *wire) {
	t.Helper()
	cfg := api.DefaultConfig()
	require.NoError(t, cfg.Error)
	cfg.Address = vault.Addr()
	if ca := vault.CACert(); ca != "" {
		require.NoError(t, cfg.ConfigureTLS(&api.TLSConfig{CACert: ca}))
	}
	w := &wire{}
	tr := cfg.HttpClient.Transport.(*http.Transport)
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		w.dial.Add(1)
		return d.DialContext(ctx, network, addr)
	}
	tr.MaxIdleConnsPerHost = 64
	w.next = tr
	cfg.HttpClient.Transport = w
	c, err := api.NewClient(cfg)
	require.NoError(t, err)
	c.ClearToken()
	c.ClearNamespace()
	c.SetWrappingLookupFunc(func(string, string) string { return "" })
	return c, w
}

// newTenantClient returns a Client of vault without a token of its own,
// with cfg's other fields, closed when the test ends.
func newTenantClient(t *testing.T, vault *edgetest.Vault, cfg edge.Config) (*edge.Client, *wire) {
	t.Helper()
	api, w := tenantAPIClient(t, vault)
	cfg.Client, cfg.Mount = api, vault.Mount()
	c, err := edge.NewClient(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, w
}

// TestClientSessionCost: a session of a Client costs no request when it
// is made; a new user's first user operation costs one lookup-self more
// (and the Client's first operation its one mount check); a returning
// user's costs the operation's request alone; org operations never look
// up.
func TestClientSessionCost(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	users := tenantUsers(t, vault, 3)
	org := vault.NewOrg(t, users[0])
	c, w := newTenantClient(t, vault, edge.Config{Org: org})
	require.Empty(t, w.take(), "NewClient without a token sends nothing")

	steps := []struct {
		name string
		run  func() error
		want []string
	}{
		{"first session, user read", func() error {
			s, err := c.Session(ctx, users[0].Token)
			if err != nil {
				return err
			}
			defer s.Close()
			err = s.Secrets.CreateUserSecret(ctx, "cost", edge.Secret{"v": "0"})
			return err
		}, []string{"GET /v1/auth/token/lookup-self", "GET /v1/sys/internal/ui/mounts/secret", "PUT /v1/secret/data/edge/users/"}},
		{"returning user", func() error {
			s, err := c.Session(ctx, users[0].Token)
			if err != nil {
				return err
			}
			defer s.Close()
			_, err = s.Secrets.ReadUserSecret(ctx, "cost")
			return err
		}, []string{"GET /v1/secret/data/edge/users/"}},
		{"new user", func() error {
			s, err := c.Session(ctx, users[1].Token)
			if err != nil {
				return err
			}
			defer s.Close()
			_, err = s.Secrets.ListUserSecrets(ctx)
			return err
		}, []string{"GET /v1/auth/token/lookup-self", "GET /v1/secret/metadata/edge/users/"}},
		{"org operation, unknown token", func() error {
			s, err := c.Session(ctx, users[2].Token)
			if err != nil {
				return err
			}
			defer s.Close()
			_, err = s.Secrets.ListOrgSecrets(ctx)
			if !assert.ErrorIs(t, err, edge.ErrPermissionDenied, "users[2] is no member") {
				return err
			}
			assert.Empty(t, s.EntityID(), "not looked up")
			return nil
		}, []string{"GET /v1/secret/metadata/edge/orgs/"}},
		{"session only", func() error {
			s, err := c.Session(ctx, users[2].Token)
			if err != nil {
				return err
			}
			return s.Close()
		}, nil},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			require.NoError(t, st.run())
			got := w.take()
			require.Len(t, got, len(st.want), "%q", got)
			for i := range got {
				assert.True(t, strings.HasPrefix(got[i], st.want[i]), "request %d: %q, want %q...", i, got[i], st.want[i])
			}
		})
	}
	id, err := func() (string, error) {
		s, err := c.Session(ctx, users[2].Token)
		require.NoError(t, err)
		return s.LookupEntityID(ctx)
	}()
	require.NoError(t, err)
	assert.Equal(t, users[2].EntityID, id)
}

// TestClientSessionBadTokens: an empty token, or one with a character no
// Vault token has, is refused by Session at once, unquoted; a token Vault
// does not know is refused by the first operation (ErrPermissionDenied),
// in both scopes, and the Client does not remember it.
func TestClientSessionBadTokens(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	c, _ := newTenantClient(t, vault, edge.Config{Org: "acme"})
	for _, tok := range []string{"", " hvs.padded", "hvs.a\x01SECRETPART", "hvs.\u00e9SECRETPART", "hvs.with space SECRETPART"} {
		_, err := c.Session(ctx, tok)
		require.ErrorIs(t, err, edge.ErrBadEntry, "%q", tok)
		assert.NotContains(t, err.Error(), "SECRETPART")
	}
	s, err := c.Session(ctx, "hvs.NOTATOKENatallSECRETPART")
	require.NoError(t, err)
	_, err = s.Secrets.ReadUserSecret(ctx, "x")
	require.ErrorIs(t, err, edge.ErrPermissionDenied)
	assertOneKind(t, err)
	assert.NotContains(t, err.Error(), "SECRETPART")
	_, err = s.Secrets.ReadOrgSecret(ctx, "x")
	require.ErrorIs(t, err, edge.ErrPermissionDenied)
	_, err = s.LookupEntityID(ctx)
	require.ErrorIs(t, err, edge.ErrPermissionDenied)
}

// TestClientCachesAreTheTokens: with CacheTTL, two sessions of one
// Client for different tokens never see each other's cached values: an
// outsider of the org does not read the org secret a member's session
// has cached, and each user reads their own user secret of the same name.
func TestClientCachesAreTheTokens(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	users := tenantUsers(t, vault, 4)
	member, outsider := users[2], users[3]
	admin := vault.NewUser(t)
	org := vault.NewOrg(t, admin)
	vault.AddMember(t, org, member)
	require.NoError(t, vault.Session(t, admin, org).Secrets.CreateOrgSecret(ctx, "shared", edge.Secret{"v": "org"}))
	c, _ := newTenantClient(t, vault, edge.Config{Org: org, CacheTTL: time.Minute})

	m, err := c.Session(ctx, member.Token)
	require.NoError(t, err)
	got, err := m.Secrets.ReadOrgSecret(ctx, "shared")
	require.NoError(t, err)
	require.Equal(t, "org", got["v"])
	o, err := c.Session(ctx, outsider.Token)
	require.NoError(t, err)
	_, err = o.Secrets.ReadOrgSecret(ctx, "shared")
	require.ErrorIs(t, err, edge.ErrPermissionDenied, "the member's cached value is not the outsider's")

	for _, u := range []edgetest.User{member, outsider} {
		s, err := c.Session(ctx, u.Token)
		require.NoError(t, err)
		_ = s.Secrets.DeleteUserSecret(ctx, "mine")
		require.NoError(t, s.Secrets.CreateUserSecret(ctx, "mine", edge.Secret{"owner": u.Name}))
	}
	for range 2 {
		for _, u := range []edgetest.User{member, outsider} {
			s, err := c.Session(ctx, u.Token)
			require.NoError(t, err)
			got, err := s.Secrets.ReadUserSecret(ctx, "mine")
			require.NoError(t, err)
			assert.Equal(t, u.Name, got["owner"])
		}
	}
}

// TestClientIsolationUnderLoad: 200 users interleaved over 32 goroutines
// on one Client, each writing and reading only its own secrets, every
// answer checked against its own user: no value, error or identity ever
// crosses users. One token is revoked mid-run: its user alone gets
// ErrPermissionDenied, and nobody else's data.
func TestClientIsolationUnderLoad(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	users := tenantUsers(t, vault, 200)
	c, _ := newTenantClient(t, vault, edge.Config{})
	root := vault.RootClient(t)
	victim := users[17]

	const workers, rounds = 32, 6
	var revoked atomic.Bool
	var ops, denied atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for w := range workers {
		g.Go(func() error {
			for r := range rounds {
				for i := w; i < len(users); i += workers {
					if gctx.Err() != nil {
						return nil
					}
					u := users[i]
					if r == rounds/2 && i == 17 && revoked.CompareAndSwap(false, true) {
						if err := root.Auth().Token().RevokeTreeWithContext(ctx, u.Token); err != nil {
							return fmt.Errorf("revoking: %w", err)
						}
					}
					s, err := c.Session(ctx, u.Token)
					if err != nil {
						return err
					}
					name := fmt.Sprintf("iso-%d", r)
					want := edge.Secret{"owner": u.Name, "round": fmt.Sprint(r)}
					err = s.Secrets.CreateUserSecret(ctx, name, want)
					if err == nil {
						var got edge.Secret
						got, err = s.Secrets.ReadUserSecret(ctx, name)
						if err == nil && (got["owner"] != u.Name || got["round"] != fmt.Sprint(r)) {
							return fmt.Errorf("user %d read %v", i, got)
						}
					}
					if err == nil && s.EntityID() != u.EntityID {
						return fmt.Errorf("user %d: session entity is another user's", i)
					}
					ops.Add(1)
					switch {
					case err == nil:
					case u.Name == victim.Name && revoked.Load() && errorsIsDenied(err):
						denied.Add(1)
					default:
						return fmt.Errorf("user %d, round %d: %w", i, r, err)
					}
					_ = s.Close()
				}
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	assert.True(t, revoked.Load())
	assert.NotZero(t, denied.Load(), "the revoked user was refused")
	assert.LessOrEqual(t, denied.Load(), int64(rounds), "only the revoked user was refused")
	t.Logf("%d operations pairs by %d users over %d goroutines; %d refused after the revocation", ops.Load(), len(users), workers, denied.Load())
}

func errorsIsDenied(err error) bool { return errors.Is(err, edge.ErrPermissionDenied) }

// TestClientManySessions: 10,000 live sessions of one Client, over 200
// tokens, each after a user operation (its identity known), cost at
// most 2 kB of heap each and no goroutine.
func TestClientManySessions(t *testing.T) {
	vault := edgetest.Start(t)
	ctx := context.Background()
	users := tenantUsers(t, vault, 200)
	c, _ := newTenantClient(t, vault, edge.Config{Org: "acme"})
	for _, u := range users {
		s, err := c.Session(ctx, u.Token)
		require.NoError(t, err)
		_, err = s.LookupEntityID(ctx) // the Client learns every identity
		require.NoError(t, err)
	}
	const n = 10000
	sessions := make([]*edge.Session, 0, n)
	var before, after runtime.MemStats
	runtime.GC()
	goroutines := runtime.NumGoroutine()
	runtime.ReadMemStats(&before)
	for i := range n {
		s, err := c.Session(ctx, users[i%len(users)].Token)
		require.NoError(t, err)
		_, err = s.LookupEntityID(ctx) // no request: known to the Client
		require.NoError(t, err)
		sessions = append(sessions, s)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perSession := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
	t.Logf("%d live sessions: %.0f B of heap each, %d goroutines before and %d after", n, perSession, goroutines, runtime.NumGoroutine())
	assert.LessOrEqual(t, perSession, 2048.0)
	assert.LessOrEqual(t, runtime.NumGoroutine(), goroutines+2, "sessions start no goroutine")
	runtime.KeepAlive(sessions)
}

// TestClientOverTLS: over the TLS dev Vault, 1,000 concurrent tenant
// reads through one Client go over HTTP/2, on at most 4 TCP
// connections. The Client's transport is a copy of the caller's, made by
// the SDK (an *http.Transport with vault/api's HTTP/2 setup and a
// counting dialer); each read's context traces the connection it got.
func TestClientOverTLS(t *testing.T) {
	t.Parallel()
	vault := edgetest.StartTLS(t)
	ctx := context.Background()
	users := tenantUsers(t, vault, 20)
	for _, u := range users {
		require.NoError(t, vault.Session(t, u, "").Secrets.CreateUserSecret(ctx, "tls", edge.Secret{"owner": u.Name}))
	}
	cfg := api.DefaultConfig()
	require.NoError(t, cfg.Error)
	cfg.Address = vault.Addr()
	require.NoError(t, cfg.ConfigureTLS(&api.TLSConfig{CACert: vault.CACert()}))
	var dials atomic.Int64
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	cfg.HttpClient.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return d.DialContext(ctx, network, addr)
	}
	caller, err := api.NewClient(cfg)
	require.NoError(t, err)
	caller.ClearToken()
	c, err := edge.NewClient(ctx, edge.Config{Client: caller, Mount: vault.Mount()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	var conns, h2 atomic.Int64
	trace := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		conns.Add(1)
		if tc, ok := info.Conn.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol == "h2" {
			h2.Add(1)
		}
	}})
	const reads = 1000
	var g errgroup.Group
	for i := range reads {
		g.Go(func() error {
			u := users[i%len(users)]
			s, err := c.Session(trace, u.Token)
			if err != nil {
				return err
			}
			defer s.Close()
			got, err := s.Secrets.ReadUserSecret(trace, "tls")
			if err != nil {
				return err
			}
			if got["owner"] != u.Name {
				return fmt.Errorf("read %v as %s", got, u.Name)
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	require.GreaterOrEqual(t, conns.Load(), int64(reads))
	assert.Equal(t, conns.Load(), h2.Load(), "every request over HTTP/2")
	assert.LessOrEqual(t, dials.Load(), int64(4), "TCP connections")
	t.Logf("%d concurrent reads over TLS: %d requests, %d over HTTP/2, %d TCP connections", reads, conns.Load(), h2.Load(), dials.Load())
}
