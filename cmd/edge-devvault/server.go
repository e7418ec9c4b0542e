package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	kv "github.com/hashicorp/vault-plugin-secrets-kv"
	"github.com/hashicorp/vault/builtin/credential/approle"
	"github.com/hashicorp/vault/builtin/credential/userpass"
	vaulthttp "github.com/hashicorp/vault/http"
	"github.com/hashicorp/vault/internalshared/configutil"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/vault"
	testing "github.com/mitchellh/go-testing-interface"
)

// server is a running in-process Vault core plus its HTTP listener.
type server struct {
	core      *vault.Core
	http      *http.Server
	addr      string // http://host:port, or https://host:port with -tls
	rootToken string
	serveErr  chan error // receives the error if Serve stops unexpectedly
	logger    hclog.Logger
}

// startServer creates an in-memory, initialised and unsealed Vault core and
// serves its API on a loopback listener: plain HTTP, or TLS with HTTP/2
// offered if tlsCfg is not nil.
//
// It uses vault.TestCoreWithSealAndUINoCleanup + vault.TestInitUnsealCore
// rather than TestCoreUnsealedWithConfig: the latter also mounts "secret/" as
// KV v1, which provision would have to remove again. provision still copes
// with a pre-existing non-v2 mount in managed mode.
func startServer(listen string, tlsCfg *tls.Config, logger hclog.Logger) (s *server, err error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", listen, err)
	}
	defer func() {
		if err != nil {
			_ = ln.Close()
		}
	}()

	core, rootToken, err := newCore(logger)
	if err != nil {
		return nil, err
	}

	hs := newHTTPServer(core, ln.Addr().String(), logger)
	s = &server{
		core:      core,
		http:      hs,
		addr:      "http://" + ln.Addr().String(),
		rootToken: rootToken,
		serveErr:  make(chan error, 1),
		logger:    logger,
	}
	serve := func() error { return hs.Serve(ln) }
	if tlsCfg != nil {
		// ServeTLS sets up HTTP/2 on the server (net/http's bundled
		// server) and negotiates it by ALPN with tlsCfg's NextProtos.
		hs.TLSConfig = tlsCfg
		s.addr = "https://" + ln.Addr().String()
		serve = func() error { return hs.ServeTLS(ln, "", "") }
	}
	go func() {
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serveErr <- err
		}
	}()
	return s, nil
}

// newHTTPServer returns the HTTP server for core's API on a listener at
// addr: Vault's handler (whose net/http.ServeMux the //go:debug
// httpmuxgo121=1 directive hardens, see the package comment) with
// timeouts. Single and cluster mode serve every core through it.
func newHTTPServer(core *vault.Core, addr string, logger hclog.Logger) *http.Server {
	handler := vaulthttp.Handler.Handler(&vault.HandlerProperties{
		Core:           core,
		ListenerConfig: &configutil.Listener{Type: "tcp", Address: addr},
	})
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          logger.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn}),
	}
}

// Shutdown stops the HTTP server (waiting for in-flight requests) and then
// seals and shuts down the core.
func (s *server) Shutdown(ctx context.Context) error {
	httpErr := s.http.Shutdown(ctx)
	if httpErr != nil {
		_ = s.http.Close()
	}
	done := make(chan error, 1)
	go func() { done <- s.core.ShutdownWait() }()
	select {
	case err := <-done:
		return errors.Join(httpErr, err)
	case <-ctx.Done():
		return errors.Join(httpErr, fmt.Errorf("core shutdown: %w", ctx.Err()))
	}
}

// newCore builds the core with Vault's test helpers. They report failures
// through a testing.T; runtimeT turns t.Fatal into a panic that tryT
// recovers and returns as an error.
func newCore(logger hclog.Logger) (core *vault.Core, rootToken string, err error) {
	err = tryT(func(t *runtimeT) {
		defer func() {
			if r := recover(); r != nil {
				if core != nil {
					_ = core.Shutdown()
					core = nil
				}
				panic(r)
			}
		}()
		core = vault.TestCoreWithSealAndUINoCleanup(t, &vault.CoreConfig{
			LogicalBackends: map[string]logical.Factory{
				"kv": kv.Factory,
			},
			CredentialBackends: map[string]logical.Factory{
				"userpass": userpass.Factory,
				"approle":  approle.Factory,
			},
			Logger: logger.Named("vault"),
		})
		rootToken, _ = vault.TestInitUnsealCore(t, core)
	})
	if err != nil {
		return nil, "", fmt.Errorf("starting vault core: %w", err)
	}
	return core, rootToken, nil
}

type fatalError string

// tryT runs f, which calls Vault's test helpers, with a runtimeT and turns
// a t.Fatal (a fatalError panic, in the calling goroutine) into an error.
func tryT(f func(t *runtimeT)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			fe, ok := r.(fatalError)
			if !ok {
				panic(r)
			}
			err = errors.New(string(fe))
		}
	}()
	f(&runtimeT{})
	return nil
}

// runtimeT adapts Vault's test helpers (which want a testing.T) to a normal
// program: Fatal panics with a fatalError (recovered by tryT) instead of
// logging and panicking with an opaque message, and Log goes nowhere (the
// helpers only log noise at test verbosity).
type runtimeT struct {
	testing.RuntimeT
}

func (t *runtimeT) Fatal(args ...any) { panic(fatalError(fmt.Sprint(args...))) }

func (t *runtimeT) Fatalf(format string, args ...any) {
	panic(fatalError(fmt.Sprintf(format, args...)))
}

func (t *runtimeT) FailNow() { panic(fatalError("FailNow called")) }

func (t *runtimeT) Log(...any) {}

func (t *runtimeT) Logf(string, ...any) {}

func (t *runtimeT) Name() string { return "devvault" }

// Cleanup is never called by the helpers used here (NewTestCluster only
// for plugins); shutdown is explicit in server.Shutdown and
// devCluster.shutdown.
func (t *runtimeT) Cleanup(func()) {}
