// Package vaulttest gives tests (and the quickstart example) a real Vault.
//
// By default Start builds internal/devvault (an in-memory Vault v1.14.0 dev
// server, see its package comment) into the user cache directory, starts it
// as a child process on a free loopback port and returns its address, root
// token, KV v2 mount and a set of provisioned userpass users. The child is
// stopped by Close, and also exits on its own when this process dies because
// its stdin (a pipe held by this process) is closed.
//
// Environment variables:
//
//	EDGE_TEST_VAULT_ADDR, EDGE_TEST_VAULT_TOKEN
//	    When both are set, no server is started: devvault -external-addr is
//	    run to provision that existing Vault (KV v2 at "secret", userpass, the
//	    edge user policy, the requested users, with Options.Demo the demo
//	    orgs, a default-policy-only token) with the given token, which must be able to manage mounts, auth
//	    methods, policies and tokens (a root token in practice). The token is
//	    handed to devvault through its VAULT_TOKEN environment variable, not
//	    on the command line. Setting only one of them is an error. Server.External
//	    is true in this mode and Close does not stop anything.
//	EDGE_DEVVAULT_BIN
//	    Path of a prebuilt devvault binary to use instead of building one.
//	EDGE_DEVVAULT_LOG=1
//	    Forward devvault's stderr to os.Stderr. Otherwise the last few KB are
//	    kept and included in startup/exit errors.
//
// With Options.Cluster set to 3, Start runs devvault -cluster 3: three Vault
// nodes with Raft storage in one process, each on its own loopback address
// (Server.Nodes), provisioned like the single server. The cluster methods
// (StopActive, StepDown, SealActive, StopNode, StartNode, Status; see
// cluster.go) stop, seal or restart nodes through devvault's control channel
// (its stdin and stdout) to test clients against failovers. A client that
// keeps talking to a standby, as behind a load balancer, sees the cluster
// fail over; a client of the node that is stopped or sealed sees it refuse
// connections or answer 503.
//
// Nothing in this package prints tokens or passwords. The core API does not
// need a *testing.T; Run and Shared are the conveniences for test binaries.
package vaulttest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Environment variables read by this package.
const (
	EnvAddr  = "EDGE_TEST_VAULT_ADDR"
	EnvToken = "EDGE_TEST_VAULT_TOKEN"
	EnvBin   = "EDGE_DEVVAULT_BIN"
	EnvLog   = "EDGE_DEVVAULT_LOG"
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

// Server is a provisioned Vault: the in-process devvault child, or an
// external Vault (see the package documentation).
//
// Its exported fields are set by Start and never change, so tests may read
// them concurrently with anything; the cluster methods report the current
// state in their results.
type Server struct {
	// Addr is the base URL, e.g. http://127.0.0.1:41234; for a cluster the
	// node that was active at Start.
	Addr          string
	RootToken     string
	Mount         string // KV v2 mount path without slashes, e.g. "secret"
	NoPolicyToken string // token with only the "default" policy
	UserPolicy    string // the edge user policy every provisioned user holds
	Users         map[string]User
	Orgs          map[string]Org // with Options.Demo: the demo orgs
	External      bool
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

// String describes the server without any token.
func (s *Server) String() string {
	names := make([]string, 0, len(s.Users))
	for n := range s.Users {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Sprintf("vaulttest.Server{Addr: %q, Mount: %q, External: %t, Users: %q}", s.Addr, s.Mount, s.External, names)
}

// GoString is like String.
func (s *Server) GoString() string { return s.String() }

// Org is a provisioned org, by the names of its users.
type Org struct {
	Admins, Members []string
}

// Options configures Start.
type Options struct {
	// Users are the userpass users to create, each with only the edge user
	// policy (package admin) and logged in. Names must be lower case
	// letters, digits, '-' and '_'.
	Users []string

	// Demo provisions the demo layout too: org acme with admin carol and
	// members alice and bob, org globex with member dave.
	Demo bool

	// Local starts the embedded dev Vault even when EDGE_TEST_VAULT_ADDR
	// names an external one: for a fresh Vault of one's own.
	Local bool

	// Cluster is the number of Vault nodes: 0 or 1 for the single
	// in-memory node, 2 to 9 for a Raft cluster in one devvault process
	// (3 is the sensible size: it survives the loss of one node). A
	// cluster is always local, whatever EDGE_TEST_VAULT_ADDR says. Its
	// startup takes about 5 s.
	Cluster int
}

// startConfig holds knobs for this package's own tests.
type startConfig struct {
	forceLocal bool     // ignore EDGE_TEST_VAULT_ADDR/TOKEN
	extraArgs  []string // appended to devvault's arguments
	extraEnv   []string // appended to devvault's environment
}

// Start starts (building it first if needed) and provisions a devvault
// server, or provisions the external Vault named by EDGE_TEST_VAULT_ADDR and
// EDGE_TEST_VAULT_TOKEN. ctx bounds the build and the startup, not the
// lifetime of the server: call Close when done.
//
// The first build of devvault takes about two minutes; later calls only pay
// for an up-to-date check of the Go build (well under a second).
func Start(ctx context.Context, opts Options) (*Server, error) {
	return start(ctx, opts, startConfig{})
}

func start(ctx context.Context, opts Options, sc startConfig) (*Server, error) {
	if opts.Cluster < 0 || opts.Cluster > 9 {
		return nil, fmt.Errorf("vaulttest: Options.Cluster %d: use 0 or 1 for a single node, 2 to 9 for a cluster", opts.Cluster)
	}
	cluster := opts.Cluster > 1
	extAddr, extToken := os.Getenv(EnvAddr), os.Getenv(EnvToken)
	external := !sc.forceLocal && !opts.Local && !cluster && (extAddr != "" || extToken != "")
	if external && (extAddr == "" || extToken == "") {
		return nil, fmt.Errorf("vaulttest: set both %s and %s to use an external Vault (only one is set)", EnvAddr, EnvToken)
	}
	for _, u := range opts.Users {
		if !userNameRE.MatchString(u) {
			return nil, fmt.Errorf("vaulttest: invalid user name %q", u)
		}
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

	args := []string{"-mount", "secret"}
	if len(opts.Users) > 0 {
		args = append(args, "-users", strings.Join(opts.Users, ","))
	}
	if opts.Demo {
		args = append(args, "-demo")
	}
	env := os.Environ()
	if external {
		args = append(args, "-external-addr", extAddr)
		env = append(env, "VAULT_TOKEN="+extToken)
	} else {
		// Keep a developer's Vault settings away from the local server.
		env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "VAULT_") })
		args = append(args, "-listen", "127.0.0.1:0")
		if cluster {
			args = append(args, "-cluster", strconv.Itoa(opts.Cluster))
		}
	}
	args = append(args, sc.extraArgs...)
	env = append(env, sc.extraEnv...)

	s := &Server{
		External: external,
		cluster:  cluster,
		bin:      bin,
		exited:   make(chan struct{}),
		stderr:   newTailBuffer(8 << 10),
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
