package edge_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/userpass"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/faultproxy"
	"github.com/edgesdk/edge/internal/scopes"
)

// recordedTelemetry is an SDK tracer and meter provider that keep
// everything the SDK emits, for tests.
type recordedTelemetry struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	mp     *sdkmetric.MeterProvider
}

func newRecordedTelemetry() *recordedTelemetry {
	r := &recordedTelemetry{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	r.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	return r
}

func (r *recordedTelemetry) metrics(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.reader.Collect(context.Background(), &rm))
	return rm
}

// dumpSpans prints every ended span whole: name, kind, status, every
// attribute, event (with its attributes) and link.
func dumpSpans(spans []sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "span %s kind=%v status=%v %q scope=%s\n", s.Name(), s.SpanKind(), s.Status().Code, s.Status().Description, s.InstrumentationScope().Name)
		for _, a := range s.Attributes() {
			fmt.Fprintf(&b, "  %s=%s\n", a.Key, a.Value.String())
		}
		for _, e := range s.Events() {
			fmt.Fprintf(&b, "  event %s\n", e.Name)
			for _, a := range e.Attributes {
				fmt.Fprintf(&b, "    %s=%s\n", a.Key, a.Value.String())
			}
		}
		for _, l := range s.Links() {
			fmt.Fprintf(&b, "  link %v\n", l.Attributes)
		}
	}
	return b.String()
}

// dumpMetrics prints every metric and data point whole, with the
// attribute keys seen on them.
func dumpMetrics(rm metricdata.ResourceMetrics) (string, map[string]bool) {
	var b strings.Builder
	keys := map[string]bool{}
	attrs := func(s attribute.Set) string {
		for _, kv := range s.ToSlice() {
			keys[string(kv.Key)] = true
		}
		return s.Encoded(attribute.DefaultEncoder())
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			fmt.Fprintf(&b, "metric %s unit=%s %q\n", m.Name, m.Unit, m.Description)
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					fmt.Fprintf(&b, "  {%s} %d\n", attrs(dp.Attributes), dp.Value)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					fmt.Fprintf(&b, "  {%s} count=%d sum=%g\n", attrs(dp.Attributes), dp.Count, dp.Sum)
				}
			default:
				fmt.Fprintf(&b, "  %+v\n", d)
			}
		}
	}
	return b.String(), keys
}

// sumOf returns the total of counter name over the points whose
// attributes include want (key=value).
func sumOf(rm metricdata.ResourceMetrics, name string, want ...attribute.KeyValue) int64 {
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			if d, ok := m.Data.(metricdata.Sum[int64]); ok {
			points:
				for _, dp := range d.DataPoints {
					for _, kv := range want {
						if v, ok := dp.Attributes.Value(kv.Key); !ok || v != kv.Value {
							continue points
						}
					}
					n += dp.Value
				}
			}
		}
	}
	return n
}

// recordingAuth is an auth method that keeps the tokens its logins
// return, for the test to look for.
type recordingAuth struct {
	api.AuthMethod
	mu     sync.Mutex
	tokens []string
}

func (r *recordingAuth) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	s, err := r.AuthMethod.Login(ctx, c)
	if err == nil && s != nil && s.Auth != nil {
		r.mu.Lock()
		r.tokens = append(r.tokens, s.Auth.ClientToken)
		r.mu.Unlock()
	}
	return s, err
}

// TestTelemetryEmitsNoSecrets records every span and metric while both
// kinds of session (Client.Session, and NewSession logging in with
// userpass) run every operation in both scopes, with and without the
// read cache's hit, wrap and unwrap, LookupEntityID, a login after a
// revocation, and a failure of each kind the operations can reach. It
// checks the spans and metrics expected are there (names, attributes,
// error kinds, parents, counts), that metrics carry the operation, scope
// and outcome alone, and that no token, password, wrapping token,
// accessor, value or invalid name appears anywhere in them.
func TestTelemetryEmitsNoSecrets(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	rec := newRecordedTelemetry()
	const canary = "TELCANARY"
	var secrets []string // every token, password and value: none may be emitted
	value := func(s string) edge.Secret {
		v := canary + "-value-" + s + "-" + randomHex(t)
		secrets = append(secrets, v)
		return edge.Secret{"password": v}
	}

	p, err := faultproxy.New(vault.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	base := func() edge.Config {
		c, err := api.NewClient(fastRetries(p.URL()))
		require.NoError(t, err)
		c.SetToken("") // no token of the Client's own: each session brings one
		return edge.Config{Client: c, Mount: vault.Mount(), CacheTTL: time.Hour,
			TracerProvider: rec.tp, MeterProvider: rec.mp}
	}

	// A service's Client, without an org, and a session per caller.
	client, err := edge.NewClient(ctx, base())
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	u, stranger := vault.NewUser(t), vault.NewUser(t)
	org := vault.NewOrg(t, u)
	secrets = append(secrets, u.Token, stranger.Token, u.Password, stranger.Password, vault.RootClient(t).Token())
	noOrg, err := client.Session(ctx, u.Token)
	require.NoError(t, err)
	svc, err := noOrg.WithOrg(org)
	require.NoError(t, err)

	// A program's session, logging in with userpass: the first login,
	// then one more after a revocation, as another entity.
	upName, password := edgetest.UniqueName("tel"), canary+"-password-"+randomHex(t)
	rootDo(t, http.MethodPost, "/v1/auth/userpass/users/"+upName, map[string]any{
		"password": password, "token_policies": []string{vault.Admin().UserPolicyName()}, "token_ttl": 3600,
	})
	second, _ := userpassAuth(t, time.Hour, time.Hour)
	secrets = append(secrets, password)
	first, err := userpass.NewUserpassAuth(upName, &userpass.Password{FromString: password})
	require.NoError(t, err)
	logins := &recordingAuth{AuthMethod: &switchingAuth{first: first, second: second}}
	cfg := base()
	cfg.Auth = logins
	ownBase, err := edge.NewSession(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ownBase.Close() })
	ownOrg := vault.NewOrg(t)
	require.NoError(t, vault.Admin().AddAdmin(ctx, ownOrg, ownBase.EntityID()))
	own, err := ownBase.WithOrg(ownOrg)
	require.NoError(t, err)

	parentCtx, parent := rec.tp.Tracer("test").Start(ctx, "caller")
	var wrapped []*edge.WrappedSecret
	for _, sess := range []*edge.Session{svc, own} {
		for _, ops := range []scopes.Ops{scopes.User(sess), scopes.Org(sess)} {
			name := "tel-" + ops.Name
			_, err := ops.List(ctx)
			require.NoError(t, err)
			require.NoError(t, ops.Create(ctx, name, value("create")))
			_, err = ops.Read(parentCtx, name) // a miss, a child of the caller's span
			require.NoError(t, err)
			_, err = ops.Read(ctx, name) // a hit
			require.NoError(t, err)
			require.NoError(t, ops.Update(ctx, name, value("update")))
			w, err := ops.Wrap(ctx, name)
			require.NoError(t, err)
			wrapped = append(wrapped, w)
			secrets = append(secrets, w.Token, w.Accessor)
			_, err = ops.List(ctx)
			require.NoError(t, err)
			// The history, and one poll of a watch.
			vs, err := ops.Versions(ctx, name)
			require.NoError(t, err)
			require.Len(t, vs, 2)
			_, err = ops.ReadVersion(ctx, name, 1)
			require.NoError(t, err)
			require.NoError(t, ops.Rollback(ctx, name, 1))
			for ch, err := range ops.Watch(ctx, name, edge.WatchInterval(edge.MinWatchInterval)) {
				require.NoError(t, err)
				require.True(t, ch.Initial)
				break
			}

			// The failures each operation can meet.
			_, err = ops.Read(ctx, "missing")
			require.ErrorIs(t, err, edge.ErrNotFound)
			require.ErrorIs(t, ops.Create(ctx, name, value("again")), edge.ErrAlreadyExists)
			pasted := "hvs." + canary + " pasted-token " + randomHex(t)
			require.False(t, edge.ValidName(pasted))
			secrets = append(secrets, pasted, canary+" pasted")
			_, err = ops.Read(ctx, pasted)
			require.ErrorIs(t, err, edge.ErrBadEntry)
			require.ErrorIs(t, ops.Delete(ctx, name), nil)
		}
		_, err := sess.LookupEntityID(ctx)
		require.NoError(t, err)
	}
	parent.End()
	// Unwrap and UnwrapSecret, then a spent token.
	got, err := client.Unwrap(ctx, wrapped[0].Token)
	require.NoError(t, err)
	secrets = append(secrets, fmt.Sprint(got["password"]))
	_, err = client.UnwrapSecret(ctx, wrapped[1].Token)
	require.NoError(t, err)
	_, err = client.Unwrap(ctx, wrapped[0].Token)
	require.ErrorIs(t, err, edge.ErrInvalidToken)

	// The other kinds.
	_, err = noOrg.Secrets.ReadOrgSecret(ctx, "x")
	require.ErrorIs(t, err, edge.ErrNoOrg)
	strangerSess, err := client.Session(ctx, stranger.Token)
	require.NoError(t, err)
	strangerSess, err = strangerSess.WithOrg(org)
	require.NoError(t, err)
	_, err = strangerSess.Secrets.ReadOrgSecret(ctx, "x")
	require.ErrorIs(t, err, edge.ErrPermissionDenied)
	rootSess, err := client.Session(ctx, vault.RootClient(t).Token())
	require.NoError(t, err)
	_, err = rootSess.Secrets.ReadUserSecret(ctx, "x")
	require.ErrorIs(t, err, edge.ErrNoEntity)
	foreign := fmt.Sprintf("/v1/%s/data/edge/orgs/%s/foreign", vault.Mount(), org)
	rootDo(t, http.MethodPost, foreign, map[string]any{"data": map[string]any{"_edge_json": canary + "-foreign"}})
	secrets = append(secrets, canary+"-foreign")
	_, err = svc.Secrets.ReadOrgSecret(ctx, "foreign")
	require.ErrorIs(t, err, edge.ErrUndecodable)
	p.FailNext(3, faultproxy.Status500, func(r faultproxy.Request) bool { return strings.HasSuffix(r.Path, "/flaky") })
	_, err = svc.Secrets.ReadOrgSecret(ctx, "flaky")
	require.ErrorIs(t, err, edge.ErrUnavailable)
	p.SetRule(func(r faultproxy.Request) faultproxy.Fault {
		switch {
		case !strings.Contains(r.Path, "/lost"):
			return faultproxy.None
		case r.Method == http.MethodGet:
			return faultproxy.Status500
		}
		return faultproxy.Drop
	})
	err = svc.Secrets.CreateOrgSecret(ctx, "lost", value("lost"))
	require.ErrorIs(t, err, edge.ErrUnknownOutcome)
	p.SetRule(nil)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = svc.Secrets.ListOrgSecrets(cancelled)
	require.ErrorIs(t, err, context.Canceled)
	expired, cancelExpired := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancelExpired()
	_, err = svc.Secrets.ListOrgSecrets(expired)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// A stale serve (Config.CacheStaleIfError): the cached value has
	// expired (a fake clock) and Vault answers as a sealed Vault does.
	staleCfg := base()
	staleCfg.Token, staleCfg.CacheStaleIfError = u.Token, time.Hour
	staleSess, err := edge.NewSession(ctx, staleCfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = staleSess.Close() })
	clock := edge.NewFakeClock()
	edge.SetCacheClock(staleSess, clock)
	require.NoError(t, staleSess.Secrets.CreateUserSecret(ctx, "tel-stale", value("stale")))
	_, err = staleSess.Secrets.ReadUserSecret(ctx, "tel-stale")
	require.NoError(t, err)
	clock.Add(90 * time.Minute) // past CacheTTL (1 h), inside CacheTTL + CacheStaleIfError
	p.SetRule(func(r faultproxy.Request) faultproxy.Fault {
		if strings.HasSuffix(r.Path, "/tel-stale") {
			return faultproxy.Sealed
		}
		return faultproxy.None
	})
	_, err = staleSess.Secrets.ReadUserSecret(ctx, "tel-stale")
	require.NoError(t, err, "the stale value")
	p.SetRule(nil)
	badCfg := base()
	badCfg.Client, badCfg.Address = nil, strings.Replace(vault.Addr(), "http://", "https://", 1)
	badTLS, err := edge.NewClient(ctx, badCfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = badTLS.Close() })
	badSess, err := badTLS.Session(ctx, u.Token)
	require.NoError(t, err)
	_, err = badSess.Secrets.ReadUserSecret(ctx, "x")
	require.ErrorIs(t, err, edge.ErrConfig)

	// A login after the token was revoked under the session: another
	// entity (the credentials now belong to someone else).
	rootDo(t, http.MethodPut, "/v1/sys/leases/revoke-prefix/auth/userpass/login/"+upName, nil)
	_, err = own.Secrets.ReadUserSecret(ctx, "tel-user")
	require.ErrorIs(t, err, edge.ErrIdentityChanged)
	logins.mu.Lock()
	require.Len(t, logins.tokens, 2)
	secrets = append(secrets, logins.tokens...)
	logins.mu.Unlock()

	// What was emitted: every span started has ended.
	spans := rec.spans.Ended()
	assert.Len(t, spans, len(rec.spans.Started()), "a span left open")
	rm := rec.metrics(t)
	spanText := dumpSpans(spans)
	metricText, metricKeys := dumpMetrics(rm)
	for _, s := range secrets {
		require.NotEmpty(t, s)
		assert.NotContains(t, spanText, s, "a secret in a span")
		assert.NotContains(t, metricText, s, "a secret in a metric")
	}
	assert.NotContains(t, spanText+metricText, canary, "a value, a password or an invalid name was emitted")
	for _, name := range []string{"tel-user", "tel-org", "missing", "foreign"} {
		assert.NotContains(t, metricText, name, "a secret name as a metric attribute")
	}
	assert.Equal(t, map[string]bool{"edge.operation": true, "edge.scope": true, "edge.outcome": true}, metricKeys)

	// The spans expected: one per operation, named for its method.
	byName := map[string][]sdktrace.ReadOnlySpan{}
	kinds := map[string]bool{}
	for _, s := range spans {
		byName[s.Name()] = append(byName[s.Name()], s)
		for _, a := range s.Attributes() {
			if a.Key == "error.type" {
				kinds[a.Value.AsString()] = true
				assert.Equal(t, codes.Error, s.Status().Code)
				assert.Equal(t, a.Value.AsString(), s.Status().Description)
			}
		}
	}
	for _, method := range []string{"ListUserSecrets", "ReadUserSecret", "CreateUserSecret", "UpdateUserSecret", "DeleteUserSecret", "WrapUserSecret",
		"ListOrgSecrets", "ReadOrgSecret", "CreateOrgSecret", "UpdateOrgSecret", "DeleteOrgSecret", "WrapOrgSecret",
		"LookupEntityID", "Unwrap", "UnwrapSecret",
		"ListUserSecretVersions", "ReadUserSecretVersion", "RollbackUserSecret", "WatchUserSecret",
		"ListOrgSecretVersions", "ReadOrgSecretVersion", "RollbackOrgSecret", "WatchOrgSecret"} {
		assert.NotEmpty(t, byName["edge."+method], "no span edge.%s", method)
	}
	for _, kind := range []string{"not_found", "already_exists", "bad_entry", "permission_denied", "no_org", "no_entity", "invalid_token",
		"undecodable", "unavailable", "unknown_outcome", "canceled", "deadline_exceeded", "config", "identity_changed"} {
		assert.True(t, kinds[kind], "no span with error.type %s", kind)
	}
	attrs := func(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
		m := map[attribute.Key]attribute.Value{}
		for _, a := range s.Attributes() {
			m[a.Key] = a.Value
		}
		return m
	}
	var hits, misses, children int
	for _, s := range byName["edge.ReadOrgSecret"] {
		a := attrs(s)
		assert.Equal(t, "org", a["edge.scope"].AsString())
		if a["error.type"].AsString() == "no_org" {
			assert.NotContains(t, a, attribute.Key("edge.org"))
		} else {
			assert.Contains(t, []string{org, ownOrg}, a["edge.org"].AsString())
		}
		assert.Equal(t, trace.SpanKindClient, s.SpanKind())
		if hit, ok := a["edge.cache.hit"]; ok && hit.AsBool() {
			hits++
			assert.Equal(t, int64(0), a["edge.attempts"].AsInt64())
			assert.Equal(t, "tel-org", a["edge.secret.name"].AsString())
		} else if ok {
			misses++
		}
		if s.Parent().SpanID() == parent.SpanContext().SpanID() {
			children++
			assert.Equal(t, parent.SpanContext().TraceID(), s.SpanContext().TraceID())
		}
	}
	assert.Equal(t, 2, hits, "one hit per session")
	assert.GreaterOrEqual(t, misses, 2)
	assert.Equal(t, 2, children, "a read under the caller's span is its child")
	for _, s := range byName["edge.CreateUserSecret"] {
		a := attrs(s)
		assert.Equal(t, "user", a["edge.scope"].AsString())
		assert.NotContains(t, a, attribute.Key("edge.org"))
		assert.GreaterOrEqual(t, a["edge.attempts"].AsInt64(), int64(1))
	}
	var flaky sdktrace.ReadOnlySpan
	for _, s := range byName["edge.ReadOrgSecret"] {
		if attrs(s)["edge.secret.name"].AsString() == "flaky" {
			flaky = s
		}
	}
	require.NotNil(t, flaky)
	assert.Equal(t, int64(3), attrs(flaky)["edge.attempts"].AsInt64(), "vault/api's two retries")
	assert.Equal(t, int64(2), attrs(flaky)["edge.retries"].AsInt64())

	// The metrics expected.
	read, org0, user := attribute.String("edge.operation", "read"), attribute.String("edge.scope", "org"), attribute.String("edge.scope", "user")
	assert.Equal(t, int64(2), sumOf(rm, "edge.cache.hits", read, org0))
	assert.Equal(t, int64(2), sumOf(rm, "edge.cache.hits", read, user))
	assert.GreaterOrEqual(t, sumOf(rm, "edge.cache.misses", read, org0), int64(2))
	assert.GreaterOrEqual(t, sumOf(rm, "edge.requests", attribute.String("edge.operation", "create"), attribute.String("edge.outcome", "ok")), int64(4))
	assert.GreaterOrEqual(t, sumOf(rm, "edge.retries", read, attribute.String("edge.outcome", "unavailable")), int64(2))
	assert.Equal(t, int64(1), sumOf(rm, "edge.relogins", attribute.String("edge.outcome", "ok")))
	assert.Equal(t, int64(1), sumOf(rm, "edge.cache.stale_serves", read, user), "one stale serve")
	staleSpans := 0
	for _, s := range byName["edge.ReadUserSecret"] {
		if a := attrs(s); a["edge.cache.stale"].AsBool() {
			staleSpans++
			assert.Equal(t, "tel-stale", a["edge.secret.name"].AsString())
			assert.NotContains(t, a, attribute.Key("error.type"), "a stale serve is a success")
		}
	}
	assert.Equal(t, 1, staleSpans, "the stale serve's span says so")
	assert.Contains(t, metricText, "metric edge.operation.duration unit=s")
	assert.Contains(t, metricText, "edge.operation=read,edge.outcome=not_found,edge.scope=org")
	if t.Failed() {
		t.Logf("spans:\n%s\nmetrics:\n%s", spanText, metricText)
	}
	keys := make([]string, 0, len(byName))
	for k := range byName {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("%d spans: %v", len(spans), keys)
}

// TestTelemetryRefusedVersion: a version number below 1 is refused
// before any request, and the refusal is an operation's span all the
// same, with 0 attempts and error.type bad_entry, for the read of a
// version and for a rollback, in both scopes.
func TestTelemetryRefusedVersion(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	rec := newRecordedTelemetry()
	u := tokenUser(t, vault)
	org := vault.NewOrg(t, u)
	cfg := vault.Config(u, org)
	cfg.TracerProvider, cfg.MeterProvider = rec.tp, rec.mp
	sess, err := edge.NewSession(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sess.Close() })
	for _, ops := range []scopes.Ops{scopes.User(sess), scopes.Org(sess)} {
		_, err := ops.ReadVersion(ctx, "db", 0)
		require.ErrorIs(t, err, edge.ErrBadEntry)
		require.ErrorIs(t, ops.Rollback(ctx, "db", -1), edge.ErrBadEntry)
	}
	want := map[string]bool{
		"edge.ReadUserSecretVersion": true, "edge.RollbackUserSecret": true,
		"edge.ReadOrgSecretVersion": true, "edge.RollbackOrgSecret": true,
	}
	got := map[string]bool{}
	for _, s := range rec.spans.Ended() {
		got[s.Name()] = true
		attrs := map[attribute.Key]attribute.Value{}
		for _, a := range s.Attributes() {
			attrs[a.Key] = a.Value
		}
		assert.Equal(t, "bad_entry", attrs["error.type"].AsString(), s.Name())
		assert.Equal(t, int64(0), attrs["edge.attempts"].AsInt64(), s.Name())
	}
	assert.Equal(t, want, got)
}
