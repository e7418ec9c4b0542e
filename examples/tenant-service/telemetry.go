package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// telemetryOutput returns where the -telemetry flag's mode prints spans
// and metrics: nil for "off", os.Stdout or os.Stderr.
func telemetryOutput(mode string) (io.Writer, error) {
	switch mode {
	case "off":
		return nil, nil
	case "stdout":
		return os.Stdout, nil
	case "stderr":
		return os.Stderr, nil
	}
	return nil, fmt.Errorf("-telemetry %q: want off, stdout or stderr", mode)
}

// telemetry is the service's OpenTelemetry SDK: a TracerProvider and a
// MeterProvider whose exporters print one line per span and per metric
// point to a writer. A production service would plug OTLP exporters
// (go.opentelemetry.io/otel/exporters/otlp/...) in their place.
type telemetry struct {
	tp *sdktrace.TracerProvider
	mp *sdkmetric.MeterProvider
}

// newTelemetry returns providers printing to w: spans as they end (in
// batches), metrics every OTEL_METRIC_EXPORT_INTERVAL (60s by default)
// and at shutdown.
func newTelemetry(w io.Writer) *telemetry {
	res := resource.NewSchemaless(attribute.String("service.name", "tenant-service"))
	return &telemetry{
		tp: sdktrace.NewTracerProvider(sdktrace.WithBatcher(spanPrinter{w}), sdktrace.WithResource(res)),
		mp: sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricPrinter{w})), sdkmetric.WithResource(res)),
	}
}

// shutdown flushes the spans and metrics not printed yet and stops both
// providers.
func (t *telemetry) shutdown(ctx context.Context) error {
	return errors.Join(t.tp.Shutdown(ctx), t.mp.Shutdown(ctx))
}

// traced wraps h in a server span per request, the parent of the spans
// of the SDK operations that h runs with r.Context(). A W3C traceparent
// header makes it the child of the caller's span.
func (t *telemetry) traced(h http.Handler) http.Handler {
	tracer := t.tp.Tracer("github.com/edgesdk/edge/examples/tenant-service")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method)))
		defer span.End()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		r = r.WithContext(ctx)
		h.ServeHTTP(rec, r)
		if r.Pattern != "" { // set by the mux: "GET /secrets/user/{name}"
			span.SetName(r.Pattern)
			span.SetAttributes(attribute.String("http.route", strings.TrimPrefix(r.Pattern, r.Method+" ")))
		}
		span.SetAttributes(attribute.Int("http.response.status_code", rec.status))
		if rec.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(rec.status))
		}
	})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(status int) {
	s.status = status
	s.ResponseWriter.WriteHeader(status)
}

// spanPrinter is a SpanExporter printing a line per span: its name,
// duration, IDs and attributes, which the SDK keeps free of tokens and
// values.
type spanPrinter struct{ w io.Writer }

func (p spanPrinter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	var b strings.Builder
	for _, s := range spans {
		parent := "-"
		if s.Parent().IsValid() {
			parent = s.Parent().SpanID().String()
		}
		fmt.Fprintf(&b, "span %q %s trace=%s id=%s parent=%s%s\n", s.Name(), s.EndTime().Sub(s.StartTime()).Round(time.Microsecond),
			s.SpanContext().TraceID(), s.SpanContext().SpanID(), parent, attrs(s.Attributes()))
	}
	_, err := io.WriteString(p.w, b.String())
	return err
}

func (spanPrinter) Shutdown(context.Context) error { return nil }

// metricPrinter is a metric Exporter printing a line per data point: the
// metric's name, attributes and value (a histogram's count and sum).
type metricPrinter struct{ w io.Writer }

func (p metricPrinter) Export(_ context.Context, rm *metricdata.ResourceMetrics) error {
	var b strings.Builder
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					fmt.Fprintf(&b, "metric %s%s value=%d\n", m.Name, attrs(dp.Attributes.ToSlice()), dp.Value)
				}
			case metricdata.Sum[float64]:
				for _, dp := range d.DataPoints {
					fmt.Fprintf(&b, "metric %s%s value=%g\n", m.Name, attrs(dp.Attributes.ToSlice()), dp.Value)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					fmt.Fprintf(&b, "metric %s%s count=%d sum=%g%s\n", m.Name, attrs(dp.Attributes.ToSlice()), dp.Count, dp.Sum, m.Unit)
				}
			default:
				fmt.Fprintf(&b, "metric %s (%T)\n", m.Name, d)
			}
		}
	}
	_, err := io.WriteString(p.w, b.String())
	return err
}

func (metricPrinter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}

func (metricPrinter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

func (metricPrinter) ForceFlush(context.Context) error { return nil }
func (metricPrinter) Shutdown(context.Context) error   { return nil }

// attrs formats attributes as " key=value ...".
func attrs(kvs []attribute.KeyValue) string {
	var b strings.Builder
	for _, kv := range kvs {
		fmt.Fprintf(&b, " %s=%s", kv.Key, kv.Value.String())
	}
	return b.String()
}
