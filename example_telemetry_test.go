package edge_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/edgesdk/edge"
)

// printExporter is a SpanExporter that prints each span's name and
// attributes, the org's name left out (it differs on each run). A service
// would use an OTLP exporter instead
// (go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp).
type printExporter struct{}

func (printExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	for _, s := range spans {
		var attrs []string
		for _, a := range s.Attributes() {
			if a.Key != "edge.org" {
				attrs = append(attrs, string(a.Key)+"="+a.Value.String())
			}
		}
		fmt.Println(s.Name(), strings.Join(attrs, " "))
	}
	return nil
}

func (printExporter) Shutdown(context.Context) error { return nil }

// With Config.TracerProvider and Config.MeterProvider, each operation is a
// span named for its method, and counted and timed in metrics labelled by
// operation, scope and outcome. Neither holds a value or a token.
func ExampleConfig_telemetry() {
	ctx := context.Background()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(printExporter{}))
	defer tp.Shutdown(ctx)
	reader := sdkmetric.NewManualReader() // a service: sdkmetric.NewPeriodicReader(an OTLP or Prometheus exporter)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)

	cfg := exampleConfig()
	cfg.TracerProvider, cfg.MeterProvider = tp, mp
	cfg.CacheTTL = time.Minute
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Secrets.CreateOrgSecret(ctx, "smtp", edge.Secret{"password": "hunter2"}); err != nil {
		log.Fatal(err)
	}
	for range 2 { // from Vault, then from the cache
		if _, err := sess.Secrets.ReadOrgSecret(ctx, "smtp"); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := sess.Secrets.ReadOrgSecret(ctx, "imap"); !errors.Is(err, edge.ErrNotFound) {
		log.Fatal(err)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok {
				n := uint64(0)
				for _, dp := range h.DataPoints {
					n += dp.Count
				}
				fmt.Printf("%s: %d operations\n", m.Name, n)
			}
		}
	}
	// Output:
	// edge.CreateOrgSecret edge.operation=create edge.scope=org edge.secret.name=smtp edge.attempts=1 edge.retries=0
	// edge.ReadOrgSecret edge.operation=read edge.scope=org edge.secret.name=smtp edge.cache.hit=false edge.attempts=1 edge.retries=0
	// edge.ReadOrgSecret edge.operation=read edge.scope=org edge.secret.name=smtp edge.cache.hit=true edge.attempts=0 edge.retries=0
	// edge.ReadOrgSecret edge.operation=read edge.scope=org edge.secret.name=imap edge.cache.hit=false edge.attempts=1 edge.retries=0 error.type=not_found
	// edge.operation.duration: 4 operations
}
