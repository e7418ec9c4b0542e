// Package vaulttest runs the dev Vault (github.com/edgesdk/edge/cmd/edge-devvault,
// an in-memory Vault v1.14.0 dev server, see its package comment) for tests:
// Start finds or builds the binary (build.go), starts it as a child process
// on a free loopback port and returns its address, root token and KV v2
// mount. The child is stopped by Close, and also exits on its own when this
// process dies because its stdin (a pipe held by this process) is closed.
//
// The server has KV version 2 at "secret" and the userpass and AppRole auth
// methods, nothing Edge-specific: package edgetest provisions it for Edge
// (policies, users, orgs), through package admin. This package uses the
// standard library only.
//
// Environment variables:
//
//	EDGE_DEVVAULT_BIN
//	    Path of a prebuilt edge-devvault binary to use instead of building one,
//	    run as it is: the user's choice. A binary this package builds lives in
//	    a private cache directory (<UserCacheDir>/edge-devvault, 0700) and
//	    runs only if it is the user's own and nobody else could have written
//	    it or its directory; otherwise Start refuses (cachedir.go).
//	EDGE_DEVVAULT_LOG=1
//	    Forward the dev Vault's stderr to os.Stderr. Otherwise the last few KB
//	    are kept and included in startup/exit errors.
//
// With Options.TLS, the server speaks TLS with HTTP/2 offered (ALPN h2,
// http/1.1), as production Vaults do, with a certificate of a CA that
// edge-devvault makes at start; Server.CACert is the CA certificate's
// file, for api.TLSConfig.CACert or VAULT_CACERT. Plain HTTP hides what
// HTTP/2 does to a response body whose request context is cancelled.
// Options.TLSClientAuth (edge-devvault -tls-client-auth) makes the server
// also require and verify a client certificate, signed by a second CA
// that edge-devvault makes at start, as a Vault listener with
// tls_require_and_verify_client_cert does: a client without one fails in
// the TLS handshake. Server.ClientCert and Server.ClientKey are the files
// of one such certificate and its key (api.TLSConfig.ClientCert and
// ClientKey, VAULT_CLIENT_CERT and VAULT_CLIENT_KEY), which Do presents.
//
// With Options.Cluster set to 3, Start runs edge-devvault -cluster 3: three
// Vault nodes with Raft storage in one process, each on its own loopback
// address (Server.Nodes). The cluster methods (StopActive, StepDown,
// SealActive, StopNode, StartNode, Status; see cluster.go) stop, seal or
// restart nodes through the child's control channel (its stdin and stdout)
// to test clients against failovers. A client that keeps talking to a
// standby, as behind a load balancer, sees the cluster fail over; a client
// of the node that is stopped or sealed sees it refuse connections or
// answer 503.
//
// Nothing in this package prints tokens or passwords. The API does not
// need a *testing.T.
package vaulttest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Environment variables read by this package.
const (
	EnvBin = "EDGE_DEVVAULT_BIN"
	EnvLog = "EDGE_DEVVAULT_LOG"
)

const (
	// startupTimeout bounds the time from starting devvault (after any
	// build) to its JSON line.
	startupTimeout = 2 * time.Minute
	// closeTimeout is how long Close waits for a clean exit before killing.
	closeTimeout = 15 * time.Second
)

// User is a userpass user on the server, logged in.
type User struct {
	Name     string
	Token    string // client token from the userpass login
	EntityID string // identity entity id of the token
	Password string
	Accessor string // token accessor
}

// String describes the user without its token or password.
func (u User) String() string {
	return fmt.Sprintf("vaulttest.User{Name: %q, EntityID: %q, Token: <redacted>, Password: <redacted>}", u.Name, u.EntityID)
}

// GoString is like String, so %#v does not print secrets either.
func (u User) GoString() string { return u.String() }

// Server is a running dev Vault: the edge-devvault child process.
//
// Its exported fields are set by Start and never change, so tests may read
// them concurrently with anything; the cluster methods report the current
// state in their results.
type Server struct {
	// Addr is the base URL, e.g. http://127.0.0.1:41234 (https:// with
	// Options.TLS); for a cluster the node that was active at Start.
	Addr      string
	RootToken string
	Mount     string // KV v2 mount path without slashes, e.g. "secret"
	// CACert is, with Options.TLS, the path of the PEM file of the CA
	// that signed the server's certificate (api.TLSConfig.CACert,
	// VAULT_CACERT); the file is removed when the server stops. "" for
	// plain HTTP.
	CACert string
	// ClientCert and ClientKey are, with Options.TLSClientAuth, the paths
	// of the PEM files of a client certificate that the server accepts
	// and of its private key (api.TLSConfig.ClientCert and ClientKey,
	// VAULT_CLIENT_CERT and VAULT_CLIENT_KEY), in the directory of CACert
	// and removed with it. "" otherwise.
	ClientCert string
	ClientKey  string
	// Nodes are the cluster's nodes at Start, in devvault's order (Raft
	// node ids core-0, core-1, ...), the active one with Active set. A
	// single server has one active node at Addr.
	Nodes []Node

	bin     string // devvault binary used
	cmd     *exec.Cmd
	stdin   *os.File // write end of the child's stdin; closing it stops the child
	exited  chan struct{}
	waitErr error // valid after exited is closed
	stderr  *tailBuffer
	client  *http.Client

	firstLine chan lineResult // first stdout line of the child
	replies   chan []byte     // later stdout lines: answers to control commands

	cluster bool
	ctlMu   sync.Mutex // serialises control commands
	ctlID   uint64     // id of the last control command, guarded by ctlMu
	stateMu sync.Mutex // guards nodes and active
	nodes   []Node     // last known state of the cluster
	active  string     // last known active node, "" if none

	closeOnce sync.Once
	closeErr  error
}

// String describes the server without its token.
func (s *Server) String() string {
	return fmt.Sprintf("vaulttest.Server{Addr: %q, Mount: %q, Nodes: %d}", s.Addr, s.Mount, len(s.Nodes))
}

// GoString is like String.
func (s *Server) GoString() string { return s.String() }

// Options configures Start.
type Options struct {
	// Cluster is the number of Vault nodes: 0 or 1 for the single
	// in-memory node, 2 to 9 for a Raft cluster in one edge-devvault
	// process (3 is the sensible size: it survives the loss of one node).
	// Its startup takes about 5 s.
	Cluster int
	// TLS serves the single node over TLS, HTTP/2 offered, with a
	// certificate of a CA the dev Vault makes at start (edge-devvault
	// -tls): Server.Addr is https://, Server.CACert the CA's file, and
	// Do trusts that CA. Not with Cluster.
	TLS bool
	// TLSClientAuth is TLS (which it implies) whose server also requires
	// and verifies a client certificate signed by a client CA the dev
	// Vault makes at start (edge-devvault -tls-client-auth):
	// Server.ClientCert and Server.ClientKey are the files of one such
	// certificate and its key, and Do presents it. Not with Cluster.
	TLSClientAuth bool
}

// startConfig holds knobs for this package's own tests.
type startConfig struct {
	extraArgs []string // appended to edge-devvault's arguments
	extraEnv  []string // appended to edge-devvault's environment
}

// Start starts (building it first if needed, see build.go) a dev Vault.
// ctx bounds the build and the startup, not the lifetime of the server:
// call Close when done.
func Start(ctx context.Context, opts Options) (*Server, error) {
	return start(ctx, opts, startConfig{})
}

func start(ctx context.Context, opts Options, sc startConfig) (*Server, error) {
	if opts.Cluster < 0 || opts.Cluster > 9 {
		return nil, fmt.Errorf("vaulttest: Options.Cluster %d: use 0 or 1 for a single node, 2 to 9 for a cluster", opts.Cluster)
	}
	cluster := opts.Cluster > 1
	if cluster && (opts.TLS || opts.TLSClientAuth) {
		return nil, fmt.Errorf("vaulttest: Options.TLS and TLSClientAuth work with a single node only, not with Cluster %d", opts.Cluster)
	}

	bin, unlock, err := devvaultBinary(ctx)
	if err != nil {
		return nil, err
	}
	unlocked := false
	doUnlock := func() {
		if !unlocked {
			unlocked = true
			unlock()
		}
	}
	defer doUnlock()

	args := []string{"-mount", "secret", "-listen", "127.0.0.1:0"}
	if cluster {
		args = append(args, "-cluster", strconv.Itoa(opts.Cluster))
	}
	switch {
	case opts.TLSClientAuth:
		args = append(args, "-tls-client-auth")
	case opts.TLS:
		args = append(args, "-tls")
	}
	// Keep a developer's Vault settings away from the local server.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "VAULT_") })
	args = append(args, sc.extraArgs...)
	env = append(env, sc.extraEnv...)

	s := &Server{
		cluster: cluster,
		bin:     bin,
		exited:  make(chan struct{}),
		stderr:  newTailBuffer(8 << 10),
	}
	if err := s.startChild(args, env); err != nil {
		return nil, err
	}
	// The binary is mapped now; another test process may replace it.
	doUnlock()

	if err := s.awaitReady(ctx); err != nil {
		return nil, err
	}
	return s, nil
}
