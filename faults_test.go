package edge_test

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/edgesdk/edge/internal/faultproxy"
	"github.com/edgesdk/edge/internal/scopes"
	"github.com/edgesdk/edge/internal/vaulttest"
)

// faultCase is one operation run through the fault proxy: what state it
// needs, how it runs, which of its requests get the fault, and what Vault
// holds after it succeeded.
type faultCase struct {
	op    string
	write bool // changes Vault's state (create, update, delete, unwrap)
	// on picks the requests of the operation that get the fault (nil:
	// every request).
	on    func(faultproxy.Request) bool
	setup func(t *testing.T, fx *faultFixture)
	run   func(ctx context.Context, fx *faultFixture) error
	// after checks Vault's state, through the direct session, after the
	// operation succeeded.
	after func(t *testing.T, fx *faultFixture)
}

// faultFixture is a fresh user, admin of a fresh org, with one session
// straight to Vault and one through a fault proxy, for one scope.
type faultFixture struct {
	proxy   *faultproxy.Proxy
	direct  scopes.Ops    // straight to Vault, to set up and check state
	proxied scopes.Ops    // through the proxy
	session *edge.Session // the proxied session
	client  *api.Client   // a client at the proxy, for the receiving side
	wrapped *edge.WrappedSecret
	name    string
	value   edge.Secret
	token   string
}

// faultCanary is in every value and name of the fault tests: no error may
// print it.
const faultCanary = "LEAKCANARY"

// fastRetries is the vault/api configuration of the proxied session:
// vault/api's default two retries, with short waits.
func fastRetries(addr string) *api.Config {
	return &api.Config{Address: addr, MaxRetries: 2, MinRetryWait: 5 * time.Millisecond, MaxRetryWait: 20 * time.Millisecond}
}

func newFaultFixture(t *testing.T, scope string) *faultFixture {
	t.Helper()
	vault := edgetest.Start(t)
	u := tokenUser(t, vault)
	org := vault.NewOrg(t, u)
	p, err := faultproxy.New(vault.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	client, err := api.NewClient(fastRetries(p.URL()))
	require.NoError(t, err)
	client.SetToken(u.Token)
	proxied, err := edge.NewSession(context.Background(), edge.Config{Client: client, Org: org, Mount: vault.Mount()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = proxied.Close() })
	direct := vault.Session(t, u, org)
	pick := scopes.User
	if scope == "org" {
		pick = scopes.Org
	}
	return &faultFixture{
		proxy: p, direct: pick(direct), proxied: pick(proxied), session: proxied, client: client,
		name: "s-" + faultCanary, value: edge.Secret{"password": faultCanary + "-value"}, token: u.Token,
	}
}

func isWrite(r faultproxy.Request) bool { return r.Method != http.MethodGet && r.Method != "LIST" }

// faultCases are the twelve operations (six per scope: the scope is the
// fixture's), the rollback, and the receiving side.
func faultCases() []faultCase {
	exists := func(t *testing.T, fx *faultFixture) {
		require.NoError(t, fx.direct.Create(context.Background(), fx.name, fx.value))
	}
	wrapped := func(t *testing.T, fx *faultFixture) {
		exists(t, fx)
		w, err := fx.direct.Wrap(context.Background(), fx.name)
		require.NoError(t, err)
		fx.wrapped = w
	}
	updated := edge.Secret{"password": faultCanary + "-updated"}
	return []faultCase{
		{op: "list", setup: exists, run: func(ctx context.Context, fx *faultFixture) error {
			names, err := fx.proxied.List(ctx)
			if err == nil && (len(names) != 1 || names[0] != fx.name) {
				return fmt.Errorf("list returned %q", names)
			}
			return err
		}},
		{op: "read", setup: exists, run: func(ctx context.Context, fx *faultFixture) error {
			got, err := fx.proxied.Read(ctx, fx.name)
			if err == nil && got["password"] != fx.value["password"] {
				return errors.New("read returned another value")
			}
			return err
		}},
		{op: "create", write: true, run: func(ctx context.Context, fx *faultFixture) error {
			return fx.proxied.Create(ctx, fx.name, fx.value)
		}, after: func(t *testing.T, fx *faultFixture) {
			got, err := fx.direct.Read(context.Background(), fx.name)
			require.NoError(t, err)
			assert.Equal(t, fx.value["password"], got["password"])
			assert.Equal(t, 1, currentVersion(t, fx.session, fx.proxied.Name, fx.name), "created once")
		}},
		{op: "update", write: true, on: isWrite, setup: exists, run: func(ctx context.Context, fx *faultFixture) error {
			return fx.proxied.Update(ctx, fx.name, updated)
		}, after: func(t *testing.T, fx *faultFixture) {
			got, err := fx.direct.Read(context.Background(), fx.name)
			require.NoError(t, err)
			assert.Equal(t, updated["password"], got["password"])
			// A lost answer is checked with Vault before writing again:
			// the update is applied once.
			assert.Equal(t, 2, currentVersion(t, fx.session, fx.proxied.Name, fx.name), "updated once")
		}},
		{op: "rollback", write: true, on: isWrite, setup: func(t *testing.T, fx *faultFixture) {
			exists(t, fx)
			require.NoError(t, fx.direct.Update(context.Background(), fx.name, updated))
		}, run: func(ctx context.Context, fx *faultFixture) error {
			return fx.proxied.Rollback(ctx, fx.name, 1)
		}, after: func(t *testing.T, fx *faultFixture) {
			got, err := fx.direct.Read(context.Background(), fx.name)
			require.NoError(t, err)
			assert.Equal(t, fx.value["password"], got["password"])
			// As for update: a lost answer is checked with Vault, the
			// rollback is written once.
			assert.Equal(t, 3, currentVersion(t, fx.session, fx.proxied.Name, fx.name), "rolled back once")
		}},
		{op: "delete", write: true, setup: exists, run: func(ctx context.Context, fx *faultFixture) error {
			return fx.proxied.Delete(ctx, fx.name)
		}, after: func(t *testing.T, fx *faultFixture) {
			_, err := fx.direct.Read(context.Background(), fx.name)
			assert.ErrorIs(t, err, edge.ErrNotFound)
		}},
		{op: "wrap", setup: exists, run: func(ctx context.Context, fx *faultFixture) error {
			w, err := fx.proxied.Wrap(ctx, fx.name)
			if err == nil {
				fx.wrapped = w
			}
			return err
		}, after: func(t *testing.T, fx *faultFixture) {
			got, err := edge.Unwrap(context.Background(), directClient(t), fx.wrapped.Token)
			require.NoError(t, err)
			assert.Equal(t, fx.value["password"], got["password"])
		}},
		{op: "unwrap", write: true, setup: wrapped, run: func(ctx context.Context, fx *faultFixture) error {
			got, err := edge.Unwrap(ctx, fx.client, fx.wrapped.Token)
			if err == nil && got["password"] != fx.value["password"] {
				return errors.New("unwrap returned another value")
			}
			return err
		}},
		{op: "verify wrapped", setup: wrapped, run: func(ctx context.Context, fx *faultFixture) error {
			_, err := edge.VerifyWrapped(ctx, fx.client, fx.wrapped.Token, origin(fx))
			return err
		}},
	}
}

func origin(fx *faultFixture) edge.Origin {
	if fx.proxied.Name == "org" {
		return edge.OrgSecretOrigin(fx.session.Org(), fx.name)
	}
	return edge.UserSecretOrigin(fx.session.EntityID(), fx.name)
}

func directClient(t *testing.T) *api.Client {
	t.Helper()
	vault := edgetest.Start(t)
	c, err := api.NewClient(&api.Config{Address: vault.Addr()})
	require.NoError(t, err)
	return c
}

// allFaults are the faults the proxy injects; Delay is held longer than
// the calls' deadline.
var allFaults = []faultproxy.Fault{
	faultproxy.Reset, faultproxy.Drop, faultproxy.Status500, faultproxy.Sealed,
	faultproxy.TooMany, faultproxy.Delay, faultproxy.BadGateway502After,
}

// checkFaultError makes sure err is an *edge.Error for the operation that
// errors.Is can classify and that prints neither the value nor the token.
func checkFaultError(t *testing.T, fx *faultFixture, op string, err error) {
	t.Helper()
	var e *edge.Error
	require.ErrorAs(t, err, &e)
	assertOneKind(t, err)
	if op != "verify wrapped" { // VerifyWrapped reports its lookup's failure
		assert.Contains(t, e.Op, op)
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		assert.NotContains(t, s, faultCanary+"-value")
		assert.NotContains(t, s, fx.token)
		if fx.wrapped != nil {
			assert.NotContains(t, s, fx.wrapped.Token)
		}
	}
}

// TestFaultsOnce injects each fault into the first attempt of each
// operation's request (the write, for update) and lets vault/api retry.
// Every operation then succeeds and leaves Vault as without the fault;
// a create or update whose first answer was lost is checked with Vault,
// never reported as ErrAlreadyExists nor applied twice. The exception is
// an unwrap, which is never retried blindly once it may have reached
// Vault: after a lost answer it asks whether the token is still there and
// then tries once more (and delivers); a token the lost request redeemed
// is ErrUnknownOutcome.
func TestFaultsOnce(t *testing.T) {
	t.Parallel()
	faultMatrix(t, "one fault then retries", func(t *testing.T, fault faultproxy.Fault, fc faultCase, fx *faultFixture) string {
		fx.proxy.SetDelay(50 * time.Millisecond)
		fx.proxy.FailNext(1, fault, fc.on)
		err := fc.run(context.Background(), fx)
		if fc.op == "unwrap" && err != nil {
			checkFaultError(t, fx, "unwrap", err)
			lost := fault == faultproxy.Drop || fault == faultproxy.BadGateway502After
			assert.True(t, lost, "only a lost answer that redeemed the token fails an unwrap: %v", err)
			assert.ErrorIs(t, err, edge.ErrUnknownOutcome, "the token was spent by the lost request")
			assert.NotErrorIs(t, err, edge.ErrInvalidToken)
			return kindName(err)
		}
		require.NoError(t, err)
		if fc.after != nil {
			fc.after(t, fx)
		}
		return "ok"
	})
}

// TestFaultsEveryAttempt injects each fault into every attempt of each
// operation. Every operation fails with an *edge.Error that names it,
// classifies the failure, honours the deadline and prints no secret:
//   - Vault never saw it, or said it did nothing (429, a sealed Vault's
//     503): ErrUnavailable;
//   - a read, list, wrap or lookup whose answer was lost: ErrUnavailable;
//   - a write whose answer was lost (a dropped connection or a 5xx after
//     it may have reached Vault): ErrUnknownOutcome, which also matches
//     ErrUnavailable;
//   - the deadline passed while Vault held the request (Delay):
//     context.DeadlineExceeded, and ErrUnknownOutcome for a write.
//
// The exception is an update or a rollback whose writes alone lose their
// answers after Vault applied them: the SDK reads the version back, finds
// its own write and succeeds, with the write applied once.
func TestFaultsEveryAttempt(t *testing.T) {
	t.Parallel()
	faultMatrix(t, "a fault on every attempt", func(t *testing.T, fault faultproxy.Fault, fc faultCase, fx *faultFixture) string {
		fx.proxy.SetDelay(time.Minute)
		fx.proxy.SetRule(func(r faultproxy.Request) faultproxy.Fault {
			if fc.on != nil && !fc.on(r) {
				return faultproxy.None
			}
			return fault
		})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err := fc.run(ctx, fx)
		committed := fault == faultproxy.Drop || fault == faultproxy.BadGateway502After
		if (fc.op == "update" || fc.op == "rollback") && committed {
			// Only its writes get the fault: Vault applied the first
			// and the SDK reads it back as its own.
			require.NoError(t, err)
			fc.after(t, fx)
			return "ok"
		}
		require.Error(t, err)
		checkFaultError(t, fx, fc.op, err)
		lostAnswer := committed || fault == faultproxy.Reset || fault == faultproxy.Status500
		switch {
		case fault == faultproxy.Delay:
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			if fc.write {
				assert.ErrorIs(t, err, edge.ErrUnknownOutcome)
			}
		case fc.write && lostAnswer:
			assert.ErrorIs(t, err, edge.ErrUnknownOutcome)
			assert.ErrorIs(t, err, edge.ErrUnavailable)
		default:
			assert.ErrorIs(t, err, edge.ErrUnavailable)
			assert.NotErrorIs(t, err, edge.ErrUnknownOutcome)
		}
		if fault == faultproxy.Sealed {
			assert.Contains(t, err.Error(), "sealed")
		}
		if fc.op == "create" {
			assert.NotErrorIs(t, err, edge.ErrAlreadyExists)
		}
		return kindName(err)
	})
}

// faultMatrix runs check as a parallel subtest for every scope, fault
// and operation, on a fresh fixture with the operation's state set up,
// and logs how many cases came to each outcome check returns.
func faultMatrix(t *testing.T, what string, check func(t *testing.T, fault faultproxy.Fault, fc faultCase, fx *faultFixture) string) {
	var mu sync.Mutex
	tally := map[string]int{}
	t.Cleanup(func() { t.Logf("outcomes of %s (fault op outcome: cases): %v", what, tally) })
	for _, scope := range []string{"user", "org"} {
		for _, fault := range allFaults {
			for _, fc := range faultCases() {
				t.Run(scope+"/"+fault.String()+"/"+fc.op, func(t *testing.T) {
					t.Parallel()
					fx := newFaultFixture(t, scope)
					if fc.setup != nil {
						fc.setup(t, fx)
					}
					outcome := check(t, fault, fc, fx)
					mu.Lock()
					tally[fault.String()+" "+fc.op+" "+outcome]++
					mu.Unlock()
				})
			}
		}
	}
}

// kindName names the sentinel an error matches, for the tallies.
func kindName(err error) string {
	for _, k := range []struct {
		name string
		err  error
	}{
		{"ErrUnknownOutcome", edge.ErrUnknownOutcome}, {"ErrUnavailable", edge.ErrUnavailable},
		{"ErrAlreadyExists", edge.ErrAlreadyExists}, {"ErrNotFound", edge.ErrNotFound},
		{"ErrInvalidToken", edge.ErrInvalidToken}, {"ErrPermissionDenied", edge.ErrPermissionDenied},
		{"DeadlineExceeded", context.DeadlineExceeded},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "unclassified"
}

// TestFaultsDeadline: a deadline is honoured within 100 ms, both while
// vault/api waits between retries (every attempt answered 503, with
// retry waits of a second) and while Vault holds the request. Not
// parallel: it measures time. Each call is tried up to three times and the
// best is kept.
func TestFaultsDeadline(t *testing.T) {
	vault := edgetest.Start(t)
	const deadline = 300 * time.Millisecond
	var mu sync.Mutex
	var worst time.Duration
	t.Cleanup(func() { t.Logf("latest return after the deadline: %v", worst) })
	for _, fault := range []faultproxy.Fault{faultproxy.Sealed, faultproxy.Status500, faultproxy.Delay} {
		for _, fc := range faultCases() {
			t.Run(fault.String()+"/"+fc.op, func(t *testing.T) {
				fx := newFaultFixture(t, "user")
				if fc.setup != nil {
					fc.setup(t, fx)
				}
				// Long waits between many retries: only the deadline
				// can end the call in time.
				slow := fastRetries(fx.proxy.URL())
				slow.MaxRetries, slow.MinRetryWait, slow.MaxRetryWait = 10, time.Second, 2*time.Second
				slowClient, err := api.NewClient(slow)
				require.NoError(t, err)
				slowClient.SetToken(fx.token)
				sess, err := edge.NewSession(context.Background(), edge.Config{Client: slowClient, Org: fx.session.Org(), Mount: vault.Mount()})
				require.NoError(t, err)
				defer sess.Close()
				fx.client = slowClient
				fx.proxied = scopes.User(sess)
				fx.proxy.SetDelay(time.Minute)
				fx.proxy.SetRule(func(r faultproxy.Request) faultproxy.Fault {
					if fc.on != nil && !fc.on(r) {
						return faultproxy.None
					}
					return fault
				})
				// The best of three tries, so that a busy machine's
				// scheduling delays do not count against the SDK.
				late := time.Hour
				for range 3 {
					ctx, cancel := context.WithTimeout(context.Background(), deadline)
					start := time.Now()
					err := fc.run(ctx, fx)
					late = min(late, time.Since(start)-deadline)
					cancel()
					require.Error(t, err)
					checkFaultError(t, fx, fc.op, err)
					if fc.op == "unwrap" && fault == faultproxy.Status500 {
						// It does not retry once it may have reached
						// Vault, and its lookup of the token fails too.
						assert.ErrorIs(t, err, edge.ErrUnknownOutcome)
					} else {
						assert.ErrorIs(t, err, context.DeadlineExceeded)
					}
					if late < 100*time.Millisecond {
						break
					}
				}
				assert.Less(t, late, 100*time.Millisecond, "returned %v after the deadline", late)
				mu.Lock()
				worst = max(worst, late)
				mu.Unlock()
			})
		}
	}
}

// TestFaultsNewSession: NewSession classifies faults too.
func TestFaultsNewSession(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	for _, fault := range []faultproxy.Fault{faultproxy.Reset, faultproxy.Status500, faultproxy.Sealed, faultproxy.TooMany} {
		t.Run(fault.String(), func(t *testing.T) {
			t.Parallel()
			u := vault.NewUser(t)
			p, err := faultproxy.New(vault.Addr())
			require.NoError(t, err)
			defer p.Close()
			p.SetRule(func(faultproxy.Request) faultproxy.Fault { return fault })
			client, err := api.NewClient(fastRetries(p.URL()))
			require.NoError(t, err)
			client.SetToken(u.Token)
			_, err = edge.NewSession(context.Background(), edge.Config{Client: client, Mount: vault.Mount()})
			var e *edge.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, "new session", e.Op)
			assert.ErrorIs(t, err, edge.ErrUnavailable)
			assert.NotContains(t, err.Error(), u.Token)
			if fault == faultproxy.Sealed {
				assert.True(t, strings.Contains(err.Error(), "sealed"), err.Error())
			}
		})
	}
}

// TestSealedVault seals a real Vault of its own (not a proxy's imitation):
// every operation, the receiving side and NewSession say Vault is sealed,
// with ErrUnavailable.
func TestSealedVault(t *testing.T) {
	t.Parallel()
	if edgetest.Start(t).External() {
		t.Skip("seals only a Vault of its own; EDGE_TEST_VAULT_ADDR names a shared one")
	}
	ctx := context.Background()
	sealed, u, org := ownVault(t)
	client, err := api.NewClient(fastRetries(sealed.Addr))
	require.NoError(t, err)
	sess, err := edge.NewSession(ctx, edge.Config{Client: client, Token: u.Token, Org: org, Mount: sealed.Mount})
	require.NoError(t, err)
	defer sess.Close()
	for _, ops := range []scopes.Ops{scopes.User(sess), scopes.Org(sess)} {
		require.NoError(t, ops.Create(ctx, "s", edge.Secret{"v": faultCanary}))
	}
	w, err := sess.Secrets.WrapUserSecret(ctx, "s")
	require.NoError(t, err)

	status, body, err := sealed.Do(ctx, http.MethodPut, "/v1/sys/seal", sealed.RootToken, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, status, string(body))

	calls := map[string]func() error{
		"new session": func() error {
			_, err := edge.NewSession(ctx, edge.Config{Client: client, Token: u.Token, Mount: sealed.Mount})
			return err
		},
		"unwrap": func() error { _, err := edge.Unwrap(ctx, client, w.Token); return err },
		"lookup wrapped": func() error {
			_, err := edge.LookupWrapped(ctx, client, w.Token)
			return err
		},
	}
	for _, ops := range []scopes.Ops{scopes.User(sess), scopes.Org(sess)} {
		calls["list "+ops.Name] = func() error { _, err := ops.List(ctx); return err }
		calls["read "+ops.Name] = func() error { _, err := ops.Read(ctx, "s"); return err }
		calls["create "+ops.Name] = func() error { return ops.Create(ctx, "t", edge.Secret{"v": 1}) }
		calls["update "+ops.Name] = func() error { return ops.Update(ctx, "s", edge.Secret{"v": 2}) }
		calls["delete "+ops.Name] = func() error { return ops.Delete(ctx, "s") }
		calls["wrap "+ops.Name] = func() error { _, err := ops.Wrap(ctx, "s"); return err }
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			var e *edge.Error
			require.ErrorAs(t, err, &e)
			assert.ErrorIs(t, err, edge.ErrUnavailable)
			assert.NotErrorIs(t, err, edge.ErrUnknownOutcome, "a sealed Vault did nothing")
			assert.Contains(t, err.Error(), "Vault is sealed")
			assert.NotContains(t, err.Error(), faultCanary)
		})
	}
}

// ownVault starts an embedded Vault for one test, set up for Edge, with
// a user who is admin of an org.
func ownVault(t *testing.T) (*vaulttest.Server, edgetest.User, string) {
	t.Helper()
	srv, err := vaulttest.Start(context.Background(), vaulttest.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	own := edgetest.Provision(t, srv.Addr, srv.RootToken)
	u := own.NewUser(t)
	return srv, u, own.NewOrg(t, u)
}

// TestCreateAfterLostAnswer: when a create's first attempt may have
// reached Vault (here the proxy resets it before Vault sees it) and the
// retry finds the name taken, the SDK asks Vault whose version 1 is. It
// reports ErrAlreadyExists only for a version that cannot be the call's
// (here: another value), and ErrUnknownOutcome when Vault cannot show it.
// The same value written before the call began is someone else's too,
// when it is older than the call by more than maxClockSkew (30 s):
// TestLostWriteUnderClockSkew shows it with a fake Vault, which can date
// a version a minute back.
func TestCreateAfterLostAnswer(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	resetFirstWrite := func(fx *faultFixture) { fx.proxy.FailNext(1, faultproxy.Reset, isWrite) }
	tests := []struct {
		name  string
		setup func(t *testing.T, fx *faultFixture)
		want  error
	}{
		{"another value", func(t *testing.T, fx *faultFixture) {
			require.NoError(t, fx.direct.Create(ctx, fx.name, edge.Secret{"password": "another"}))
		}, edge.ErrAlreadyExists},
		{"version 1 deleted", func(t *testing.T, fx *faultFixture) {
			require.NoError(t, fx.direct.Create(ctx, fx.name, fx.value))
			path := fmt.Sprintf("/v1/%s/data/edge/users/%s/%s", vault.Mount(), fx.session.EntityID(), fx.name)
			status, body, err := rawDo(ctx, vault.Addr(), http.MethodDelete, path, vault.RootClient(t).Token(), nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusNoContent, status, string(body))
		}, edge.ErrUnknownOutcome},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFaultFixture(t, "user")
			tc.setup(t, fx)
			resetFirstWrite(fx)
			before := fx.proxy.Requests()
			err := fx.proxied.Create(ctx, fx.name, fx.value)
			assert.ErrorIs(t, err, tc.want)
			checkFaultError(t, fx, "create", err)
			assert.Equal(t, int64(3), fx.proxy.Requests()-before, "the write, its retry, and the read of version 1")
		})
	}
}
