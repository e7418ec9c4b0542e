package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge/internal/kvmount"
	"github.com/edgesdk/edge/internal/vaultclient"
	"github.com/edgesdk/edge/internal/vaulterr"
)

// Client is the process-wide part of the SDK, for a service that acts for
// many callers: one vault/api client, one transport and connection pool
// (over TLS, HTTP/2), the mount's check, the token renewal of the
// Client's own identity (Config.Auth), and a bounded cache of which
// identity entity each token belongs to. Make one with NewClient when the
// service starts, and a cheap Session per caller with Client.Session.
//
// A Client is safe for concurrent use by many goroutines.
type Client struct {
	api       *api.Client // shared by every session; its token is the Client's own, maybe ""
	address   string
	unwrapURL string // <address>/v1/sys/wrapping/unwrap, for WrappedSecret
	set       settings
	auth      *authState // the Client's own renewing identity (Config.Auth); nil without
	logger    *slog.Logger
	tel       *telemetry // Config.TracerProvider and MeterProvider; nil without either
	ids       *identityCache
	gate      *vaultclient.Gate // bounds the requests in flight (Config.MaxConcurrentRequests)
	// defaultOrg is the scope of Config.Org, made once for every session.
	defaultOrg scope

	mountOK   atomic.Bool // the mount was checked and is right: every operation's fast path
	mountMu   sync.Mutex
	mountDone bool  // the mount was checked with a definite answer
	mountErr  error // that answer: nil, or an *Error wrapping ErrBadEntry

	closeOnce sync.Once
}

// NewClient makes a Client from cfg, filling empty fields from the
// environment (see Config for which fields describe the Client and which
// its sessions). With Config.Auth it logs in, and keeps the Client's own
// token alive until Close. If the Client has a token of its own
// (Config.Token, the client's, VAULT_TOKEN, or the login's), it checks
// that Mount is a KV version 2 secrets engine now; without one, the first
// operation of the first session checks it with that session's token.
// Either way the check is made once.
//
// NewClient returns an error wrapping ErrBadEntry if Org, Mount or Prefix
// is not valid, WrapTTL is negative, or Vault shows that Mount is not a
// KV version 2 secrets engine; ErrPermissionDenied if Vault refuses the
// login; ErrConfig if the address, TLS or vault/api's environment cannot
// work; and ErrUnavailable if Vault cannot answer.
func NewClient(ctx context.Context, cfg Config) (*Client, error) {
	c, err := newClientOf(ctx, cfg, "new client")
	if err != nil {
		return nil, err
	}
	if c.api.Token() != "" {
		if err := c.checkMount(ctx, "new client", "", nil); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	return c, nil
}

// newClientOf makes the Client and logs in, without checking the mount.
// op names the operation in its errors.
func newClientOf(ctx context.Context, cfg Config, op string) (*Client, error) {
	fail := func(kind, err error) error { return &Error{Op: op, Kind: kind, Err: err} }
	set, err := resolve(cfg)
	if err != nil {
		return nil, fail(ErrBadEntry, err)
	}
	tel, err := newTelemetry(cfg.TracerProvider, cfg.MeterProvider)
	if err != nil {
		return nil, fail(ErrBadEntry, fmt.Errorf("meter provider: %w", err))
	}
	client, err := newClient(cfg)
	if err != nil {
		return nil, fail(kindOf(err), err)
	}
	c := &Client{api: client, address: client.Address(), set: set, logger: cfg.Logger, tel: tel,
		gate: vaultclient.NewGate(set.maxRequests)}
	c.unwrapURL = strings.TrimSuffix(c.address, "/") + "/v1/sys/wrapping/unwrap"
	c.ids = newIdentityCache(set.identities, c.userScope)
	c.defaultOrg = c.orgScope(set.org)
	if cfg.Auth != nil {
		a, err := login(ctx, client, cfg.Auth, cfg.Logger, tel)
		if err != nil {
			vaultclient.CloseIdle(client)
			var e *Error
			if errors.As(err, &e) {
				e.Op = op
			}
			return nil, err
		}
		c.auth = a
	}
	return c, nil
}

// Session returns a session acting as the holder of token, with the
// Secrets API, errors and semantics of a session from NewSession, and the
// Client's settings (org, mount, prefix, wrap TTL, read cache).
//
// One difference: Session checks nothing at the wire. A bad, expired or
// revoked token surfaces on the first operation, as ErrPermissionDenied.
// It costs no request when the token's identity entity is known to the
// Client, and one auth/token/lookup-self the first time a token is seen,
// and only when a user operation (or LookupEntityID) needs the entity:
// org operations never look up. ctx serves that lookup when it is made
// here, which it is not today; the signature keeps room for it. The
// session holds no goroutine and no connection of its own.
//
// Session returns an error wrapping ErrBadEntry, which does not quote the
// token, if token is empty or holds a character that no Vault token has
// (anything but printable ASCII).
func (c *Client) Session(ctx context.Context, token string) (*Session, error) {
	if err := checkToken(token); err != nil {
		return nil, &Error{Op: "session", Kind: ErrBadEntry, Err: err}
	}
	return c.newSession(token), nil
}

// checkToken refuses a token that cannot be one, without quoting it.
func checkToken(token string) error {
	switch {
	case token == "":
		return errEmptyToken
	case strings.TrimSpace(token) != token, !printable(token):
		return errTokenBytes
	}
	return nil
}

// newSession returns a session of the Client for token ("": the Client's
// own, which follows its logins).
func (c *Client) newSession(token string) *Session {
	svc := &SecretsService{
		c:     c,
		token: token,
		id:    &sessionIdentity{},
		org:   c.defaultOrg,
	}
	if c.set.cacheTTL > 0 {
		svc.cache = newReadCache(c.set.cacheTTL, c.set.cacheStaleIfError, c.set.cacheSize)
	}
	return &Session{Secrets: svc, org: c.set.org}
}

// orgScope returns the scope of org's secrets.
func (c *Client) orgScope(org string) scope {
	sc := newScope("org", c.set.mount, c.set.prefix+"/orgs/"+org)
	sc.org = org
	if org == "" {
		sc.err = ErrNoOrg
	}
	return sc
}

// userScope returns the scope of the secrets of entity ("": none).
func (c *Client) userScope(entityID string) scope {
	sc := newScope("user", c.set.mount, c.set.prefix+"/users/"+entityID)
	if entityID == "" {
		sc.err = ErrNoEntity
	}
	return sc
}

// Close stops the Client's background work (the renewal of its own
// token, with Config.Auth) and closes its idle connections. It is no kill
// switch: sessions still work afterwards, opening the connections they
// need, until their tokens expire. Close is safe to call more than once
// and always returns nil.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.auth.stop()
		vaultclient.CloseIdle(c.api)
	})
	return nil
}

// checkMount makes sure, once per Client, that a KV version 2 secrets
// engine is mounted exactly at the mount (see kvmount.Check), asking
// Vault with token ("": the Client's own). A definite answer (the engine
// is right, or is not) is kept; a failure to get one (Vault unavailable,
// the context ended) is not, and the next operation asks again. Vault
// answers 403 both for a missing mount and for a token with no access
// below it: the check then passes, leaving it to the requests that
// follow to report. Its error, for operation op, names the mount.
func (c *Client) checkMount(ctx context.Context, op, token string, sc *scope) error {
	c.mountMu.Lock()
	defer c.mountMu.Unlock()
	if c.mountDone {
		return c.rescope(c.mountErr, op, sc)
	}
	client := c.api
	if token != "" {
		client = c.auth.withRequestCallbacks(c.api, func(r *api.Request) { r.ClientToken = token })
	}
	err := kvmount.Check(ctx, client, c.set.mount)
	switch {
	case err == nil:
		c.mountDone = true
		c.mountOK.Store(true)
		return nil
	case vaulterr.Status(err) != 0 || vaulterr.Unavailable(err) || vaulterr.IsTLSOrConfig(err) || ctx.Err() != nil:
		return c.rescope(&Error{Op: op, Kind: kindOf(err), Err: fmt.Errorf("checking mount %q: %w", c.set.mount, err)}, op, sc)
	}
	c.mountDone, c.mountErr = true, &Error{Op: op, Kind: ErrBadEntry, Err: err}
	return c.rescope(c.mountErr, op, sc)
}

// rescope returns err (an *Error or nil) as operation op's, in sc.
func (c *Client) rescope(err error, op string, sc *scope) error {
	var e *Error
	if err == nil || !errors.As(err, &e) {
		return err
	}
	out := *e
	out.Op = op
	if sc != nil {
		out.Scope = sc.name
	}
	return &out
}

// confirmRefusal is called when an operation with token was refused
// (403). If the Client remembers the token's identity, it asks Vault
// whether it still knows the token (lookup-self), and forgets the token
// if not. An ordinary refusal, by a policy, keeps it.
func (c *Client) confirmRefusal(ctx context.Context, token string) {
	k := keyOf(token)
	if !c.ids.has(k) {
		return
	}
	if _, _, err := lookupSelf(ctx, c.api, c.gate, token); errors.Is(err, ErrPermissionDenied) {
		c.ids.forget(k)
	}
}
