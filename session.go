package edge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge/internal/kvmount"
	"github.com/edgesdk/edge/internal/vaultclient"
	"github.com/edgesdk/edge/internal/vaulterr"
)

// Defaults for the Config fields left empty (and not set in the
// environment).
const (
	DefaultMount   = "secret"
	DefaultPrefix  = "edge"
	DefaultWrapTTL = 5 * time.Minute
)

// Config says how a Session reaches Vault and where it keeps secrets. The
// zero Config takes everything from the environment.
type Config struct {
	// Client is a configured vault/api client to use, for any auth
	// method. The session works on a client of its own made from it and
	// never modifies it: it keeps the client's address, token (unless
	// Token is set), headers and namespace, TLS and timeouts, retry and
	// rate limit settings, with an HTTP client and transport of its own
	// (copied from the client's), so that nothing done to either client
	// afterwards (SetAddress, SetToken, vault/api's rewiring of the
	// transport for a unix:// address) reaches the other. Like every
	// vault/api clone it drops request and response callbacks, MFA
	// credentials and the policy override flag.
	// When nil, the session makes a client from api.DefaultConfig, which
	// reads VAULT_ADDR, VAULT_CACERT, VAULT_CLIENT_TIMEOUT, VAULT_TOKEN,
	// VAULT_NAMESPACE and the rest of vault/api's environment.
	Client *api.Client

	// Address is Vault's address, overriding VAULT_ADDR (or Client's
	// address).
	Address string

	// Token is the Vault token, overriding VAULT_TOKEN (or Client's
	// token).
	Token string

	// Org is the session's organization. Default: EDGE_ORG, else
	// EDGE_API_ORG. Without one, org operations fail with ErrNoOrg.
	Org string

	// Mount is the path of the KV version 2 secrets engine. Default:
	// EDGE_KV_MOUNT, else DefaultMount.
	Mount string

	// Prefix is the path below Mount that holds Edge's secrets. Default:
	// DefaultPrefix.
	Prefix string

	// WrapTTL is the lifetime of wrapping tokens from WrapUserSecret and
	// WrapOrgSecret. Default: DefaultWrapTTL.
	WrapTTL time.Duration
}

// Session is a connection to Vault as one caller, the Go counterpart of
// the Python SDK's EdgeSession. Make one with NewSession.
//
// A Session is safe for concurrent use by multiple goroutines; it holds no
// state that changes after NewSession returns.
type Session struct {
	// Secrets does the twelve EdgeSecrets operations.
	Secrets *SecretsService

	entityID string
	org      string
}

// NewSession makes a session from cfg, filling empty fields from the
// environment, and checks the token once with Vault
// (auth/token/lookup-self), learning the caller's identity entity.
//
// NewSession returns an error wrapping ErrPermissionDenied if Vault
// refuses the token (bad, expired or revoked), and one wrapping
// ErrBadEntry if Org, Mount or Prefix is not a valid name, WrapTTL is
// negative, the Vault entity id is not a valid name, or Vault shows that
// Mount is not a KV version 2 secrets engine. A token with no entity (a root token) gives a
// session whose user operations fail with ErrNoEntity.
func NewSession(ctx context.Context, cfg Config) (*Session, error) {
	client, err := newClient(cfg)
	if err != nil {
		return nil, sessionError(nil, err)
	}
	cfg = withDefaults(cfg)
	if err := checkPath(cfg.Mount); err != nil {
		return nil, sessionError(ErrBadEntry, fmt.Errorf("mount: %w", err))
	}
	if err := checkPath(cfg.Prefix); err != nil {
		return nil, sessionError(ErrBadEntry, fmt.Errorf("prefix: %w", err))
	}
	if cfg.Org != "" {
		if err := checkName(cfg.Org); err != nil {
			return nil, sessionError(ErrBadEntry, fmt.Errorf("org: %w", err))
		}
	}
	if cfg.WrapTTL <= 0 {
		return nil, sessionError(ErrBadEntry, fmt.Errorf("wrap TTL %v is not positive", cfg.WrapTTL))
	}
	if client.Token() == "" {
		return nil, sessionError(ErrPermissionDenied, errors.New("no Vault token: set Config.Token or VAULT_TOKEN"))
	}

	self, err := client.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return nil, sessionError(kindOf(err), fmt.Errorf("checking the token: %w", err))
	}
	if self == nil || self.Data == nil {
		return nil, sessionError(nil, errors.New("checking the token: vault returned no token data"))
	}
	entityID, _ := self.Data["entity_id"].(string)
	if entityID != "" {
		if err := checkName(entityID); err != nil {
			return nil, sessionError(ErrBadEntry, fmt.Errorf("entity id from vault: %w", err))
		}
	}
	if err := checkMount(ctx, client, cfg.Mount); err != nil {
		return nil, err
	}

	s := &Session{entityID: entityID, org: cfg.Org}
	s.Secrets = &SecretsService{
		client:  client,
		address: client.Address(),
		wrapTTL: cfg.WrapTTL,
		user:    newScope("user", cfg.Mount, cfg.Prefix+"/users/"+entityID),
		org:     newScope("org", cfg.Mount, cfg.Prefix+"/orgs/"+cfg.Org),
	}
	if entityID == "" {
		s.Secrets.user.err = ErrNoEntity
	}
	if cfg.Org == "" {
		s.Secrets.org.err = ErrNoOrg
	}
	return s, nil
}

// Close releases the connections the session keeps open to Vault. Call
// it when done with the session. A call made after Close still works: it
// opens the connections it needs. Close always returns nil.
func (s *Session) Close() error {
	vaultclient.CloseIdle(s.Secrets.client)
	return nil
}

// EntityID returns the Vault identity entity id of the session's token,
// or "" for a token with none.
func (s *Session) EntityID() string { return s.entityID }

// Org returns the session's org, or "" if it has none.
func (s *Session) Org() string { return s.org }

func sessionError(kind, err error) error {
	return &Error{Op: "new session", Kind: kind, Err: err}
}

// withDefaults fills the empty fields of cfg other than Client, Address
// and Token, which newClient handles.
func withDefaults(cfg Config) Config {
	if cfg.Org == "" {
		cfg.Org = os.Getenv("EDGE_ORG")
	}
	if cfg.Org == "" {
		cfg.Org = os.Getenv("EDGE_API_ORG")
	}
	if cfg.Mount == "" {
		cfg.Mount = os.Getenv("EDGE_KV_MOUNT")
	}
	if cfg.Mount == "" {
		cfg.Mount = DefaultMount
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.WrapTTL == 0 {
		cfg.WrapTTL = DefaultWrapTTL
	}
	return cfg
}

// newClient returns the session's own client (see vaultclient.Own), at
// cfg.Address and with cfg.Token when they are set.
func newClient(cfg Config) (*api.Client, error) {
	client, err := vaultclient.Own(cfg.Client)
	if err != nil {
		return nil, err
	}
	if cfg.Address != "" {
		if err := client.SetAddress(cfg.Address); err != nil {
			return nil, fmt.Errorf("vault address: %w", err)
		}
	}
	if cfg.Token != "" {
		client.SetToken(cfg.Token)
	}
	return client, nil
}

// checkMount makes sure a KV version 2 secrets engine is mounted exactly
// at mount (see kvmount.Check).
func checkMount(ctx context.Context, client *api.Client, mount string) error {
	err := kvmount.Check(ctx, client, mount)
	switch {
	case err == nil:
		return nil
	case vaulterr.Status(err) != 0 || vaulterr.Unavailable(err) || ctx.Err() != nil:
		return sessionError(kindOf(err), fmt.Errorf("checking mount %q: %w", mount, err))
	}
	return sessionError(ErrBadEntry, err)
}
