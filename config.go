package edge

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/hashicorp/vault/api"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/edgesdk/edge/internal/vaultclient"
)

// Defaults for the Config fields left empty (and not set in the
// environment).
const (
	DefaultMount   = "secret"
	DefaultPrefix  = "edge"
	DefaultWrapTTL = 5 * time.Minute

	// DefaultMaxConcurrentRequests is Config.MaxConcurrentRequests's
	// default.
	DefaultMaxConcurrentRequests = 250
)

// Config says how a Client, or a Session from NewSession, reaches Vault
// and where it keeps secrets. The zero Config takes everything from the
// environment.
//
// A Client is the process-wide part; each of its sessions acts for one
// caller's token. Which fields describe which:
//
//	field                  describes
//	Client, Address        the Client: its one vault/api client, transport and pool
//	Token                  the Client's own token (NewSession's session uses it);
//	                       Client.Session takes each caller's token instead
//	Auth                   the Client's own renewing identity (NewSession's session)
//	Org                    the sessions' default org (Session.WithOrg changes it per session)
//	Mount, Prefix          the Client: where every session's secrets live
//	WrapTTL                the sessions' default wrap TTL (WithWrapTTL per call)
//	RetryBudget            the Client: its requests' retries
//	MaxConcurrentRequests  the Client: its requests in flight
//	IdentityCacheSize      the Client: the tokens whose identity it remembers
//	CacheTTL, CacheSize    each session: a read cache of its own, per token
//	CacheStaleIfError      each session's read cache: stale values during an outage
//	Logger                 the Client, and every session's records
//	TracerProvider,        the Client: spans and metrics of every session's
//	MeterProvider          operations
//
// NewSession makes a Client of its own from the Config and one session
// of it, so for a single caller the distinction does not matter.
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

	// Auth logs the session in: any vault/api auth method (the modules
	// github.com/hashicorp/vault/api/auth/approle, .../kubernetes,
	// .../userpass, .../aws, ... implement api.AuthMethod). NewSession
	// logs in with it, in place of Token, and the session then keeps its
	// token alive in the background until Close: it renews the token
	// while Vault allows, and logs in again before the token reaches its
	// max TTL or when renewal fails. An operation refused (403) because
	// the token was revoked under it logs in again and is retried once.
	// When nil, the session uses Token (or the client's, or VAULT_TOKEN)
	// as it is, and never renews it.
	Auth api.AuthMethod

	// RetryBudget is how long one operation keeps retrying what Vault
	// could not answer: a connection error, a 5xx (a standby whose active
	// node is gone, during an election), a 429. Retries wait 0.1 s, then
	// twice as long each time, up to 1 s, inside vault/api's own retry
	// loop; writes whose answer was lost are checked as always (see the
	// README). 0 keeps vault/api's retry settings (VAULT_MAX_RETRIES,
	// 2 retries by default, or Client's). Against an HA cluster, set it
	// longer than an election takes (for example 30 s), and bound each
	// call with its context.
	RetryBudget time.Duration

	// CacheTTL turns on the session's read cache (0, the default: no
	// cache). A successful ReadUserSecret or ReadOrgSecret is then
	// answered from memory for CacheTTL, without asking Vault (each
	// value for a uniformly random time between 0.9×CacheTTL and
	// CacheTTL, so that a fleet's caches do not refresh at once); the
	// session's own Create, Update and Delete of a name drop its cached
	// value before they return, so the session always reads its own
	// writes. Another client's write, and a permission Vault revokes,
	// reach a cached name at most CacheTTL later (see
	// SecretsService.InvalidateAll). Errors are never cached; wraps,
	// lists and reads of a given version always ask Vault.
	CacheTTL time.Duration

	// CacheStaleIfError lets the read cache serve an expired value when
	// Vault cannot answer its refresh (0, the default: never). A read of
	// a cached name whose value has expired asks Vault; if that fails
	// with ErrUnavailable (no connection, the client's own request
	// timeout, a sealed Vault, a 5xx, a 429), the read returns the
	// expired value instead, as long as it is younger than CacheTTL +
	// CacheStaleIfError (counted from the read that fetched it from
	// Vault), and the error otherwise. Any answer of Vault's is
	// returned as it is, and drops the cached value: a 404 (the secret
	// was deleted) is ErrNotFound, a 403 (the token was revoked, access
	// taken away) ErrPermissionDenied, never a stale value; a refusal
	// drops every cached value of the session, not only that name's. An error of
	// the caller's context stays that error, and a stale value is never
	// served once the context has ended, nor for ErrUnknownOutcome.
	// The stale value comes once the refresh has failed, after
	// vault/api's retries (or RetryBudget).
	//
	// A sealed or unreachable Vault cannot report a revocation: a token
	// revoked or a member removed during an outage keeps reading the
	// names it has cached for up to CacheTTL + CacheStaleIfError. That
	// is the bound of a stale read. Config.Logger gets a Warn record at
	// the first stale serve of a value, and an Info record when Vault
	// answers a refresh of it again. It needs CacheTTL; negative is
	// ErrBadEntry.
	CacheStaleIfError time.Duration

	// CacheSize bounds the number of secrets the read cache holds; the
	// least recently read goes first. 0 means DefaultCacheSize. Each
	// holds a value of up to MaxValueSize bytes of JSON.
	CacheSize int

	// IdentityCacheSize bounds the number of tokens whose identity
	// entity a Client remembers, so that a returning caller's session
	// costs no request (see Client.Session); the least recently used
	// goes first. 0 means DefaultIdentityCacheSize. Each entry is the
	// SHA-256 of a token, an entity id, its user scope's paths and an expiry: about 400 bytes.
	IdentityCacheSize int

	// MaxConcurrentRequests bounds the requests a Client (and a session
	// from NewSession) has in flight to Vault at once; more wait for one
	// to end, honouring their context. 0 means
	// DefaultMaxConcurrentRequests, 250: the streams Vault's server
	// allows on one HTTP/2 connection, so that over TLS a burst of
	// requests shares the connection the Client has, where net/http
	// would open one more TCP connection for every request finding all
	// streams busy (1,000 concurrent reads without the bound opened 325).
	MaxConcurrentRequests int

	// Logger receives the session's records (nil: none): one Debug
	// record per operation (op, scope, name, outcome, attempts,
	// duration), Info or Warn records for renewals, logins and their
	// failures, and for stale reads (see CacheStaleIfError). No record
	// holds a secret value or a token.
	Logger *slog.Logger

	// TracerProvider, when set, traces the operations of the Client's
	// sessions (nil, the default: no tracing, at no cost). Each operation
	// is one span, a child of the span in its ctx, named for the method:
	// edge.ReadUserSecret, edge.WrapOrgSecret, edge.LookupEntityID,
	// edge.Unwrap (Client.Unwrap), ... Its attributes are edge.operation
	// ("read", ...), edge.scope ("user" or "org"), edge.org (org
	// operations), edge.secret.name (a valid name only: an invalid one
	// may be a token pasted in the wrong place), edge.cache.hit (reads of
	// a session with a cache), edge.attempts and edge.retries (the HTTP
	// requests it sent to Vault, and those that were retries), and for a
	// failure error.type, the error's kind: "not_found",
	// "permission_denied", "unavailable", ... (the sentinel's name; see
	// ErrNotFound), also the span's status description. No span holds a
	// secret value, a token, a wrapping token or an error's text. The
	// first user operation of a token not yet known to the Client asks
	// Vault for its identity before its span starts.
	TracerProvider trace.TracerProvider

	// MeterProvider, when set, measures the operations of the Client's
	// sessions (nil, the default: no metrics, at no cost), with the
	// instruments edge.requests and edge.retries (HTTP requests the
	// operations sent to Vault, and those that were retries),
	// edge.relogins (logins after the first, with Auth),
	// edge.cache.hits, edge.cache.misses and edge.cache.stale_serves
	// (reads of sessions with a cache), and the histogram
	// edge.operation.duration (seconds). Their attributes are
	// edge.operation, edge.scope and edge.outcome ("ok" or the error's
	// kind, as error.type above) at most: never a secret name, whose
	// values are unbounded. NewClient returns an error wrapping
	// ErrBadEntry if the provider refuses an instrument.
	MeterProvider metric.MeterProvider
}

// settings is a Config resolved against the environment and checked:
// everything a session needs to know before its first request.
type settings struct {
	org, mount, prefix string
	wrapTTL            time.Duration
	cacheTTL           time.Duration
	cacheStaleIfError  time.Duration
	cacheSize          int
	identities         int
	maxRequests        int
}

// resolve fills the empty fields of cfg from the environment and
// defaults, and checks them, without any request. Its errors wrap
// ErrBadEntry.
func resolve(cfg Config) (settings, error) {
	cfg = withDefaults(cfg)
	if err := checkPath(cfg.Mount); err != nil {
		return settings{}, fmt.Errorf("mount: %w", err)
	}
	if err := checkPath(cfg.Prefix); err != nil {
		return settings{}, fmt.Errorf("prefix: %w", err)
	}
	if cfg.Org != "" {
		if err := checkName(cfg.Org); err != nil {
			return settings{}, fmt.Errorf("org: %w", err)
		}
	}
	if cfg.WrapTTL <= 0 {
		return settings{}, fmt.Errorf("wrap TTL %v is not positive", cfg.WrapTTL)
	}
	if cfg.RetryBudget < 0 {
		return settings{}, fmt.Errorf("retry budget %v is negative", cfg.RetryBudget)
	}
	if cfg.CacheTTL < 0 {
		return settings{}, fmt.Errorf("cache TTL %v is negative", cfg.CacheTTL)
	}
	if cfg.CacheStaleIfError < 0 {
		return settings{}, fmt.Errorf("cache stale-if-error %v is negative", cfg.CacheStaleIfError)
	}
	if cfg.CacheStaleIfError > 0 && cfg.CacheTTL == 0 {
		return settings{}, fmt.Errorf("cache stale-if-error %v without a cache TTL", cfg.CacheStaleIfError)
	}
	if cfg.CacheStaleIfError > math.MaxInt64-cfg.CacheTTL {
		// CacheTTL + CacheStaleIfError would overflow and turn stale
		// serving off rather than on.
		return settings{}, fmt.Errorf("cache TTL %v plus stale-if-error %v is longer than a time.Duration can hold", cfg.CacheTTL, cfg.CacheStaleIfError)
	}
	if cfg.CacheSize < 0 {
		return settings{}, fmt.Errorf("cache size %d is negative", cfg.CacheSize)
	}
	if cfg.IdentityCacheSize < 0 {
		return settings{}, fmt.Errorf("identity cache size %d is negative", cfg.IdentityCacheSize)
	}
	if cfg.MaxConcurrentRequests < 0 {
		return settings{}, fmt.Errorf("max concurrent requests %d is negative", cfg.MaxConcurrentRequests)
	}
	if cfg.MaxConcurrentRequests == 0 {
		cfg.MaxConcurrentRequests = DefaultMaxConcurrentRequests
	}
	return settings{org: cfg.Org, mount: cfg.Mount, prefix: cfg.Prefix, wrapTTL: cfg.WrapTTL,
		cacheTTL: cfg.CacheTTL, cacheStaleIfError: cfg.CacheStaleIfError, cacheSize: cfg.CacheSize, identities: cfg.IdentityCacheSize, maxRequests: cfg.MaxConcurrentRequests}, nil
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
	client, err := vaultclient.Own(cfg.Client, vaultclient.RetryBudget(cfg.RetryBudget))
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
