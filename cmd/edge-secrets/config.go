package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"
	"github.com/hashicorp/vault/api/auth/userpass"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/internal/vaulterr"
)

// defaultTimeout bounds a whole command unless --timeout says otherwise.
const defaultTimeout = time.Minute

// conn is the connection configuration: the global flags, which may also
// follow the command name. Empty fields come from the environment, as
// edge.NewSession and vault/api read it. Flags are registered with zero
// defaults, so that registering them on a command's flag set does not
// reset what the global flags set.
type conn struct {
	addr    string
	orgName string
	mount   string
	prefix  string
	timeout time.Duration
}

// addrFlags registers --addr and --timeout, which every command takes.
func (c *conn) addrFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", c.addr, "Vault's `URL` (default $VAULT_ADDR)")
	fs.DurationVar(&c.timeout, "timeout", c.timeout, "give up after this `DURATION` (default 1m)")
}

// storeFlags registers --mount and --prefix: where the secrets are.
func (c *conn) storeFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.mount, "mount", c.mount, "the KV v2 mount `PATH` (default $EDGE_KV_MOUNT, else secret)")
	fs.StringVar(&c.prefix, "prefix", c.prefix, "the `PATH` below the mount that holds Edge's secrets (default edge)")
}

// orgFlag registers --org-name, the org of org commands.
func (c *conn) orgFlag(fs *flag.FlagSet) {
	fs.StringVar(&c.orgName, "org-name", c.orgName, "the `NAME` of the org of --org (default $EDGE_ORG, else $EDGE_API_ORG)")
}

// allFlags registers every connection flag.
func (c *conn) allFlags(fs *flag.FlagSet) {
	c.addrFlags(fs)
	c.orgFlag(fs)
	c.storeFlags(fs)
}

// org returns the org commands with --org act on: --org-name, else the
// environment edge.NewSession reads.
func (c *conn) org() string {
	for _, o := range []string{c.orgName, os.Getenv("EDGE_ORG"), os.Getenv("EDGE_API_ORG")} {
		if o != "" {
			return o
		}
	}
	return ""
}

// originMount and originPrefix are where verify expects the secret: the
// flags, else the environment and the defaults a session uses.
func (c *conn) originMount() string {
	for _, m := range []string{c.mount, os.Getenv("EDGE_KV_MOUNT")} {
		if m != "" {
			return m
		}
	}
	return edge.DefaultMount
}

func (c *conn) originPrefix() string {
	if c.prefix != "" {
		return c.prefix
	}
	return edge.DefaultPrefix
}

// client returns a vault/api client from its environment (VAULT_ADDR,
// VAULT_TOKEN, VAULT_CACERT, VAULT_NAMESPACE, ...), at --addr if given.
// It never wraps: VAULT_WRAP_TTL would make vault/api wrap the
// lookup-self of whoami.
func (c *conn) client() (*api.Client, error) {
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, configErrorf("reading vault/api's environment%s: %v", envAddress(), cfg.Error)
	}
	client, err := api.NewClient(cfg)
	if err != nil {
		return nil, configErrorf("making the Vault client%s: %v", envAddress(), err)
	}
	if c.addr != "" {
		// Checked here, and never quoted: a token typed after --addr
		// would be, in vault/api's and net/http's errors.
		u, err := url.Parse(c.addr)
		valid := err == nil && (u.Scheme == "unix" || (u.Scheme == "http" || u.Scheme == "https") && u.Host != "")
		if !valid {
			return nil, usageErrorf("--addr is not a Vault URL such as https://vault.example.com:8200 (%d bytes, %s)", len(c.addr), notShown)
		}
		if err := client.SetAddress(c.addr); err != nil {
			return nil, usageErrorf("--addr is not a Vault URL (%d bytes, %s)", len(c.addr), notShown)
		}
	}
	client.SetWrappingLookupFunc(func(string, string) string { return "" })
	return client, nil
}

// envAddress returns " for ADDRESS", the scheme and host VAULT_ADDR
// names (never a password, path or query), or "" without one.
func envAddress() string {
	u, err := url.Parse(os.Getenv(api.EnvVaultAddress))
	if err != nil || u.Host == "" {
		return ""
	}
	return " for " + u.Scheme + "://" + u.Host
}

// Environment variables that choose a login method.
const (
	envRoleID        = "VAULT_ROLE_ID"
	envSecretID      = "VAULT_SECRET_ID"
	envSecretIDFile  = "VAULT_SECRET_ID_FILE"
	envAppRoleMount  = "VAULT_APPROLE_MOUNT"
	envUsername      = "VAULT_USERNAME"
	envPassword      = "VAULT_PASSWORD"
	envPasswordFile  = "VAULT_PASSWORD_FILE"
	envUserpassMount = "VAULT_USERPASS_MOUNT"
)

// authMethod returns the login the environment asks for: AppRole with
// VAULT_ROLE_ID, userpass with VAULT_USERNAME, or none (nil: the token
// from VAULT_TOKEN is used as it is). The secret id and the password are
// read by the auth modules themselves, from the environment or a file,
// when the session logs in.
func authMethod() (api.AuthMethod, error) {
	roleID, username := os.Getenv(envRoleID), os.Getenv(envUsername)
	switch {
	case roleID != "" && username != "":
		return nil, usageErrorf("both %s (AppRole) and %s (userpass) are set: set one", envRoleID, envUsername)
	case roleID != "":
		src, err := credential(envSecretID, envSecretIDFile, "AppRole secret id")
		if err != nil {
			return nil, err
		}
		a, err := approle.NewAppRoleAuth(roleID, &approle.SecretID{FromEnv: src.env, FromFile: src.file},
			approle.WithMountPath(mountOr(envAppRoleMount, "approle")))
		if err != nil {
			return nil, usageErrorf("AppRole login: %v", err)
		}
		return a, nil
	case username != "":
		src, err := credential(envPassword, envPasswordFile, "userpass password")
		if err != nil {
			return nil, err
		}
		a, err := userpass.NewUserpassAuth(username, &userpass.Password{FromEnv: src.env, FromFile: src.file},
			userpass.WithMountPath(mountOr(envUserpassMount, "userpass")))
		if err != nil {
			return nil, usageErrorf("userpass login: %v", err)
		}
		return a, nil
	}
	return nil, nil
}

// credentialSource names where an auth module reads a credential: the
// environment variable env, or the file.
type credentialSource struct{ env, file string }

func credential(envVar, fileVar, what string) (credentialSource, error) {
	inEnv, file := os.Getenv(envVar) != "", os.Getenv(fileVar)
	switch {
	case inEnv && file != "":
		return credentialSource{}, usageErrorf("both %s and %s are set: give the %s one way", envVar, fileVar, what)
	case inEnv:
		return credentialSource{env: envVar}, nil
	case file != "":
		// Read here first, so that a missing file is told as such before
		// any request (vault/api would report it from the login).
		f, err := os.Open(file)
		if err != nil {
			return credentialSource{}, fmt.Errorf("%s: %w", fileVar, err)
		}
		f.Close()
		return credentialSource{file: file}, nil
	}
	return credentialSource{}, usageErrorf("no %s: set %s, or %s to a file holding it", what, envVar, fileVar)
}

func mountOr(envVar, def string) string {
	if m := os.Getenv(envVar); m != "" {
		return m
	}
	return def
}

// loginRecorder logs in with method and keeps the token of the latest
// login, in memory, for whoami's lookup-self: the session does not show
// its token.
type loginRecorder struct {
	method api.AuthMethod

	mu    sync.Mutex
	token string
}

func (l *loginRecorder) Login(ctx context.Context, client *api.Client) (*api.Secret, error) {
	s, err := l.method.Login(ctx, client)
	if err == nil && s != nil && s.Auth != nil {
		l.mu.Lock()
		l.token = s.Auth.ClientToken
		l.mu.Unlock()
	}
	return s, err
}

func (l *loginRecorder) lastToken() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.token
}

// connection is a session and what whoami needs besides.
type connection struct {
	sess   *edge.Session
	client *api.Client    // the base client: address, TLS, VAULT_TOKEN
	login  *loginRecorder // nil without a login method
}

// token returns the session's current token: the latest login's, or the
// client's.
func (c *connection) token() string {
	if c.login != nil {
		if t := c.login.lastToken(); t != "" {
			return t
		}
	}
	return c.client.Token()
}

// errNoCredentials is NewSession's refusal without a token, told in the
// command's terms.
var errNoCredentials = &cliError{code: ExitPermissionDenied,
	msg: "no Vault credentials: set VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID (AppRole), or VAULT_USERNAME and VAULT_PASSWORD (userpass)"}

// connect makes the session: edge.NewSession with the flags and the
// environment, logging in with the method the environment names.
func (c *conn) connect(ctx context.Context, org string) (*connection, error) {
	method, err := authMethod()
	if err != nil {
		return nil, err
	}
	client, err := c.client()
	if err != nil {
		return nil, err
	}
	cfg := edge.Config{Client: client, Org: org, Mount: c.mount, Prefix: c.prefix}
	var rec *loginRecorder
	if method != nil {
		rec = &loginRecorder{method: method}
		cfg.Auth = rec
	} else if client.Token() == "" {
		return nil, errNoCredentials
	}
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &connection{sess: sess, client: client, login: rec}, nil
}

// tokenTTL returns the time the session's token has left, from
// auth/token/lookup-self (0: it never expires).
func (c *connection) tokenTTL(ctx context.Context) (time.Duration, error) {
	client, err := c.client.Clone()
	if err != nil {
		return 0, err
	}
	client.SetToken(c.token())
	client.SetWrappingLookupFunc(func(string, string) string { return "" })
	self, err := client.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		code := ExitError
		switch {
		case vaulterr.IsTLSOrConfig(err):
			code = ExitConfig
		case vaulterr.Status(err) == 403:
			code = ExitPermissionDenied
		case vaulterr.Unavailable(err) || errors.Is(err, context.DeadlineExceeded):
			code = ExitUnavailable
		}
		return 0, &cliError{code: code, msg: "looking up the token: " + vaulterr.Describe(err)}
	}
	ttl, err := self.TokenTTL()
	if err != nil {
		return 0, errors.New("looking up the token: vault's answer has no valid ttl")
	}
	return ttl, nil
}
