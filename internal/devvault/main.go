//go:debug httpmuxgo121=1

// Command devvault runs a throwaway, in-memory HashiCorp Vault v1.14.0 dev
// server on a loopback port, provisions it for the edge SDK tests, prints ONE
// line of JSON describing it on stdout and then serves until it receives
// SIGINT/SIGTERM or its stdin is closed.
//
// It is a development and test tool only: the server is unsealed, in memory,
// plain HTTP, and the JSON it prints contains the root token.
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
// version -m devvault` shows it in DefaultGODEBUG.
//
// At startup devvault additionally self-checks the ServeMux in this process
// (which also catches a GODEBUG=httpmuxgo121=0 environment override) and
// refuses to start if encoded dot segments are not cleaned. The security
// regression test TestCanaryPathTraversal in internal/vaulttest guards this.
//
// # Usage
//
//	devvault [-listen 127.0.0.1:0] [-users alice,bob] [-demo] [-mount secret]
//	devvault -external-addr https://vault.example:8200 [-external-token TOKEN] [-users ...] [-demo] [-mount ...]
//
// With -external-addr, devvault does not start a server: it provisions the
// existing Vault (KV v2 at -mount, userpass, the edge user policy, the users
// and a default-policy-only token) with the given token (falling back to the
// VAULT_TOKEN environment variable, which keeps the token out of the process
// arguments), prints the same JSON line and exits 0.
//
// Output (single line, keys as shown):
//
//	{"address":"http://127.0.0.1:PORT","root_token":"...","mount":"secret",
//	 "user_policy":"edge-user",
//	 "users":{"alice":{"token":"...","entity_id":"...","password":"...","accessor":"..."}},
//	 "orgs":{"acme":{"admins":["carol"],"members":["alice","bob"]}},
//	 "no_policy_token":"..."}
//
// Every user holds only the edge user policy (package
// github.com/edgesdk/edge/admin): their own user secrets, and with -demo
// the org access its groups give. The provisioning goes through that
// package, so the dev Vault enforces exactly the policies operators get.
//
// Logs go to stderr and never contain tokens or passwords.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Output is the JSON document printed on stdout once everything is ready.
type Output struct {
	Address       string                `json:"address"`
	RootToken     string                `json:"root_token"`
	Mount         string                `json:"mount"`
	UserPolicy    string                `json:"user_policy"` // the edge user policy every user holds
	Users         map[string]UserOutput `json:"users"`
	Orgs          map[string]OrgOutput  `json:"orgs"` // with -demo: the demo orgs
	NoPolicyToken string                `json:"no_policy_token"`
}

// OrgOutput describes one provisioned org by the names of its users.
type OrgOutput struct {
	Admins  []string `json:"admins"`
	Members []string `json:"members"`
}

// UserOutput describes one provisioned userpass user.
type UserOutput struct {
	Token    string `json:"token"`
	EntityID string `json:"entity_id"`
	Password string `json:"password"`
	Accessor string `json:"accessor"`
}

type options struct {
	listen             string
	users              []string
	mount              string
	externalAddr       string
	externalToken      string
	demo               bool
	insecureSkipMuxChk bool
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
	logger := hclog.New(&hclog.LoggerOptions{
		Name:   "devvault",
		Level:  hclog.Warn,
		Output: os.Stderr,
	})

	opts, err := parseFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "devvault: %v\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if opts.externalAddr != "" {
		if err := runExternal(ctx, opts, stdout); err != nil {
			fmt.Fprintf(os.Stderr, "devvault: %v\n", err)
			return 1
		}
		return 0
	}

	// A parent that dies (or simply closes our stdin) takes us down with it.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel(errStdinClosed)
	}()

	if err := runServer(ctx, opts, logger, stdout); err != nil {
		fmt.Fprintf(os.Stderr, "devvault: %v\n", err)
		return 1
	}
	return 0
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("devvault", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	var users string
	o := &options{}
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "loopback `host:port` to listen on (port 0 picks a free port)")
	fs.StringVar(&users, "users", "", "comma separated userpass `names` to create, e.g. alice,bob")
	fs.StringVar(&o.mount, "mount", "secret", "KV v2 mount `path`")
	fs.BoolVar(&o.demo, "demo", false, "provision the demo layout: org acme (admin carol, members alice and bob) and org globex (member dave)")
	fs.StringVar(&o.externalAddr, "external-addr", "", "provision the existing Vault at this `URL` instead of starting one, print the JSON and exit")
	fs.StringVar(&o.externalToken, "external-token", "", "`token` for -external-addr (defaults to $VAULT_TOKEN; prefer the variable, arguments are visible to other local users)")
	fs.BoolVar(&o.insecureSkipMuxChk, "insecure-skip-mux-check", false, "start even if the HTTP mux does not clean encoded dot segments (VULNERABLE; only for testing the path traversal canary)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: devvault [flags]\n\nRuns an in-memory Vault v1.14.0 dev server for tests and prints its details as one JSON line on stdout.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	var err error
	if o.users, err = parseUsers(users); err != nil {
		return nil, err
	}
	if o.mount, err = cleanMount(o.mount); err != nil {
		return nil, err
	}
	if o.externalAddr == "" {
		if o.externalToken != "" {
			return nil, errors.New("-external-token requires -external-addr")
		}
		if err := checkLoopback(o.listen); err != nil {
			return nil, err
		}
		return o, nil
	}
	o.externalAddr = strings.TrimRight(o.externalAddr, "/")
	if !strings.HasPrefix(o.externalAddr, "http://") && !strings.HasPrefix(o.externalAddr, "https://") {
		return nil, fmt.Errorf("-external-addr %q must be an http:// or https:// URL", o.externalAddr)
	}
	if o.externalToken == "" {
		o.externalToken = os.Getenv("VAULT_TOKEN")
	}
	if o.externalToken == "" {
		return nil, errors.New("-external-addr needs a token: set -external-token or VAULT_TOKEN")
	}
	return o, nil
}

var userNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func parseUsers(s string) ([]string, error) {
	var users []string
	seen := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !userNameRE.MatchString(name) {
			return nil, fmt.Errorf("invalid user name %q: use lower case letters, digits, '-' and '_' (userpass lower-cases names)", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("duplicate user name %q", name)
		}
		seen[name] = true
		users = append(users, name)
	}
	return users, nil
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

// runServer starts the in-process Vault, provisions it, prints the JSON and
// blocks until ctx is done, then shuts everything down.
func runServer(ctx context.Context, opts *options, logger hclog.Logger, stdout io.Writer) error {
	if err := checkMuxCleansDotSegments(); err != nil {
		if !opts.insecureSkipMuxChk {
			return err
		}
		logger.Warn("starting a server VULNERABLE to encoded path traversal (-insecure-skip-mux-check)", "problem", err.Error())
	}

	srv, err := startServer(opts.listen, logger)
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

	client, err := newAPIClient(srv.addr, srv.rootToken, false)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := provision(pctx, client, provisionConfig{mount: opts.mount, users: opts.users, demo: opts.demo, managed: true})
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return fmt.Errorf("interrupted during startup: %w", cause)
		}
		return fmt.Errorf("provisioning: %w", err)
	}
	out.Address = srv.addr
	out.RootToken = srv.rootToken
	if err := printOutput(stdout, out); err != nil {
		return err
	}

	select {
	case <-ctx.Done():
		if errors.Is(context.Cause(ctx), errStdinClosed) {
			logger.Warn("stdin closed, shutting down")
		} else {
			logger.Warn("signal received, shutting down")
		}
		return nil
	case err := <-srv.serveErr:
		return fmt.Errorf("http server stopped: %w", err)
	}
}

func runExternal(ctx context.Context, opts *options, stdout io.Writer) error {
	client, err := newAPIClient(opts.externalAddr, opts.externalToken, true)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := provision(pctx, client, provisionConfig{mount: opts.mount, users: opts.users, demo: opts.demo, managed: false})
	if err != nil {
		return fmt.Errorf("provisioning %s: %w", opts.externalAddr, err)
	}
	out.Address = opts.externalAddr
	out.RootToken = opts.externalToken
	return printOutput(stdout, out)
}

func printOutput(w io.Writer, out *Output) error {
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing JSON to stdout: %w", err)
	}
	return nil
}
