package edgetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/admin"
	"github.com/edgesdk/edge/internal/vaultclient"
	"github.com/edgesdk/edge/internal/vaulttest"
)

// Environment variables naming an external Vault (see the package
// documentation).
const (
	EnvAddr  = "EDGE_TEST_VAULT_ADDR"
	EnvToken = "EDGE_TEST_VAULT_TOKEN"
)

const (
	// mount is the KV version 2 mount the Vault is provisioned with.
	mount = "secret"
	// startTimeout covers a first build of the dev Vault (about two
	// minutes on 2 cores), its startup and the provisioning.
	startTimeout = 8 * time.Minute
	// opTimeout bounds each request series a method sends.
	opTimeout = time.Minute
)

// Vault is the running, provisioned Vault that Start returns. Its methods
// are safe for concurrent use by parallel tests.
type Vault struct {
	addr     string
	tls      tlsFiles // the dev Vault's with StartTLS and StartMTLS
	external bool
	srv      *vaulttest.Server // nil for an external Vault
	root     *api.Client       // the root (or EDGE_TEST_VAULT_TOKEN) token
	admin    *admin.Admin

	approleOnce sync.Once
	approleErr  error
}

// User is a Vault identity with a token, holding only the Edge user
// policy: its own user secrets, and the org secrets its memberships give.
// String and GoString print it without its token.
type User struct {
	Name     string // the userpass user name (for an AppRole, the role name)
	Token    string // a client token of the user, from a login
	EntityID string // the Vault identity entity id: the owner of the user's secrets
	// Password is the userpass password, for code under test that logs
	// in itself (edge.UserpassAuth); empty for an AppRole.
	Password string
}

// String describes u without its token and password.
func (u User) String() string {
	return fmt.Sprintf("edgetest.User{Name: %q, EntityID: %q, Token: <redacted>, Password: <redacted>}", u.Name, u.EntityID)
}

// GoString is String, so that %#v does not print the token or password
// either.
func (u User) GoString() string { return u.String() }

// tlsFiles are the files of a dev Vault's TLS setup that v's clients use:
// the CA that signed its certificate (every client of v trusts it, and
// only it), and the client certificate and key that they present ("" if
// the Vault does not ask for one).
type tlsFiles struct {
	caCert     string
	clientCert string
	clientKey  string
}

// shared holds the Vaults shared by the tests of the test binary: Start's,
// StartTLS's and StartMTLS's dev Vaults.
var shared struct {
	mu      sync.Mutex
	stopped bool
	plain   sharedVault
	tls     sharedVault
	mtls    sharedVault
}

// sharedVault is one of them, started on first use; v and err are
// guarded by shared.mu.
type sharedVault struct {
	once sync.Once
	v    *Vault
	err  error
}

// Start returns the Vault shared by all tests of the test binary,
// starting and provisioning it on the first call (see the package
// documentation: the embedded dev Vault, or the external Vault that
// EDGE_TEST_VAULT_ADDR and EDGE_TEST_VAULT_TOKEN name). It fails the test
// with t.Fatal if the Vault cannot be started, on this and every later
// call, or if Stop has already stopped it.
func Start(t testing.TB) *Vault {
	t.Helper()
	return startShared(t, &shared.plain, vaulttest.Options{})
}

// StartTLS is Start for a dev Vault served over TLS, as production Vaults
// are, with HTTP/2 negotiated (vault/api's clients speak it over TLS):
// a second dev Vault shared by the tests of the test binary, started
// (edge-devvault -tls) and provisioned like Start's on the first call,
// with a CA of its own that every client edgetest makes for it trusts
// (see [Vault.CACert]). Stop, Main and Run stop it with the other.
//
// With an external Vault (EDGE_TEST_VAULT_ADDR), StartTLS starts nothing:
// if that address is https, it returns Start's Vault, whose clients trust
// what vault/api's environment says (VAULT_CACERT, VAULT_CAPATH, else the
// system's roots); if it is plain http, StartTLS skips the test
// (t.Skip), saying so.
func StartTLS(t testing.TB) *Vault {
	t.Helper()
	if addr := os.Getenv(EnvAddr); addr != "" {
		if !strings.HasPrefix(addr, "https://") {
			t.Skipf("edgetest: StartTLS: the external Vault %s (%s) is not served over TLS", addr, EnvAddr)
		}
		return Start(t)
	}
	return startShared(t, &shared.tls, vaulttest.Options{TLS: true})
}

// StartMTLS is StartTLS for a dev Vault that also requires and verifies
// a client certificate, as a Vault listener with
// tls_require_and_verify_client_cert does: a third dev Vault shared by
// the tests of the test binary, started (edge-devvault -tls-client-auth)
// and provisioned like Start's on the first call. The dev Vault makes a
// second CA at start, for clients, and one client certificate signed by
// it; every client edgetest makes for it presents that certificate (and
// trusts the server's CA, see [Vault.CACert]); [Vault.ClientCert] gives
// its files, for clients that edgetest does not make. A client without
// it fails in the TLS handshake. Stop, Main and Run stop it with the
// others.
//
// With an external Vault (EDGE_TEST_VAULT_ADDR), StartMTLS skips the
// test (t.Skip), saying so: edgetest cannot make an external Vault ask
// for client certificates, nor make one that it accepts.
func StartMTLS(t testing.TB) *Vault {
	t.Helper()
	if addr := os.Getenv(EnvAddr); addr != "" {
		t.Skipf("edgetest: StartMTLS needs the dev Vault: it cannot make the external Vault %s (%s) require client certificates", addr, EnvAddr)
	}
	return startShared(t, &shared.mtls, vaulttest.Options{TLSClientAuth: true})
}

func startShared(t testing.TB, sv *sharedVault, opts vaulttest.Options) *Vault {
	t.Helper()
	sv.once.Do(func() {
		shared.mu.Lock()
		stopped := shared.stopped
		shared.mu.Unlock()
		if stopped {
			return // never start a Vault that nothing would stop
		}
		v, err := start(opts)
		shared.mu.Lock()
		late := err == nil && shared.stopped
		if !late {
			sv.v, sv.err = v, err
		}
		shared.mu.Unlock()
		if late {
			_ = v.close() // Stop ran meanwhile, before v was there to stop
		}
	})
	shared.mu.Lock()
	v, err, stopped := sv.v, sv.err, shared.stopped
	shared.mu.Unlock()
	switch {
	case err != nil:
		t.Fatalf("edgetest: starting Vault: %v", err)
	case stopped:
		t.Fatalf("edgetest: the shared Vault was stopped (edgetest.Stop or edgetest.Main already ran)")
	}
	return v
}

// start starts or connects to the Vault and provisions it for Edge; opts
// are the dev Vault's (TLS, client certificates).
func start(opts vaulttest.Options) (*Vault, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	addr, token := os.Getenv(EnvAddr), os.Getenv(EnvToken)
	if (addr == "") != (token == "") {
		return nil, fmt.Errorf("set both %s and %s to use an external Vault (only one is set)", EnvAddr, EnvToken)
	}
	v := &Vault{external: addr != ""}
	var files tlsFiles
	if !v.external {
		// The dev Vault; an external Vault needs neither its binary
		// nor the go command to build one.
		srv, err := vaulttest.Start(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("%w\n(to use a Vault of your own instead, set %s and %s)", err, EnvAddr, EnvToken)
		}
		v.srv = srv
		addr, token = srv.Addr, srv.RootToken
		files = tlsFiles{caCert: srv.CACert, clientCert: srv.ClientCert, clientKey: srv.ClientKey}
	}
	if err := v.provision(ctx, addr, token, files); err != nil {
		_ = v.srv.Close()
		return nil, err
	}
	return v, nil
}

// Provision sets up for Edge the Vault at addr, which the test (not
// edgetest) runs, such as a Raft cluster or a Vault behind a proxy of the
// test's, and returns it: the same setup as Start's for an external
// Vault (see the package documentation), with token, which must be able
// to manage mounts, auth methods, policies and identity groups. It fails
// the test with t.Fatal if it cannot. Nothing is stopped at the end; the
// idle connections of v's own clients are closed by t.Cleanup.
func Provision(t testing.TB, addr, token string) *Vault {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	v := &Vault{external: true}
	if err := v.provision(ctx, addr, token, tlsFiles{}); err != nil {
		t.Fatalf("edgetest: Provision %s: %v", addr, err)
	}
	t.Cleanup(func() { vaultclient.CloseIdle(v.root) })
	return v
}

// provision sets up the Vault at addr for Edge with token; files, if
// not empty, are the dev Vault's TLS files: the CA that every client of v
// trusts (and the only one), and the client certificate they present.
func (v *Vault) provision(ctx context.Context, addr, token string, files tlsFiles) error {
	v.addr = strings.TrimRight(addr, "/")
	v.tls = files
	cfg := &api.Config{Address: v.addr}
	if files.caCert != "" {
		// On vault/api's default transport, set up for HTTP/2. Every
		// client of v is a clone of root: they all share it.
		err := cfg.ConfigureTLS(&api.TLSConfig{CACert: files.caCert, ClientCert: files.clientCert, ClientKey: files.clientKey})
		if err != nil {
			return fmt.Errorf("vault client for %s: %w", v.addr, err)
		}
	}
	root, err := api.NewClient(cfg)
	if err != nil {
		return fmt.Errorf("vault client for %s: %w", v.addr, err)
	}
	root.SetToken(token)
	v.root = isolate(root)
	if err := v.ensureAuth(ctx, "userpass"); err != nil {
		return err
	}
	v.admin, err = admin.New(admin.Config{Client: root, Mount: mount})
	if err != nil {
		return err
	}
	if err := v.admin.Setup(ctx); err != nil {
		return fmt.Errorf("setting up Vault for Edge: %w", err)
	}
	return nil
}

// ensureAuth enables the auth method kind at path kind unless something
// is mounted there.
func (v *Vault) ensureAuth(ctx context.Context, kind string) error {
	auths, err := v.root.Sys().ListAuthWithContext(ctx)
	if err != nil {
		return fmt.Errorf("listing auth methods: %w", err)
	}
	if m, ok := auths[kind+"/"]; ok {
		if m.Type != kind {
			return fmt.Errorf("auth method at %s/ is %q, not %q", kind, m.Type, kind)
		}
		return nil
	}
	if err := v.root.Sys().EnableAuthWithOptionsWithContext(ctx, kind, &api.EnableAuthOptions{Type: kind}); err != nil {
		return fmt.Errorf("enabling the %s auth method: %w", kind, err)
	}
	return nil
}

// Main runs the tests of m, stops the shared Vaults that tests started,
// and exits with the tests' exit code. Call it from TestMain:
//
//	func TestMain(m *testing.M) { edgetest.Main(m) }
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main without the exit: it runs the tests of m, stops the shared
// Vaults that tests started and returns the exit code, 1 if the tests
// passed but a dev Vault did not exit cleanly. It is for a TestMain
// that does more after the tests, such as a check for leaked goroutines.
func Run(m *testing.M) int {
	code := m.Run()
	if err := Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Stop stops the shared Vaults (Start's, StartTLS's and StartMTLS's),
// waiting for the dev Vaults to exit, and returns an error if one did not
// exit cleanly. It does nothing if no test started one, or for an
// external Vault. Call it at the end of a TestMain of your own (Main
// does); Start, StartTLS and StartMTLS fail the tests that call them
// afterwards.
func Stop() error {
	shared.mu.Lock()
	vs := []*Vault{shared.plain.v, shared.tls.v, shared.mtls.v}
	shared.stopped = true
	shared.mu.Unlock()
	var errs []error
	for _, v := range vs {
		if err := v.close(); err != nil {
			errs = append(errs, fmt.Errorf("edgetest: stopping the dev Vault: %w", err))
		}
	}
	return errors.Join(errs...)
}

// close closes v's idle connections and stops its dev Vault. It is safe
// on nil.
func (v *Vault) close() error {
	if v == nil {
		return nil
	}
	vaultclient.CloseIdle(v.root)
	return v.srv.Close()
}

// Addr returns the Vault's address, such as "http://127.0.0.1:41234"
// ("https://..." from StartTLS), for edge.Config.Address or
// api.Config.Address.
func (v *Vault) Addr() string { return v.addr }

// CACert returns the path of the PEM file of the CA whose certificate the
// dev Vault of StartTLS (or StartMTLS) serves, for a client that edgetest
// does not make: api.TLSConfig.CACert, VAULT_CACERT, or the edge-secrets
// CLI's environment. The file exists until the Vault stops. It is "" for
// a plain HTTP Vault and for an external Vault (whose clients trust what
// vault/api's environment says).
func (v *Vault) CACert() string { return v.tls.caCert }

// ClientCert returns the paths of the PEM files of the client certificate
// that the dev Vault of StartMTLS requires and of its private key, for a
// client that edgetest does not make: api.TLSConfig.ClientCert and
// ClientKey, VAULT_CLIENT_CERT and VAULT_CLIENT_KEY (with [Vault.CACert]).
// The files exist until the Vault stops. Both are "" for a Vault that
// does not ask for a client certificate.
func (v *Vault) ClientCert() (certFile, keyFile string) {
	return v.tls.clientCert, v.tls.clientKey
}

// Mount returns the path of the KV version 2 mount that holds the Edge
// secrets ("secret"), for edge.Config.Mount and edge.Origin.Mount.
func (v *Vault) Mount() string { return mount }

// External reports whether v is an external Vault named by
// EDGE_TEST_VAULT_ADDR rather than the embedded dev Vault.
func (v *Vault) External() bool { return v.external }

// RootClient returns a new vault/api client of the Vault with the root
// token (for an external Vault, EDGE_TEST_VAULT_TOKEN), for what neither
// the methods of v nor [Vault.Admin] cover: mounts, policies, tokens of
// one's own. Each call returns a client of its own, which the caller may
// change. Do not change what other tests rely on with it.
func (v *Vault) RootClient(t testing.TB) *api.Client {
	t.Helper()
	c, err := v.client(v.root.Token())
	if err != nil {
		t.Fatalf("edgetest: RootClient: %v", err)
	}
	return c
}

// client returns a new client of v with token ("": none): v's address
// and TLS settings (the dev Vault's CA and client certificate), isolated
// from VAULT_NAMESPACE, VAULT_WRAP_TTL and VAULT_TOKEN.
func (v *Vault) client(token string) (*api.Client, error) {
	c, err := v.root.Clone()
	if err != nil {
		return nil, fmt.Errorf("vault client: %w", err)
	}
	if token == "" {
		c.ClearToken()
	} else {
		c.SetToken(token)
	}
	return isolate(c), nil
}

// isolate keeps a developer's VAULT_NAMESPACE and VAULT_WRAP_TTL, which
// vault/api reads from the environment for every new or cloned client,
// away from c: they are not meant for this Vault.
func isolate(c *api.Client) *api.Client {
	c.ClearNamespace()
	c.SetWrappingLookupFunc(func(string, string) string { return "" })
	return c
}

// UniqueName returns prefix followed by "-" and random lower case letters
// and digits, a name no other test uses: for secrets, orgs, mounts or
// policies of a test's own. It is a valid Edge name if prefix is.
func UniqueName(prefix string) string { return vaulttest.UniqueName(prefix) }

// Admin returns the Vault's Edge operator, an *admin.Admin working with
// the root token (or EDGE_TEST_VAULT_TOKEN), for what the methods of v do
// not cover: RemoveAdmin, DeleteOrg, Members, Admins, the policy names.
// It is shared: do not use it to change what other tests rely on.
func (v *Vault) Admin() *admin.Admin { return v.admin }

func opContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

// A UserOption changes the user that [Vault.NewUser] makes.
type UserOption func(*userOptions)

type userOptions struct {
	policies []string
}

// WithPolicies gives the user exactly the named Vault policies (and
// Vault's "default", which every token has) instead of the Edge user
// policy. With no names, the user has only "default": a Vault identity
// that may not even read its own Edge secrets.
func WithPolicies(policies ...string) UserOption {
	return func(o *userOptions) { o.policies = append([]string{}, policies...) }
}

// NewUser makes a new userpass user, with a random name and a Vault
// identity entity of its own, holding only the Edge user policy (as an
// operator would make one) unless [WithPolicies] says otherwise, logs it
// in and returns it.
func (v *Vault) NewUser(t testing.TB, opts ...UserOption) User {
	t.Helper()
	o := userOptions{policies: []string{v.admin.UserPolicyName()}}
	for _, opt := range opts {
		opt(&o)
	}
	ctx, cancel := opContext()
	defer cancel()
	u, err := v.newUser(ctx, o)
	if err != nil {
		t.Fatalf("edgetest: NewUser: %v", err)
	}
	return u
}

func (v *Vault) newUser(ctx context.Context, o userOptions) (User, error) {
	name := vaulttest.UniqueName("edgetest-user")
	password := vaulttest.UniqueName("pw")
	_, err := v.root.Logical().WriteWithContext(ctx, "auth/userpass/users/"+name, map[string]any{
		"password":       password,
		"token_policies": o.policies,
	})
	if err != nil {
		return User{}, fmt.Errorf("creating userpass user %s: %w", name, err)
	}
	login, err := v.anonymous()
	if err != nil {
		return User{}, err
	}
	secret, err := login.Logical().WriteWithContext(ctx, "auth/userpass/login/"+name, map[string]any{"password": password})
	if err != nil {
		return User{}, fmt.Errorf("logging in as %s: %w", name, err)
	}
	u, err := userOf(name, secret)
	u.Password = password
	return u, err
}

// anonymous returns a client of the Vault without a token, for logins.
func (v *Vault) anonymous() (*api.Client, error) { return v.client("") }

// userOf reads a login's answer.
func userOf(name string, login *api.Secret) (User, error) {
	if login == nil || login.Auth == nil || login.Auth.ClientToken == "" || login.Auth.EntityID == "" {
		return User{}, fmt.Errorf("the login of %s returned no token or no entity id", name)
	}
	return User{Name: name, Token: login.Auth.ClientToken, EntityID: login.Auth.EntityID}, nil
}

// NewOrg creates a new org with a random name, makes each of admins an
// admin of it, and returns its name. Org admins may create, update and
// delete the org's secrets, members may list, read and wrap them (see
// AddMember).
func (v *Vault) NewOrg(t testing.TB, admins ...User) string {
	t.Helper()
	ctx, cancel := opContext()
	defer cancel()
	org := vaulttest.UniqueName("edgetest-org")
	if err := v.admin.CreateOrg(ctx, org); err != nil {
		t.Fatalf("edgetest: NewOrg: %v", err)
	}
	for _, a := range admins {
		if err := v.admin.AddAdmin(ctx, org, a.EntityID); err != nil {
			t.Fatalf("edgetest: NewOrg: making %s an admin of %s: %v", a.Name, org, err)
		}
	}
	return org
}

// AddMember makes u a member of org: u may then list, read and wrap the
// org's secrets, from u's next request on.
func (v *Vault) AddMember(t testing.TB, org string, u User) {
	t.Helper()
	v.edit(t, "AddMember", v.admin.AddMember, org, u)
}

// AddAdmin makes u an admin of org: u may then also create, update and
// delete the org's secrets.
func (v *Vault) AddAdmin(t testing.TB, org string, u User) {
	t.Helper()
	v.edit(t, "AddAdmin", v.admin.AddAdmin, org, u)
}

// RemoveMember takes u out of org's members: from u's next request on,
// Vault refuses u the org's secrets (unless u is also an admin). A
// session with a read cache (edge.Config.CacheTTL) may still answer
// reads from its cache until they expire.
func (v *Vault) RemoveMember(t testing.TB, org string, u User) {
	t.Helper()
	v.edit(t, "RemoveMember", v.admin.RemoveMember, org, u)
}

func (v *Vault) edit(t testing.TB, op string, f func(context.Context, string, string) error, org string, u User) {
	t.Helper()
	ctx, cancel := opContext()
	defer cancel()
	if err := f(ctx, org, u.EntityID); err != nil {
		t.Fatalf("edgetest: %s %s, org %s: %v", op, u.Name, org, err)
	}
}

// Config returns the edge.Config of a session of u on org at v: Client,
// Address, Token, Mount and Org set. Client is a new vault/api client of
// v with u's token that sends no namespace whatever VAULT_NAMESPACE says,
// wraps nothing whatever VAULT_WRAP_TTL says, trusts the CA of a
// StartTLS or StartMTLS Vault and presents the client certificate of a
// StartMTLS Vault. Other fields are left empty, so that edge.NewSession
// takes them from the environment and its defaults, and so does Org if
// org is "" (EDGE_ORG). Use it for code under test that makes its own
// sessions; set Auth, CacheTTL, Logger, ... as needed.
func (v *Vault) Config(u User, org string) edge.Config {
	cfg := edge.Config{Address: v.addr, Token: u.Token, Mount: mount, Org: org}
	// The client fails only on an environment vault/api cannot read
	// (VAULT_RATE_LIMIT, VAULT_MAX_RETRIES, ... malformed); edge.NewSession
	// reports that environment's error itself when Client is nil.
	if c, err := v.client(u.Token); err == nil {
		cfg.Client = c
	}
	return cfg
}

// Session returns a session of u on org (with org "", EDGE_ORG or no org;
// see Config), closed by t.Cleanup when the test ends.
func (v *Vault) Session(t testing.TB, u User, org string) *edge.Session {
	t.Helper()
	return v.newSession(t, "Session", v.Config(u, org))
}

// NewSession is edge.NewSession for a test: if cfg.Client is nil and
// cfg.Address is empty or v's, it sets cfg.Client to a client of v like
// Config's, without a token (set cfg.Token or cfg.Auth); it fills in
// cfg.Mount with v's when it is empty, makes the session, fails the test
// if it cannot, and closes the session with t.Cleanup when the test ends.
func (v *Vault) NewSession(t testing.TB, cfg edge.Config) *edge.Session {
	t.Helper()
	if cfg.Client == nil && (cfg.Address == "" || cfg.Address == v.addr) {
		c, err := v.client("")
		if err != nil {
			t.Fatalf("edgetest: NewSession: %v", err)
		}
		cfg.Client = c
	}
	if cfg.Mount == "" {
		cfg.Mount = mount
	}
	return v.newSession(t, "NewSession", cfg)
}

func (v *Vault) newSession(t testing.TB, op string, cfg edge.Config) *edge.Session {
	t.Helper()
	ctx, cancel := opContext()
	defer cancel()
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		t.Fatalf("edgetest: %s: %v", op, err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	return sess
}
