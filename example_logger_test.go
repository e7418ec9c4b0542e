package edge_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"sort"
	"sync"

	"github.com/edgesdk/edge"
)

// outcomeCounter is a slog.Handler that turns the session's Debug records
// into metrics: operations counted by op and outcome. An OpenTelemetry
// bridge for slog, or a Prometheus counter, hangs off the same hook.
type outcomeCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *outcomeCounter) Enabled(_ context.Context, l slog.Level) bool { return l == slog.LevelDebug }

func (c *outcomeCounter) Handle(_ context.Context, r slog.Record) error {
	var op, outcome string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "op":
			op = a.Value.String()
		case "outcome":
			outcome = a.Value.String()
		}
		return true
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[op+" "+outcome]++
	return nil
}

func (c *outcomeCounter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *outcomeCounter) WithGroup(string) slog.Handler      { return c }

// Config.Logger receives one Debug record per operation (op, scope, name,
// outcome, attempts, duration), never a value or a token: enough for
// logs, metrics and traces.
func ExampleConfig_logger() {
	ctx := context.Background()
	metrics := &outcomeCounter{counts: map[string]int{}}
	cfg := exampleConfig()
	cfg.Logger = slog.New(metrics)
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()

	_ = sess.Secrets.CreateUserSecret(ctx, "db", edge.Secret{"password": "s3cret"})
	_ = sess.Secrets.CreateUserSecret(ctx, "db", edge.Secret{"password": "again"})
	_, _ = sess.Secrets.ReadUserSecret(ctx, "db")
	_, _ = sess.Secrets.ReadUserSecret(ctx, "missing")

	var lines []string
	for k, n := range metrics.counts {
		lines = append(lines, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// create ErrAlreadyExists: 1
	// create ok: 1
	// read ErrNotFound: 1
	// read ok: 1
}
