//go:debug httpmuxgo121=1

// Command edge-devvault runs a throwaway, in-memory HashiCorp Vault
// v1.14.0 dev server on a loopback port, with KV version 2 at "secret"
// and the userpass and AppRole auth methods, prints ONE line of JSON
// describing it on stdout and then serves until it receives SIGINT or
// SIGTERM or its stdin is closed.
//
// It is the Vault that package edgetest of github.com/edgesdk/edge runs
// for tests, and a Vault for trying the SDK and the edge-secrets CLI by
// hand:
//
//	go run github.com/edgesdk/edge/cmd/edge-devvault@latest
//
// It is its own Go module, so that the SDK's module never depends on
// Vault's server code. It knows nothing of Edge: the Edge policies, users
// and orgs are made by the caller, through package admin (edgetest does
// it, and so does examples/quickstart).
//
// It is a development and test tool only: the server is unsealed, in
// memory, plain HTTP (or TLS with a throwaway CA, -tls, optionally
// requiring client certificates, -tls-client-auth), and the JSON it prints
// contains the root token.
//
// # Why the //go:debug httpmuxgo121=1 line above (SECURITY, do not remove)
//
// Vault v1.14.0 registers its API on a net/http.ServeMux and was written for
// the pre-Go 1.22 ServeMux, which cleaned the *decoded* request path and
// redirected requests such as /v1/secret/data/a/%2e%2e/b (decoded:
// /v1/secret/data/a/../b) to their clean form before any handler ran. Go 1.22's
// new ServeMux cleans the *escaped* path instead, so percent-encoded dot
// segments (%2e%2e, ..%2F, %2E%2E%2F, ...) are no longer cleaned and reach
// Vault. Vault then evaluates the ACL on the uncleaned path
// ("secret/data/edge/users/<me>/../<victim>/x" matches the policy glob
// "secret/data/edge/users/<me>/*"), while KV v2 cleans the key when it looks
// up metadata. A user can so list, read the metadata of, write new versions
// over (the victim then gets "could not find version data"), delete and
// destroy another user's secrets; only existing values stay unreadable,
// because KV v2 salts version keys with the uncleaned path. httpmuxgo121=1
// restores the Go 1.21 ServeMux for this binary, which answers such requests
// with a 301 redirect to the cleaned path instead of passing them to Vault (a
// client following it is then checked against the real path). It must be a
// //go:debug directive before the package clause of package main; `go
// version -m edge-devvault` shows it in DefaultGODEBUG.
//
// At startup edge-devvault additionally self-checks the ServeMux in this process
// (which also catches a GODEBUG=httpmuxgo121=0 environment override) and
// refuses to start if encoded dot segments are not cleaned. The security
// regression test TestCanaryPathTraversal in internal/vaulttest guards this.
//
// # Usage
//
//	edge-devvault [-listen 127.0.0.1:0] [-mount secret] [-cluster N | -tls | -tls-client-auth]
//
// Output (single line, keys as shown; wire.go has the types):
//
//	{"address":"http://127.0.0.1:PORT","root_token":"...","mount":"secret"}
//
// # TLS mode
//
//	edge-devvault -tls [-listen 127.0.0.1:0] [-mount ...]
//
// serves the API over TLS, as production Vaults are served, with HTTP/2
// offered by ALPN (h2, then http/1.1): vault/api's clients then speak
// HTTP/2, which plain HTTP never shows. At start it makes a certificate
// authority (ECDSA P-256) and a server certificate signed by it for
// 127.0.0.1, ::1, localhost (and the -listen address if it is another
// loopback IP), valid for 30 days; their keys stay in memory. The CA
// certificate (PEM) goes to a file in a new private temporary directory
// (0700), removed at exit, whose path the JSON line gives:
//
//	{"address":"https://127.0.0.1:PORT","root_token":"...","mount":"secret","ca_cert":"/tmp/edge-devvault-tls-.../ca.pem"}
//
// Point clients at it, e.g. VAULT_CACERT=<ca_cert>, or
// api.Config.ConfigureTLS(&api.TLSConfig{CACert: ca_cert}). -tls is for
// the single node only; with -cluster it is an error.
//
// # Client certificates
//
//	edge-devvault -tls-client-auth [-listen 127.0.0.1:0] [-mount ...]
//
// is -tls whose server also requires and verifies a client certificate,
// as a Vault listener with tls_require_and_verify_client_cert does: a
// client that presents none, or one that a second CA made at start (the
// client CA, ECDSA P-256, its key in memory only) did not sign, fails in
// the TLS handshake. It also makes one client certificate (ECDSA P-256,
// extended key usage client auth, 30 days) signed by the client CA, and
// writes it and its key (PEM, PKCS #8, file mode 0600) to the private
// directory of the CA file, removed at exit; the JSON line adds their
// paths:
//
//	{..., "ca_cert":".../ca.pem","client_cert":".../client.pem","client_key":".../client-key.pem"}
//
// for VAULT_CLIENT_CERT and VAULT_CLIENT_KEY (with VAULT_CACERT), or
// api.TLSConfig{CACert: ca_cert, ClientCert: client_cert, ClientKey: client_key}.
//
// # Cluster mode
//
//	edge-devvault -cluster 3 [-listen 127.0.0.1:0] [-mount ...]
//
// runs three Vault v1.14.0 cores with Raft storage in this one process, the
// way Vault's own tests do (vault.NewTestCluster with the Raft backend of
// helper/testhelpers/teststorage on per-node directories that survive a
// restart; autopilot disabled, so that the joined nodes are voters at once
// and a lost leader is always replaced), each served over plain HTTP on its own
// loopback port (-listen host, port 0 for free ports or N for N, N+1, ...)
// exactly like the single node: the same handler, the same ServeMux
// hardening, the mux check before every listener. NewTestCluster also
// serves each core over TLS with its own CA; that listener is used only
// inside the cluster (Raft join), and redirects a standby gives to it are
// rewritten to the plain addresses. It reports ready once every node is
// unsealed, sys/storage/raft/configuration lists all of them as voters and
// every standby forwards requests to the active node; the setup is the
// same as in single mode, through the active node. The JSON line adds
//
//	"nodes":[{"address":"http://127.0.0.1:P","active":true,"id":"core-0","state":"active"},...],
//	"voters":3, "cluster_ms":..., "startup_ms":...
//
// with "address" the active node's. State is active, standby, sealed or
// stopped. Raft data lives in a temporary directory removed at exit.
//
// Control commands, cluster mode only: after the JSON line, each line on
// stdin is a command, "[ID] COMMAND [NODE]", answered by one JSON line on
// stdout (closing stdin still stops the process). NODE is an index, a Raft
// node id or an address.
//
//	status        nodes, active node, voters, and "memory" (RSS, Go heap)
//	stop-active   stop the active node (listener, then core); wait for another node to be active and for all to serve
//	seal-active   seal the active node (it then answers 503 until started)
//	step-down     sys/step-down on the active node
//	stop NODE     stop a node; seal NODE: seal a node
//	start NODE    start a stopped node again (same address, its Raft data) or unseal a sealed one
//
// Replies: {"id":ID,"op":"stop-active","ok":true,"error":"...","node":ADDR,
// "previous_active":ADDR,"active":ADDR,"election_ms":F,"ready_ms":F,
// "voters":N,"nodes":[...]}. election_ms runs from the start of the stop,
// seal or step-down until another node is active, ready_ms until that node
// and every unsealed standby answer requests. Commands that would leave the
// Raft cluster without a quorum are refused. Vault keeps a node that
// stepped down from becoming active again for 10 s: a failover within that
// time can take as long if Raft hands the leadership to it.
//
// DEVVAULT_LOG_LEVEL=info (or debug, trace) shows Vault's own logs.
//
// Logs go to stderr and never contain tokens or passwords.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

type options struct {
	listen             string
	mount              string
	insecureSkipMuxChk bool
	cluster            int  // number of nodes; 0 or 1: single node
	tls                bool // serve TLS with a CA made at start
	tlsClientAuth      bool // with tls: require a client certificate of a client CA made at start
}

var errStdinClosed = errors.New("stdin closed")

func main() {
	// Nothing but the final JSON line may ever reach stdout. Keep the real
	// stdout for that and send anything else that prints to os.Stdout
	// (fmt.Println in some dependency, ...) to stderr.
	stdout := os.Stdout
	os.Stdout = os.Stderr
	os.Exit(run(os.Args[1:], stdout))
}

func run(args []string, stdout io.Writer) int {
	level := hclog.Warn
	if l := hclog.LevelFromString(os.Getenv("DEVVAULT_LOG_LEVEL")); l != hclog.NoLevel {
		level = l // e.g. info or debug, for looking into Vault itself
	}
	logger := hclog.New(&hclog.LoggerOptions{
		Name:   "edge-devvault",
		Level:  level,
		Output: os.Stderr,
	})

	opts, err := parseFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "edge-devvault: %v\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// A parent that dies (or simply closes our stdin) takes us down with it.
	// Lines on stdin are control commands (cluster mode).
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	cmds := make(chan string, 16)
	go func() {
		readCommands(ctx, os.Stdin, cmds)
		cancel(errStdinClosed)
	}()

	if err := runServer(ctx, opts, logger, stdout, cmds); err != nil {
		fmt.Fprintf(os.Stderr, "edge-devvault: %v\n", err)
		return 1
	}
	return 0
}

// readCommands sends the lines of r to cmds until r ends or fails.
func readCommands(ctx context.Context, r io.Reader, cmds chan<- string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		select {
		case cmds <- sc.Text():
		case <-ctx.Done():
		}
	}
	// Over-long lines end the scan; keep draining so that only EOF stops us.
	_, _ = io.Copy(io.Discard, r)
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("edge-devvault", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	o := &options{}
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "loopback `host:port` to listen on (port 0 picks a free port)")
	fs.StringVar(&o.mount, "mount", "secret", "KV v2 mount `path`")
	fs.IntVar(&o.cluster, "cluster", 0, "run `N` Vault nodes with Raft storage in this process (0 or 1: a single in-memory node)")
	fs.BoolVar(&o.tls, "tls", false, "serve over TLS (HTTP/2 offered) with a certificate of a CA made at start, whose certificate file the JSON line names (\"ca_cert\"); single node only")
	fs.BoolVar(&o.tlsClientAuth, "tls-client-auth", false, "like -tls, and require and verify a client certificate signed by a client CA made at start; the JSON line names a certificate and key it signed (\"client_cert\", \"client_key\")")
	fs.BoolVar(&o.insecureSkipMuxChk, "insecure-skip-mux-check", false, "start even if the HTTP mux does not clean encoded dot segments (VULNERABLE; only for testing the path traversal canary)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: edge-devvault [flags]\n\nRuns an in-memory Vault v1.14.0 dev server for tests and prints its details as one JSON line on stdout.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	var err error
	if o.mount, err = cleanMount(o.mount); err != nil {
		return nil, err
	}
	if o.cluster < 0 || o.cluster > 9 {
		return nil, fmt.Errorf("-cluster %d: use 0 or 1 for a single node, 2 to 9 for a cluster", o.cluster)
	}
	if o.tlsClientAuth {
		o.tls = true
	}
	if o.tls && o.cluster > 1 {
		return nil, errors.New("-tls and -tls-client-auth work with a single node only, not with -cluster")
	}
	if err := checkLoopback(o.listen); err != nil {
		return nil, err
	}
	return o, nil
}

var mountSegmentRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func cleanMount(m string) (string, error) {
	m = strings.Trim(m, "/")
	if m == "" {
		return "", errors.New("-mount must not be empty")
	}
	for _, seg := range strings.Split(m, "/") {
		if seg == "." || seg == ".." || !mountSegmentRE.MatchString(seg) {
			return "", fmt.Errorf("invalid -mount %q", m)
		}
	}
	return m, nil
}

// checkLoopback refuses listen addresses that are not on a loopback
// interface: the server is unauthenticated plain HTTP with a well-known root
// token in its output.
func checkLoopback(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("invalid -listen %q: %v", listen, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing -listen %q: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed for this insecure dev server", listen)
}

// runServer starts the in-process Vault, sets it up, prints the JSON and
// blocks until ctx is done, then shuts everything down.
func runServer(ctx context.Context, opts *options, logger hclog.Logger, stdout io.Writer, cmds <-chan string) error {
	muxCheck := func() error {
		if err := checkMuxCleansDotSegments(); err != nil {
			if !opts.insecureSkipMuxChk {
				return err
			}
			logger.Warn("starting a server VULNERABLE to encoded path traversal (-insecure-skip-mux-check)", "problem", err.Error())
		}
		return nil
	}
	if err := muxCheck(); err != nil {
		return err
	}
	if opts.cluster > 1 {
		return runCluster(ctx, opts, logger, stdout, cmds, muxCheck)
	}

	var (
		dt        *devTLS
		serverTLS *tls.Config
		clientTLS *tls.Config
	)
	if opts.tls {
		var err error
		if dt, err = newDevTLS(opts.listen, opts.tlsClientAuth); err != nil {
			return err
		}
		defer dt.remove()
		serverTLS, clientTLS = dt.server, dt.client
	}
	srv, err := startServer(opts.listen, serverTLS, logger)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			logger.Warn("shutdown", "error", err.Error())
		}
	}()

	client, err := newAPIClient(srv.addr, srv.rootToken, clientTLS)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := setup(pctx, client, opts.mount); err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return fmt.Errorf("interrupted during startup: %w", cause)
		}
		return fmt.Errorf("setting up: %w", err)
	}
	out := &output{Address: srv.addr, RootToken: srv.rootToken, Mount: opts.mount}
	if dt != nil {
		out.CACert, out.ClientCert, out.ClientKey = dt.caFile, dt.clientCertFile, dt.clientKeyFile
	}
	if err := printJSON(stdout, out); err != nil {
		return err
	}
	announce(out)
	return serve(ctx, logger, stdout, srv.serveErr, cmds, func(_ context.Context, line string) controlReply {
		// Control commands are for clusters; answer so a caller does
		// not wait forever.
		r := controlReply{Error: "control commands need -cluster", Active: srv.addr, Nodes: []nodeOutput{{Address: srv.addr, Active: true, ID: "single", State: stateActive}}}
		if f := strings.Fields(line); len(f) > 0 {
			if id, err := strconv.ParseUint(f[0], 10, 64); err == nil {
				r.ID = id
				f = f[1:]
			}
			if len(f) > 0 {
				r.Op = f[0]
			}
		}
		return r
	})
}

// serve runs until ctx ends (a signal, or stdin closed: a clean stop) or
// the HTTP server fails, answering each control command on cmds with
// handle's reply.
func serve(ctx context.Context, logger hclog.Logger, stdout io.Writer, serveErr <-chan error, cmds <-chan string, handle func(context.Context, string) controlReply) error {
	for {
		select {
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), errStdinClosed) {
				logger.Warn("stdin closed, shutting down")
			} else {
				logger.Warn("signal received, shutting down")
			}
			return nil
		case err := <-serveErr:
			return fmt.Errorf("http server stopped: %w", err)
		case line := <-cmds:
			if strings.TrimSpace(line) == "" {
				continue
			}
			reply := handle(ctx, line)
			if ctx.Err() != nil {
				continue // shutting down: nobody waits for the answer
			}
			if err := printJSON(stdout, reply); err != nil {
				return err
			}
		}
	}
}

// announce tells a person running edge-devvault by hand where the server
// is, and with -tls the CA file (and with -tls-client-auth the client
// certificate's files); the root token is in the JSON line on stdout,
// never on stderr. Nothing is written when stderr is not a terminal, as
// in tests.
func announce(out *output) {
	if fi, err := os.Stderr.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return
	}
	fmt.Fprintf(os.Stderr, "edge-devvault: Vault v1.14.0 serving at %s (KV v2 at secret/, userpass, approle); the root token is in the JSON line on stdout; Ctrl-C stops it\n", out.Address)
	if out.CACert != "" {
		fmt.Fprintf(os.Stderr, "edge-devvault: its CA certificate: VAULT_CACERT=%s\n", out.CACert)
	}
	if out.ClientCert != "" {
		fmt.Fprintf(os.Stderr, "edge-devvault: the client certificate it requires: VAULT_CLIENT_CERT=%s VAULT_CLIENT_KEY=%s\n", out.ClientCert, out.ClientKey)
	}
}

// printJSON writes v as one line of JSON.
func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing JSON to stdout: %w", err)
	}
	return nil
}
