package edge

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/edgesdk/edge/internal/vaultclient"
)

// instrumentationName names the SDK's tracer and meter.
const instrumentationName = "github.com/edgesdk/edge"

// The metrics' names (Config.MeterProvider). Their attributes are
// attrOperation, attrScope and attrOutcome at most: never a secret name,
// whose values are unbounded.
const (
	metricRequests    = "edge.requests"           // {request}: HTTP requests operations sent to Vault, retries included
	metricRetries     = "edge.retries"            // {request}: those of them the retry policy asked for after a failed attempt
	metricRelogins    = "edge.relogins"           // {login}: logins after the first, with Config.Auth (outcome only)
	metricCacheHits   = "edge.cache.hits"         // {read}: reads answered from the session's cache
	metricCacheMisses = "edge.cache.misses"       // {read}: reads the cache could not answer
	metricStaleServes = "edge.cache.stale_serves" // {read}: stale values served while Vault was unavailable
	metricDuration    = "edge.operation.duration" // s: each operation's latency, a cache hit's included
)

// The attributes of spans and metrics. A span has the first six that
// apply; a metric point has attrOperation, attrScope and attrOutcome at
// most.
const (
	attrScope     = attribute.Key("edge.scope")       // "user" or "org"
	attrOrg       = attribute.Key("edge.org")         // the org of an org operation
	attrName      = attribute.Key("edge.secret.name") // a valid secret name; an invalid one may be a token pasted in the wrong place: left out
	attrCacheHit  = attribute.Key("edge.cache.hit")   // a read of a session with a cache: answered from memory or not
	attrAttempts  = attribute.Key("edge.attempts")    // the HTTP requests the operation sent, retries included
	attrErrorType = attribute.Key("error.type")       // the error's kind, as outcome names it (not "ok")
	attrRetries   = attribute.Key("edge.retries")     // the attempts the retry policy asked for
	attrStale     = attribute.Key("edge.cache.stale") // the value served was stale: Vault was unavailable

	attrOperation = attribute.Key("edge.operation") // call's op: "read", "create", ... (metrics and spans)
	attrOutcome   = attribute.Key("edge.outcome")   // "ok" or the error's kind (metrics)
)

// durationBuckets are the latency histogram's bounds, in seconds: from a
// cache hit's microseconds to a retry budget's tens of seconds.
var durationBuckets = []float64{0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// telemetry is a Client's tracer and instruments, from
// Config.TracerProvider and Config.MeterProvider. A Client without either
// has none (nil): each operation checks the pointer once and, when it is
// nil, allocates nothing more and calls nothing of OpenTelemetry. Its
// methods are safe for concurrent use, and those that may be called
// without knowing whether it is set (relogin, staleServe) do nothing on a
// nil *telemetry.
//
// No span, attribute, event or metric it emits holds a secret value, a
// token or a wrapping token: spans carry the operation, scope, org, a
// valid secret name, whether the cache answered, the attempts and the
// error's kind (never the error's text, which may quote the first bytes
// of an invalid name); metrics carry the operation, scope and outcome.
type telemetry struct {
	tracer   trace.Tracer
	requests metric.Int64Counter
	retries  metric.Int64Counter
	relogins metric.Int64Counter
	hits     metric.Int64Counter
	misses   metric.Int64Counter
	stale    metric.Int64Counter
	duration metric.Float64Histogram
}

// newTelemetry returns the telemetry of a Client with providers tp and
// mp (either may be nil: no spans, or no metrics), or nil if both are
// nil. Its error is the meter provider's refusal of an instrument.
func newTelemetry(tp trace.TracerProvider, mp metric.MeterProvider) (*telemetry, error) {
	if tp == nil && mp == nil {
		return nil, nil
	}
	if tp == nil {
		tp = tracenoop.NewTracerProvider()
	}
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	t := &telemetry{tracer: tp.Tracer(instrumentationName)}
	m := mp.Meter(instrumentationName)
	var errs error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = errors.Join(errs, err)
		return c
	}
	t.requests = counter(metricRequests, "{request}", "HTTP requests the SDK's operations sent to Vault, retries included")
	t.retries = counter(metricRetries, "{request}", "Requests the SDK's operations sent again after a failed attempt")
	t.relogins = counter(metricRelogins, "{login}", "Logins after the first, with Config.Auth, by outcome")
	t.hits = counter(metricCacheHits, "{read}", "Reads answered from the session's read cache")
	t.misses = counter(metricCacheMisses, "{read}", "Reads the session's read cache could not answer from memory (each asks Vault, or joins a request of the same name in flight)")
	t.stale = counter(metricStaleServes, "{read}", "Stale cached values served because Vault was unavailable")
	var err error
	t.duration, err = m.Float64Histogram(metricDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of the SDK's operations, cache hits included"),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err := errors.Join(errs, err); err != nil {
		return nil, err
	}
	return t, nil
}

// opScope is an operation (call's op) in a scope ("user", "org", or ""
// for none).
type opScope struct{ op, scope string }

// spanNames names the span of each operation for the exported method that
// runs it. A new operation adds a row per scope: call names its span from
// the op and scope it is given (see spanName), and
// TestSpanNamesCoverEveryOperation fails for a method of SecretsService
// that has none.
var spanNames = map[opScope]string{
	{"list", "user"}:   "edge.ListUserSecrets",
	{"list", "org"}:    "edge.ListOrgSecrets",
	{"read", "user"}:   "edge.ReadUserSecret",
	{"read", "org"}:    "edge.ReadOrgSecret",
	{"create", "user"}: "edge.CreateUserSecret",
	{"create", "org"}:  "edge.CreateOrgSecret",
	{"update", "user"}: "edge.UpdateUserSecret",
	{"update", "org"}:  "edge.UpdateOrgSecret",
	{"delete", "user"}: "edge.DeleteUserSecret",
	{"delete", "org"}:  "edge.DeleteOrgSecret",
	{"wrap", "user"}:   "edge.WrapUserSecret",
	{"wrap", "org"}:    "edge.WrapOrgSecret",

	{"versions", "user"}:     "edge.ListUserSecretVersions",
	{"versions", "org"}:      "edge.ListOrgSecretVersions",
	{"read version", "user"}: "edge.ReadUserSecretVersion",
	{"read version", "org"}:  "edge.ReadOrgSecretVersion",
	{"rollback", "user"}:     "edge.RollbackUserSecret",
	{"rollback", "org"}:      "edge.RollbackOrgSecret",
	{"watch", "user"}:        "edge.WatchUserSecret", // one span per poll
	{"watch", "org"}:         "edge.WatchOrgSecret",

	{"lookup entity", "user"}: "edge.LookupEntityID",
	{"unwrap", ""}:            "edge.Unwrap",
	{"unwrap secret", ""}:     "edge.UnwrapSecret",
}

// spanName returns the span name of operation op in scope: its row in
// spanNames, else "edge." followed by op and scope (an operation added
// without a row still gets a span, and a test fails).
func spanName(op, scope string) string {
	if n, ok := spanNames[opScope{op, scope}]; ok {
		return n
	}
	if scope == "" {
		return "edge." + op
	}
	return "edge." + op + " " + scope
}

// start starts the span of operation op (its span named for spanOp) on
// secret name in sc, a child of ctx's span if any; opts are added to
// the span's start options.
func (t *telemetry) start(ctx context.Context, spanOp, op string, sc scope, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	var buf [4]attribute.KeyValue
	attrs := append(buf[:0], attrOperation.String(op))
	if sc.name != "" {
		attrs = append(attrs, attrScope.String(sc.name))
	}
	if sc.org != "" {
		attrs = append(attrs, attrOrg.String(sc.org))
	}
	if name != "" && ValidName(name) {
		attrs = append(attrs, attrName.String(name))
	}
	opts = append(opts, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return t.tracer.Start(ctx, spanName(spanOp, sc.name), opts...)
}

// endOnPanic, deferred right after start, ends span if the operation
// panics (a value whose MarshalJSON panics, say) and panics on: no span
// is left open.
func endOnPanic(span trace.Span) {
	if r := recover(); r != nil {
		span.SetStatus(codes.Error, "panic")
		span.End()
		panic(r)
	}
}

// end ends the span of operation op in scope with its outcome, and
// records its metrics: the requests and retries of attempts (nil when
// the operation failed before sending any) and its duration d.
func (t *telemetry) end(ctx context.Context, span trace.Span, op, scope string, err error, attempts *vaultclient.Attempts, d time.Duration) {
	n, retries := 0, 0
	if attempts != nil {
		n, retries = attempts.N(), attempts.Retries()
	}
	kind := kindName(err)
	span.SetAttributes(attrAttempts.Int(n), attrRetries.Int(retries))
	if err != nil {
		span.SetAttributes(attrErrorType.String(kind))
		span.SetStatus(codes.Error, kind)
	}
	span.End()
	set := metric.WithAttributeSet(metricAttrs(op, scope, kind))
	if n > 0 {
		t.requests.Add(ctx, int64(n), set)
	}
	if retries > 0 {
		t.retries.Add(ctx, int64(retries), set)
	}
	t.duration.Record(ctx, d.Seconds(), set)
}

// cacheHit records a read of name in sc answered from the session's
// cache, which began at start: a span of its own (0 attempts), a hit,
// and its duration.
func (t *telemetry) cacheHit(ctx context.Context, op string, sc scope, name string, start time.Time) {
	ctx, span := t.start(ctx, op, op, sc, name, trace.WithTimestamp(start))
	span.SetAttributes(attrCacheHit.Bool(true), attrAttempts.Int(0), attrRetries.Int(0))
	span.End()
	t.hits.Add(ctx, 1, metric.WithAttributeSet(metricAttrs(op, sc.name, "")))
	t.duration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributeSet(metricAttrs(op, sc.name, "ok")))
}

// cacheMiss records a read in scope that the session's cache could not
// answer from memory, on the operation's span (ctx's): once per
// operation, however often it asks Vault.
func (t *telemetry) cacheMiss(ctx context.Context, op, scope string) {
	trace.SpanFromContext(ctx).SetAttributes(attrCacheHit.Bool(false))
	t.misses.Add(ctx, 1, metric.WithAttributeSet(metricAttrs(op, scope, "")))
}

// staleServe records that operation op in scope served a stale cached
// value because Vault was unavailable (Config.CacheStaleIfError): the
// edge.cache.stale_serves counter, and edge.cache.stale on the
// operation's span (ctx's). Call it where the stale value is returned,
// with the operation's context; on a nil *telemetry it does nothing.
func (t *telemetry) staleServe(ctx context.Context, op, scope string) {
	if t == nil {
		return
	}
	trace.SpanFromContext(ctx).SetAttributes(attrStale.Bool(true))
	t.stale.Add(ctx, 1, metric.WithAttributeSet(metricAttrs(op, scope, "")))
}

// metricAttrs returns a metric point's attributes: the operation, and
// the scope and outcome unless "". They are all there is: a secret name
// would make the series unbounded.
func metricAttrs(op, scope, outcome string) attribute.Set {
	var buf [3]attribute.KeyValue
	attrs := append(buf[:0], attrOperation.String(op))
	if scope != "" {
		attrs = append(attrs, attrScope.String(scope))
	}
	if outcome != "" {
		attrs = append(attrs, attrOutcome.String(outcome))
	}
	return attribute.NewSet(attrs...)
}

// relogin records a login after the first (Config.Auth): its outcome,
// "ok" or the kind of its failure. On a nil *telemetry it does nothing.
func (t *telemetry) relogin(err error) {
	if t == nil {
		return
	}
	kind := "ok"
	switch {
	case errors.Is(err, errUnusable):
		kind = "token_refused"
	case err != nil:
		kind = kindName(&Error{Kind: loginKind(err), Err: err})
	}
	t.relogins.Add(context.Background(), 1, metric.WithAttributeSet(attribute.NewSet(attrOutcome.String(kind))))
}

// kindNames are the sentinels' names as telemetry writes them:
// ErrNotFound is "not_found".
var kindNames = func() []string {
	names := make([]string, len(sentinels))
	for i, s := range sentinels {
		names[i] = snake(strings.TrimPrefix(s.name, "Err"))
	}
	return names
}()

// snake returns CamelCase as camel_case.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// kindName names what an operation came to, for spans and metrics: "ok",
// the kind err matches ("not_found", "unavailable", ...), "canceled",
// "deadline_exceeded" or "error". An ErrUnknownOutcome error that also
// matches ErrUnavailable is "unknown_outcome".
func kindName(err error) string {
	if err == nil {
		return "ok"
	}
	for i, s := range sentinels {
		if errors.Is(err, s.err) {
			return kindNames[i]
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	}
	return "error"
}
