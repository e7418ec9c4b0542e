package edge_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/edgesdk/edge"
)

// BenchmarkReadTracing is BenchmarkRead's serial read of 100 bytes by the
// SDK (size=100B/conc=1/client=sdk), and BenchmarkCachedRead's cache hit,
// with no provider (the default), with OpenTelemetry's no-op providers,
// and with the SDK's providers recording every span (an in-memory
// recorder, emptied each run) and metric (a manual reader). With no
// provider, the allocs/op must equal BenchmarkRead's and
// BenchmarkCachedRead's client=sdk: telemetry costs nothing unless asked.
func BenchmarkReadTracing(b *testing.B) {
	providers := []struct {
		name string
		cfg  func() (edge.Config, func())
	}{
		{"none", func() (edge.Config, func()) { return edge.Config{}, func() {} }},
		{"noop", func() (edge.Config, func()) {
			return edge.Config{TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: metricnoop.NewMeterProvider()}, func() {}
		}},
		{"sdk", func() (edge.Config, func()) {
			spans := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			return edge.Config{TracerProvider: tp, MeterProvider: mp}, func() { spans.Reset() }
		}},
	}
	for _, cache := range []string{"miss", "hit"} {
		for _, p := range providers {
			cfg, reset := p.cfg()
			if cache == "hit" {
				cfg.CacheTTL = time.Hour
			}
			env := newBenchEnvConfig(b, cfg)
			require.NoError(b, env.create("traced", edge.BenchValue(100)))
			b.Run("cache="+cache+"/provider="+p.name, func(b *testing.B) {
				ctx := context.Background()
				_, err := env.sess.Secrets.ReadUserSecret(ctx, "traced") // the entity, the mount, the cache
				require.NoError(b, err)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if _, err := env.sess.Secrets.ReadUserSecret(ctx, "traced"); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				reset()
			})
		}
	}
}
