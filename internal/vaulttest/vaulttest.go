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
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
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

func (s *Server) startChild(args, env []string) error {
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("vaulttest: %w", err)
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		return fmt.Errorf("vaulttest: %w", err)
	}

	cmd := exec.Command(s.bin, args...)
	cmd.Env = env
	// *os.File values are handed to the child as is: no copying goroutines
	// that cmd.Wait would tie to, so reading stdout cannot race with Wait.
	cmd.Stdin = stdinR
	cmd.Stdout = stdoutW
	if os.Getenv(EnvLog) == "1" {
		cmd.Stderr = io.MultiWriter(os.Stderr, s.stderr)
	} else {
		cmd.Stderr = s.stderr
	}
	err = cmd.Start()
	stdinR.Close()
	stdoutW.Close()
	if err != nil {
		stdinW.Close()
		stdoutR.Close()
		return fmt.Errorf("vaulttest: starting %s: %w", s.bin, err)
	}
	s.cmd = cmd
	s.stdin = stdinW
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	s.readStdout(stdoutR)
	return nil
}

type lineResult struct {
	line []byte
	err  error
}

// readStdout starts a goroutine that sends the first line of the child's
// stdout on s.firstLine and the later ones (answers to control commands)
// on s.replies, which it closes when stdout ends.
func (s *Server) readStdout(r *os.File) {
	first := make(chan lineResult, 1)
	replies := make(chan []byte, 16)
	s.firstLine, s.replies = first, replies
	go func() {
		defer r.Close()
		defer close(replies)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		if !sc.Scan() {
			err := sc.Err()
			if err == nil {
				err = io.EOF
			}
			first <- lineResult{err: err}
		} else {
			// A final line without newline is fine.
			first <- lineResult{line: bytes.Clone(sc.Bytes())}
			for sc.Scan() {
				select {
				case replies <- bytes.Clone(sc.Bytes()):
				default: // nobody waits for it (see control)
				}
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
}

// devvaultOutput mirrors the JSON line printed by devvault.
type devvaultOutput struct {
	Address   string `json:"address"`
	RootToken string `json:"root_token"`
	Mount     string `json:"mount"`
	Users     map[string]struct {
		Token    string `json:"token"`
		EntityID string `json:"entity_id"`
		Password string `json:"password"`
		Accessor string `json:"accessor"`
	} `json:"users"`
	Orgs map[string]struct {
		Admins  []string `json:"admins"`
		Members []string `json:"members"`
	} `json:"orgs"`
	UserPolicy    string       `json:"user_policy"`
	NoPolicyToken string       `json:"no_policy_token"`
	Nodes         []nodeOutput `json:"nodes"` // cluster only
}

type nodeOutput struct {
	Address string `json:"address"`
	Active  bool   `json:"active"`
	ID      string `json:"id"`
	State   string `json:"state"`
}

func (s *Server) awaitReady(ctx context.Context) error {
	timer := time.NewTimer(startupTimeout)
	defer timer.Stop()

	var res lineResult
	select {
	case res = <-s.firstLine:
	case <-ctx.Done():
		s.kill()
		return fmt.Errorf("vaulttest: waiting for devvault: %w%s", context.Cause(ctx), s.stderrTail())
	case <-timer.C:
		s.kill()
		return fmt.Errorf("vaulttest: devvault did not report ready within %v%s", startupTimeout, s.stderrTail())
	}

	fail := func(format string, args ...any) error {
		s.kill()
		return fmt.Errorf("vaulttest: "+format+"%s", append(args, s.stderrTail())...)
	}
	if res.err != nil || len(bytes.TrimSpace(res.line)) == 0 {
		// stdout ended without the JSON line: the child is exiting.
		s.waitExit(10 * time.Second)
		return fail("devvault exited before it was ready (%v)", s.exitDescription())
	}
	var out devvaultOutput
	if err := json.Unmarshal(res.line, &out); err != nil {
		// Do not echo the line: it holds tokens.
		return fail("devvault printed an unparsable line (%d bytes): %v", len(res.line), err)
	}
	if out.Address == "" || out.RootToken == "" || out.Mount == "" || out.NoPolicyToken == "" {
		return fail("devvault output lacks address, root_token, mount or no_policy_token")
	}
	s.Addr = strings.TrimRight(out.Address, "/")
	s.RootToken = out.RootToken
	s.Mount = out.Mount
	s.NoPolicyToken = out.NoPolicyToken
	s.UserPolicy = out.UserPolicy
	s.Orgs = make(map[string]Org, len(out.Orgs))
	for name, o := range out.Orgs {
		s.Orgs[name] = Org{Admins: o.Admins, Members: o.Members}
	}
	s.Users = make(map[string]User, len(out.Users))
	for name, u := range out.Users {
		if u.Token == "" || u.EntityID == "" {
			return fail("devvault output has no token or entity_id for user %q", name)
		}
		s.Users[name] = User{Name: name, Token: u.Token, EntityID: u.EntityID, Password: u.Password, Accessor: u.Accessor}
	}
	if s.cluster {
		if len(out.Nodes) < 2 {
			return fail("devvault -cluster output lacks nodes")
		}
		s.Nodes = nodesOf(out.Nodes)
		s.setState(s.Addr, s.Nodes)
	} else {
		s.Nodes = []Node{{Addr: s.Addr, Active: true, State: StateActive}}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	s.client = &http.Client{
		Transport: tr,
		// Report redirects instead of following them: tests look at them.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	if s.External {
		// devvault only provisions and exits.
		if !s.waitExit(30 * time.Second) {
			return fail("devvault -external-addr did not exit after printing its output")
		}
		if s.waitErr != nil {
			return fail("devvault -external-addr failed after printing its output (%v)", s.exitDescription())
		}
	}
	return nil
}

// waitExit waits up to d for the child to exit and reports whether it did.
func (s *Server) waitExit(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.exited:
		return true
	case <-t.C:
		return false
	}
}

func (s *Server) kill() {
	if s.stdin != nil {
		s.stdin.Close()
	}
	if s.cmd != nil && s.cmd.Process != nil {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
}

func (s *Server) exitDescription() string {
	select {
	case <-s.exited:
		if s.waitErr == nil {
			return "exit status 0"
		}
		return s.waitErr.Error()
	default:
		return "still running"
	}
}

func (s *Server) stderrTail() string {
	if s.stderr == nil {
		return ""
	}
	t := strings.TrimSpace(s.stderr.String())
	if t == "" {
		return ""
	}
	return "\n--- devvault stderr (tail) ---\n" + t
}

// Close stops the devvault child (by closing its stdin, killing it if it
// does not exit within 15s) and waits for it. It is idempotent and safe on a
// nil or external Server; it returns an error if the child exited uncleanly.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	s.closeOnce.Do(func() {
		if s.client != nil {
			s.client.CloseIdleConnections()
		}
		if s.stdin != nil {
			s.stdin.Close()
		}
		if s.cmd == nil {
			return
		}
		if !s.waitExit(closeTimeout) {
			_ = s.cmd.Process.Kill()
			<-s.exited
			s.closeErr = fmt.Errorf("vaulttest: devvault did not stop within %v and was killed%s", closeTimeout, s.stderrTail())
			return
		}
		if s.waitErr != nil {
			s.closeErr = fmt.Errorf("vaulttest: devvault: %v%s", s.waitErr, s.stderrTail())
		}
	})
	return s.closeErr
}

// Do sends one request to the server and returns the status code and body.
// For a cluster it goes to the node that was active after the last cluster
// method (initially Addr); DoAt sends to a given node.
// path is the request path with query, e.g. "/v1/sys/mounts"; it is sent as
// given (percent-encodings preserved, dot segments not cleaned by the
// client). token, when not empty, goes in X-Vault-Token. body may be nil,
// []byte, string, an io.Reader (all sent as is) or any other value (sent as
// JSON). PATCH bodies are labelled application/merge-patch+json, others
// application/json. Redirects are returned, not followed.
func (s *Server) Do(ctx context.Context, method, path, token string, body any) (status int, respBody []byte, err error) {
	return s.DoAt(ctx, s.target(), method, path, token, body)
}

// DoAt is Do against the node at addr (one of Nodes' addresses; any base
// URL works).
func (s *Server) DoAt(ctx context.Context, addr, method, path, token string, body any) (status int, respBody []byte, err error) {
	addr = strings.TrimRight(addr, "/")
	if !strings.HasPrefix(path, "/") {
		return 0, nil, fmt.Errorf("vaulttest: Do: path %q must start with /", path)
	}
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	case io.Reader:
		r = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, fmt.Errorf("vaulttest: Do: encoding body: %w", err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, addr+path, r)
	if err != nil {
		return 0, nil, fmt.Errorf("vaulttest: Do: %w", err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	req.Header.Set("X-Vault-Request", "true")
	if r != nil {
		if method == http.MethodPatch {
			req.Header.Set("Content-Type", "application/merge-patch+json")
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	client := s.client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("vaulttest: %s %s: %w", method, redactQuery(path), err)
	}
	defer resp.Body.Close()
	respBody, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, respBody, fmt.Errorf("vaulttest: %s %s: reading body: %w", method, redactQuery(path), err)
	}
	return resp.StatusCode, respBody, nil
}

func redactQuery(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i] + "?..."
	}
	return p
}

var userNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// NewUser creates (or resets the password of) the userpass user name with
// the given policies (none: only "default"), logs it in and returns its
// token and entity id. Use unique names for per-test isolation, e.g. with
// UniqueName.
func (s *Server) NewUser(ctx context.Context, name string, policies ...string) (User, error) {
	if !userNameRE.MatchString(name) {
		return User{}, fmt.Errorf("vaulttest: NewUser: invalid user name %q (lower case letters, digits, '-', '_')", name)
	}
	password, err := randomString(24)
	if err != nil {
		return User{}, err
	}
	if policies == nil {
		policies = []string{}
	}
	p := "/v1/auth/userpass/users/" + url.PathEscape(name)
	status, body, err := s.Do(ctx, http.MethodPost, p, s.RootToken, map[string]any{
		"password":       password,
		"token_policies": policies,
	})
	if err != nil {
		return User{}, err
	}
	if status/100 != 2 {
		return User{}, fmt.Errorf("vaulttest: NewUser %s: creating user: status %d: %s", name, status, vaultErrors(body))
	}

	p = "/v1/auth/userpass/login/" + url.PathEscape(name)
	status, body, err = s.Do(ctx, http.MethodPost, p, "", map[string]any{"password": password})
	if err != nil {
		return User{}, err
	}
	if status != http.StatusOK {
		return User{}, fmt.Errorf("vaulttest: NewUser %s: login: status %d: %s", name, status, vaultErrors(body))
	}
	var login struct {
		Auth *struct {
			ClientToken string `json:"client_token"`
			Accessor    string `json:"accessor"`
			EntityID    string `json:"entity_id"`
		} `json:"auth"`
	}
	if err := json.Unmarshal(body, &login); err != nil {
		return User{}, fmt.Errorf("vaulttest: NewUser %s: decoding login response: %w", name, err)
	}
	if login.Auth == nil || login.Auth.ClientToken == "" || login.Auth.EntityID == "" {
		return User{}, fmt.Errorf("vaulttest: NewUser %s: login response has no token or entity_id", name)
	}
	return User{
		Name:     name,
		Token:    login.Auth.ClientToken,
		EntityID: login.Auth.EntityID,
		Password: password,
		Accessor: login.Auth.Accessor,
	}, nil
}

// UniqueName returns prefix followed by "-" and random lower case
// characters, valid as a user or policy name.
func UniqueName(prefix string) string {
	s, err := randomString(9)
	if err != nil {
		panic(err)
	}
	return prefix + "-" + strings.ToLower(strings.NewReplacer("-", "0", "_", "1").Replace(s))
}

// vaultErrors extracts Vault's "errors" array from a response body for error
// messages (Vault error messages do not contain tokens).
func vaultErrors(body []byte) string {
	var e struct {
		Errors []string `json:"errors"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
		return strings.Join(e.Errors, "; ")
	}
	if len(body) > 200 {
		return fmt.Sprintf("(%d byte body)", len(body))
	}
	return strings.TrimSpace(string(body))
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("vaulttest: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
