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
// handler_test.go drives it against the dev Vault through package
// edgetest.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
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
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := configFromEnv()
	if err == nil {
		err = serveUntilSignal(cfg, *addr, logger, nil)
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
func serveUntilSignal(cfg edge.Config, addr string, logger *slog.Logger, ready func(addr string)) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, cfg, addr, logger, ready)
}

// run makes the Client and serves HTTP on addr until ctx ends; then it
// stops the server, letting requests in flight finish, and closes the
// Client. ready, if not nil, is called with the address served once the
// service is ready.
func run(ctx context.Context, cfg edge.Config, addr string, logger *slog.Logger, ready func(addr string)) error {
	cfg.Logger = logger // one Debug record per operation; never a token or a value
	client, err := edge.NewClient(ctx, cfg)
	if err != nil {
		return err
	}
	defer client.Close()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           newHandler(client, logger),
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
