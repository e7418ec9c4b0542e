package edge

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// TestSpanNamesCoverEveryOperation: every exported method of
// SecretsService and Session that takes a context is an operation with a
// span named for it (a row of spanNames), and every row names a method
// that exists. A new operation without its rows fails here.
func TestSpanNamesCoverEveryOperation(t *testing.T) {
	named := map[string]bool{}
	for _, n := range spanNames {
		named[strings.TrimPrefix(n, "edge.")] = true
	}
	ctxType := reflect.TypeFor[context.Context]()
	methods := map[string]bool{}
	for _, typ := range []reflect.Type{reflect.TypeFor[*SecretsService](), reflect.TypeFor[*Session](), reflect.TypeFor[*Client]()} {
		for m := range typ.Methods() {
			methods[m.Name] = true
			if typ == reflect.TypeFor[*Client]() && m.Name == "Session" {
				continue // makes a session, sends nothing
			}
			if m.Type.NumIn() > 1 && m.Type.In(1) == ctxType {
				assert.True(t, named[m.Name], "%v.%s has no row in spanNames", typ, m.Name)
			}
		}
	}
	for k, n := range spanNames {
		assert.True(t, methods[strings.TrimPrefix(n, "edge.")], "spanNames[%v] = %s names no method", k, n)
	}
	assert.Equal(t, "edge.ReadOrgSecret", spanName("read", "org"))
	assert.Equal(t, "edge.frobnicate org", spanName("frobnicate", "org"), "an operation without a row still gets a span")
}

// TestKindNames: each sentinel has a telemetry name, "not_found" for
// ErrNotFound, and an operation's outcome names the kind it matches.
func TestKindNames(t *testing.T) {
	seen := map[string]bool{}
	for i, s := range sentinels {
		n := kindNames[i]
		assert.Regexp(t, `^[a-z]+(_[a-z]+)*$`, n)
		assert.False(t, seen[n], "%s named twice", n)
		seen[n] = true
		assert.Equal(t, n, kindName(&Error{Op: "read", Kind: s.err}))
	}
	tests := []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{&Error{Kind: ErrNotFound}, "not_found"},
		{&Error{Kind: ErrPermissionDenied}, "permission_denied"},
		{&Error{Kind: ErrUnknownOutcome, Err: fmt.Errorf("lost: %w", context.DeadlineExceeded)}, "unknown_outcome"},
		{&Error{Op: "read", Err: context.Canceled}, "canceled"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "deadline_exceeded"},
		{errors.New("other"), "error"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, kindName(tt.err))
		})
	}
}

// TestStaleServeInstrument: the stale-serve counter exists and counts with
// the operation and scope only; a Client without providers has no
// telemetry, and staleServe and relogin on it do nothing.
func TestStaleServeInstrument(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	tel, err := newTelemetry(nil, sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	require.NoError(t, err)
	require.NotNil(t, tel)
	ctx := context.Background()
	tel.staleServe(ctx, "read", "org")
	tel.staleServe(ctx, "read", "org")
	tel.staleServe(ctx, "read", "user")

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, instrumentationName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			if m.Name != metricStaleServes {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			require.True(t, ok, "%T", m.Data)
			assert.True(t, sum.IsMonotonic)
			for _, dp := range sum.DataPoints {
				assert.Equal(t, 2, dp.Attributes.Len(), "operation and scope only")
				op, _ := dp.Attributes.Value(attrOperation)
				sc, _ := dp.Attributes.Value(attrScope)
				got[op.AsString()+"/"+sc.AsString()] = dp.Value
			}
		}
	}
	assert.Equal(t, map[string]int64{"read/org": 2, "read/user": 1}, got)

	none, err := newTelemetry(nil, nil)
	require.NoError(t, err)
	assert.Nil(t, none)
	none.staleServe(ctx, "read", "org")
	none.relogin(nil)
}

// TestNoTelemetryNoAllocations: without providers, a cached read
// allocates exactly what its deep copy of the value does, and nothing
// for tracing or metrics; with the no-op providers it allocates more
// (the span and metric options), so the measure can tell.
func TestNoTelemetryNoAllocations(t *testing.T) {
	value := Secret{"user": "app", "password": "x", "port": 5432}
	hit := func(tel *telemetry) float64 {
		c := &Client{tel: tel}
		c.mountOK.Store(true)
		s := &SecretsService{c: c, org: newScope("org", "secret", "edge/orgs/acme"), cache: newReadCache(time.Hour, 0, 10)}
		s.cache.store(cacheKey{s.org.data, "db"}, value)
		ctx := context.Background()
		return testing.AllocsPerRun(200, func() {
			if _, err := s.ReadOrgSecret(ctx, "db"); err != nil {
				t.Fatal(err)
			}
		})
	}
	clone := testing.AllocsPerRun(200, func() { _ = cloneSecret(value) })
	assert.Equal(t, clone, hit(nil), "a hit without providers allocates its copy alone")
	noop, err := newTelemetry(tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider())
	require.NoError(t, err)
	assert.Greater(t, hit(noop), clone, "with providers a hit allocates more: the measure is not blind")
}
