package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
)

// printedSpan is a line of spanPrinter.
type printedSpan struct{ name, trace, id, parent, attrs string }

var spanLine = regexp.MustCompile(`(?m)^span "([^"]*)" \S+ trace=(\S+) id=(\S+) parent=(\S+)(.*)$`)

func printedSpans(out string) []printedSpan {
	var spans []printedSpan
	for _, m := range spanLine.FindAllStringSubmatch(out, -1) {
		spans = append(spans, printedSpan{name: m[1], trace: m[2], id: m[3], parent: m[4], attrs: m[5]})
	}
	return spans
}

// TestRunTelemetry runs the whole service with its telemetry printed to
// a buffer, reads a user secret through it without and with a W3C
// traceparent header, and stops it: each request printed a server span
// whose child is the SDK's edge.ReadUserSecret span, one traceparent's
// server span is the caller span's child, the metrics were flushed at
// shutdown, and nothing printed holds the token or the value.
func TestRunTelemetry(t *testing.T) {
	t.Parallel()
	v := edgetest.Start(t)
	alice := v.NewUser(t)
	value := edge.Secret{"key": edgetest.UniqueName("alice-key")}
	require.NoError(t, v.Session(t, alice, "").Secrets.CreateUserSecret(context.Background(), "api-key", value))

	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done := start(t, func(ready func(string)) error {
		return run(ctx, clientConfig(t, v), "127.0.0.1:0", slog.New(slog.DiscardHandler), &out, ready)
	})
	const (
		callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
		callerSpan  = "00f067aa0ba902b7"
	)
	for _, traceparent := range []string{"", "00-" + callerTrace + "-" + callerSpan + "-01"} {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/secrets/user/api-key", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+alice.Token)
		if traceparent != "" {
			req.Header.Set("Traceparent", traceparent)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	cancel()
	require.NoError(t, wait(t, done))
	printed := out.String()
	t.Logf("printed:\n%s", printed)

	spans := printedSpans(printed)
	var servers []printedSpan
	for _, s := range spans {
		if s.name == "GET /secrets/user/{name}" {
			servers = append(servers, s)
		}
	}
	require.Len(t, servers, 2, "a server span per request")
	for _, tc := range []struct {
		name   string
		server printedSpan
	}{
		{"without traceparent", servers[0]},
		{"with traceparent", servers[1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "with traceparent" {
				assert.Equal(t, callerTrace, tc.server.trace)
				assert.Equal(t, callerSpan, tc.server.parent)
			} else {
				assert.NotEqual(t, callerTrace, tc.server.trace)
				assert.Equal(t, "-", tc.server.parent, "a root span")
			}
			assert.Contains(t, tc.server.attrs, " http.route=/secrets/user/{name}")
			assert.Contains(t, tc.server.attrs, " http.response.status_code=200")
			var children []string
			for _, s := range spans {
				if s.parent == tc.server.id && s.trace == tc.server.trace {
					children = append(children, s.name)
				}
			}
			assert.Contains(t, children, "edge.ReadUserSecret")
		})
	}
	for _, metric := range []string{"edge.requests", "edge.operation.duration"} {
		assert.Regexp(t, `(?m)^metric `+regexp.QuoteMeta(metric)+` .*edge\.operation=read.*`, printed)
	}
	assert.NotContains(t, printed, alice.Token)
	assert.NotContains(t, printed, value["key"])
}

// TestTelemetryOutput maps each -telemetry mode to its writer, and
// refuses any other.
func TestTelemetryOutput(t *testing.T) {
	for _, tc := range []struct {
		mode string
		want io.Writer
		ok   bool
	}{
		{"off", nil, true},
		{"stdout", os.Stdout, true},
		{"stderr", os.Stderr, true},
		{"", nil, false},
		{"otlp", nil, false},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			w, err := telemetryOutput(tc.mode)
			if !tc.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, w)
		})
	}
}
