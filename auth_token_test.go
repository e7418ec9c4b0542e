package edge_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
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

// tokenWire is a reverse proxy in front of the test Vault that sees
// which token each renewal and each secret read carries. Tokens are
// known by labels (1 for the first seen, 2, ...), so that no assertion
// prints one.
type tokenWire struct {
	*httptest.Server
	mu       sync.Mutex
	labels   map[string]int
	renewals []int // the label of each renewal's token, in order
	reads    []int // the label of each read's token, in order

	// hold, when set, answers the next renewal itself: it is called
	// with the renewal's token, and its answer is sent as a 400.
	hold atomic.Pointer[func(token string)]
	// onLogin, when set, is called (once) when a login request arrives.
	onLogin atomic.Pointer[func()]
}

func newTokenWire(t *testing.T) *tokenWire {
	t.Helper()
	target, err := url.Parse(edgetest.Start(t).Addr())
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	w := &tokenWire{labels: map[string]int{}}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		token := r.Header.Get("X-Vault-Token")
		switch {
		case r.URL.Path == "/v1/auth/token/renew-self":
			w.note(&w.renewals, token)
			if h := w.hold.Swap(nil); h != nil {
				(*h)(token)
				http.Error(rw, `{"errors":["renewal refused by the test"]}`, http.StatusBadRequest)
				return
			}
		case r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/data/"):
			w.note(&w.reads, token)
		case strings.HasPrefix(r.URL.Path, "/v1/auth/userpass/login/"):
			if f := w.onLogin.Swap(nil); f != nil {
				(*f)()
			}
		}
		rp.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *tokenWire) note(list *[]int, token string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.labels[token]; !ok {
		w.labels[token] = len(w.labels) + 1
	}
	*list = append(*list, w.labels[token])
}

// snapshot returns copies of the renewals' and the reads' labels.
func (w *tokenWire) snapshot() (renewals, reads []int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int(nil), w.renewals...), append([]int(nil), w.reads...)
}

// TestAuthRenewsTheTokenInUse: an operation finds the session's token
// revoked and logs in again while the background renewal of that token
// fails and wants to log in too. Afterwards every renewal is of the
// token the operations send, and that token is renewed. (Issue 19, 1.)
func TestAuthRenewsTheTokenInUse(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	// 2 s tokens: the renewal, every ~1.3 s, fails at once when refused
	// (vault/api's watcher retries only within the lease).
	method, _ := userpassAuth(t, 2*time.Second, time.Hour)
	wire := newTokenWire(t)
	sess := vault.NewSession(t, edge.Config{Address: wire.URL, Auth: method})
	ctx := context.Background()
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "in-use", edge.Secret{"v": 1}))

	// The next renewal: Vault revokes the token, and the renewal's
	// refusal is answered only once the operation's recovery sends its
	// login; that login's answer is held a moment, so that the watcher
	// has taken the refusal before the recovery ends.
	root := vault.RootClient(t)
	held, release := make(chan struct{}), make(chan struct{})
	var revokeErr error
	hold := func(token string) {
		_, revokeErr = root.Logical().WriteWithContext(ctx, "auth/token/revoke", map[string]any{"token": token})
		close(held)
		<-release
	}
	wire.hold.Store(&hold)
	select {
	case <-held:
	case <-time.After(5 * time.Second):
		t.Fatal("no renewal within 5 s")
	}
	require.NoError(t, revokeErr)
	onLogin := func() {
		close(release)
		time.Sleep(100 * time.Millisecond) // the watcher's turn; it cannot be observed
	}
	wire.onLogin.Store(&onLogin)
	_, err := sess.Secrets.ReadUserSecret(ctx, "in-use")
	require.NoError(t, err, "the read recovers from the revocation")
	select {
	case <-release:
	default:
		t.Fatal("the read's recovery sent no login")
	}

	// Read on until two more renewals were sent, each round of the
	// watcher's.
	recovered, _ := wire.snapshot()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := sess.Secrets.ReadUserSecret(ctx, "in-use")
		require.NoError(t, err)
		if renewals, _ := wire.snapshot(); len(renewals) >= len(recovered)+2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	renewals, reads := wire.snapshot()
	after := renewals[len(recovered):]
	inUse := reads[len(reads)-1]
	t.Logf("renewals by token before the recovery %v, after it %v; the reads send token %d", recovered, after, inUse)
	require.GreaterOrEqual(t, len(after), 2, "renewals after the recovery")
	for i, label := range after {
		assert.Equal(t, inUse, label, "renewal %d after the recovery is of the token the reads send", i)
	}
}

// leaselessAuth logs in with method and reports the token as one without
// a lease (lease_duration 0), renewable or not: a non-expiring token, or
// a method that reports no TTL.
type leaselessAuth struct {
	method    api.AuthMethod
	renewable bool
	logins    atomic.Int64
}

func (l *leaselessAuth) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	l.logins.Add(1)
	s, err := l.method.Login(ctx, c)
	if err == nil && s != nil && s.Auth != nil {
		s.Auth.LeaseDuration, s.Auth.Renewable = 0, l.renewable
	}
	return s, err
}

// TestAuthZeroLeaseTokenLogsInOnce: a login whose token has no lease is
// used as it is, and never renewed or replaced: 1 login over 3 s of
// operations. (Issue 19, 2.)
func TestAuthZeroLeaseTokenLogsInOnce(t *testing.T) {
	t.Parallel()
	const run = 3 * time.Second
	for _, renewable := range []bool{false, true} {
		name := map[bool]string{false: "not renewable", true: "renewable"}[renewable]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			vault := edgetest.Start(t)
			method, _ := userpassAuth(t, time.Hour, time.Hour)
			auth := &leaselessAuth{method: method, renewable: renewable}
			logs := &recordLog{}
			sess := vault.NewSession(t, edge.Config{Auth: auth, Logger: slog.New(logs)})
			ctx, cancel := context.WithTimeout(context.Background(), run)
			defer cancel()
			var ops atomic.Int64
			var wg sync.WaitGroup
			for w := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					name := []string{"a", "b"}[w]
					assert.NoError(t, sess.Secrets.CreateUserSecret(ctx, name, edge.Secret{"v": 0}))
					for i := 0; ctx.Err() == nil; i++ {
						_, err := sess.Secrets.ReadUserSecret(ctx, name)
						if err == nil {
							err = sess.Secrets.UpdateUserSecret(ctx, name, edge.Secret{"v": i})
						}
						if err != nil && ctx.Err() == nil {
							t.Errorf("operation: %v", err)
							return
						}
						ops.Add(2)
						time.Sleep(5 * time.Millisecond)
					}
				}()
			}
			wg.Wait()
			t.Logf("%d operations in %v, %d logins", ops.Load(), run, auth.logins.Load())
			assert.Equal(t, int64(1), auth.logins.Load(), "logins")
			assert.Zero(t, logs.count("edge: token renewed"), "a token without a lease is not renewed")
			assert.Positive(t, ops.Load())
		})
	}
}

// revokedAfterFirstAuth logs in with method; every login after the first
// returns a token Vault has already revoked.
type revokedAfterFirstAuth struct {
	method api.AuthMethod
	logins atomic.Int64
	errs   chan error
}

func (r *revokedAfterFirstAuth) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	n := r.logins.Add(1)
	s, err := r.method.Login(ctx, c)
	if err != nil || n == 1 || s == nil || s.Auth == nil {
		return s, err
	}
	status, _, err := rawDo(ctx, c.Address(), http.MethodPost, "/v1/auth/token/revoke-self", s.Auth.ClientToken, nil)
	if err == nil && status != http.StatusNoContent {
		err = errors.New("revoke-self: unexpected status")
	}
	if err != nil {
		select {
		case r.errs <- err:
		default:
		}
	}
	return s, nil
}

// TestAuthUnusableTokensBackOff: once the session's token is revoked, a
// method whose every login returns an already revoked token is not asked
// again and again: logins are shared, one at a time, with waits that grow
// from 1 s, logged at Warn: at most 5 logins in 5 s of operations.
// (Issue 19, 2.)
func TestAuthUnusableTokensBackOff(t *testing.T) {
	t.Parallel()
	const run = 5 * time.Second
	vault := edgetest.Start(t)
	method, user := userpassAuth(t, time.Hour, time.Hour)
	auth := &revokedAfterFirstAuth{method: method, errs: make(chan error, 1)}
	logs := &recordLog{}
	sess, err := edge.NewSession(context.Background(), edge.Config{Address: vault.Addr(), Mount: vault.Mount(), Auth: auth, Logger: slog.New(logs)})
	require.NoError(t, err)
	defer sess.Close()
	rootDo(t, http.MethodPut, "/v1/sys/leases/revoke-prefix/auth/userpass/login/"+user, nil)

	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()
	var denied atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, err := sess.Secrets.ReadUserSecret(ctx, "any")
				if errors.Is(err, edge.ErrPermissionDenied) {
					denied.Add(1)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	logins := auth.logins.Load() - 1
	select {
	case err := <-auth.errs:
		require.NoError(t, err)
	default:
	}
	warned := 0
	for _, r := range logs.all() {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "wait" && r.Level == slog.LevelWarn {
				warned++
			}
			return true
		})
	}
	t.Logf("%d logins in %v after the revocation, %d reads denied, %d warnings with a wait", logins, run, denied.Load(), warned)
	assert.LessOrEqual(t, logins, int64(5), "logins in 5 s")
	assert.GreaterOrEqual(t, logins, int64(2), "the session keeps trying")
	assert.Positive(t, warned, "the waits are logged at Warn")
	assert.Positive(t, denied.Load())
}
