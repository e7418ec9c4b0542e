// Command tenant-service is a small HTTP service that serves secrets to
// many callers, each with its own Vault token: the multi-tenant pattern of
// the Edge SDK. It makes one edge.Client when it starts, and for each
// request a cheap session of the caller's token (edge.Client.Session, no
// request to Vault), which it closes when the request is done. Vault, not
// the service, decides what each caller may read: the service holds no
// Vault token of its own (it ignores VAULT_TOKEN).
//
//	GET /secrets/user/{name}       the caller's user secret, as JSON
//	GET /secrets/org/{org}/{name}  a secret of an org the caller is a member of
//
// Each request sends "Authorization: Bearer <vault token>". Answers: 200
// with the secret's value as a JSON object; 401 (with WWW-Authenticate)
// without a bearer token; 400 for an invalid name, org or token; 403 when
// Vault refuses the token (unknown, expired, revoked, or not allowed, such
// as a non-member reading an org's secret); 404 for a missing secret; 503
// with Retry-After when Vault cannot answer; 504 when it does not answer
// in time; 500 otherwise. Error bodies are {"error": "..."} and never hold
// a token or a value.
//
// Configuration comes from vault/api's environment (VAULT_ADDR,
// VAULT_CACERT, VAULT_CLIENT_CERT, ...) and the SDK's (EDGE_KV_MOUNT), and
// the flag -addr (default 127.0.0.1:8080). It stops on SIGINT or SIGTERM,
// letting requests in flight finish, then closes the Client. For example:
//
//	VAULT_ADDR=https://vault.internal:8200 go run ./examples/tenant-service -addr 127.0.0.1:8080
//	curl -H "Authorization: Bearer $VAULT_TOKEN" http://127.0.0.1:8080/secrets/user/api-key
//	curl -H "Authorization: Bearer $VAULT_TOKEN" http://127.0.0.1:8080/secrets/org/acme/team-db
//
// With -telemetry stdout (or stderr) it sets up the OpenTelemetry SDK
// and gives the Client its TracerProvider and MeterProvider
// (telemetry.go): each request is a server span, such as "GET
// /secrets/user/{name}", whose children are the SDK's operations
// (edge.ReadUserSecret, ...), and the SDK counts and times them
// (edge.requests, edge.operation.duration, ...). Two small exporters
// print a line per span as it ends and a line per metric point every
// OTEL_METRIC_EXPORT_INTERVAL milliseconds (a minute by default); on
// SIGINT or SIGTERM, once the server has stopped, it flushes both. No
// span or metric holds a token or a value. A production service would
// use OTLP exporters instead:
//
//	go run ./examples/tenant-service -telemetry stdout
//
// handler_test.go drives it against the dev Vault through package
// edgetest.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen `address`")
	mode := flag.String("telemetry", "off", "print OpenTelemetry spans and metrics to `stdout` or stderr, or not (off)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	out, err := telemetryOutput(*mode)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tenant-service:", err)
		os.Exit(2)
	}
	cfg, err := configFromEnv()
	if err == nil {
		err = serveUntilSignal(cfg, *addr, logger, out, nil)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tenant-service:", err)
		os.Exit(1)
	}
}

// configFromEnv returns the Client's configuration: vault/api's
// environment without its token (the service acts only with its
// callers' tokens), and the SDK's environment for the rest.
func configFromEnv() (edge.Config, error) {
	ac := api.DefaultConfig() // VAULT_ADDR, VAULT_CACERT, VAULT_CLIENT_TIMEOUT, ...
	if ac.Error != nil {
		return edge.Config{}, fmt.Errorf("reading the vault environment: %w", ac.Error)
	}
	vc, err := api.NewClient(ac)
	if err != nil {
		return edge.Config{}, err
	}
	vc.ClearToken()
	return edge.Config{Client: vc}, nil // EDGE_KV_MOUNT, else "secret"
}

// serveUntilSignal runs the service until SIGINT or SIGTERM.
func serveUntilSignal(cfg edge.Config, addr string, logger *slog.Logger, telemetryOut io.Writer, ready func(addr string)) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, cfg, addr, logger, telemetryOut, ready)
}

// run makes the Client and serves HTTP on addr until ctx ends; then it
// stops the server, letting requests in flight finish, closes the
// Client, and flushes the telemetry. If telemetryOut is not nil, the
// Client and a server span per request print their spans and metrics to
// it (telemetry.go). ready, if not nil, is called with the address served
// once the service is ready.
func run(ctx context.Context, cfg edge.Config, addr string, logger *slog.Logger, telemetryOut io.Writer, ready func(addr string)) (err error) {
	cfg.Logger = logger // one Debug record per operation; never a token or a value
	var tel *telemetry
	if telemetryOut != nil {
		tel = newTelemetry(telemetryOut)
		cfg.TracerProvider, cfg.MeterProvider = tel.tp, tel.mp
		defer func() { // after the server stopped and the Client closed
			flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = errors.Join(err, tel.shutdown(flushCtx))
		}()
	}
	client, err := edge.NewClient(ctx, cfg)
	if err != nil {
		return err
	}
	defer client.Close()
	handler := newHandler(client, logger)
	if tel != nil {
		handler = tel.traced(handler)
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("serving", "addr", ln.Addr().String())
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "cause", context.Cause(ctx))
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if served := <-served; !errors.Is(served, http.ErrServerClosed) && err == nil {
		err = served
	}
	return err
}
