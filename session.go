package edge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/edgesdk/edge/internal/vaultclient"
)

// Session is a connection to Vault as one caller, the Go counterpart of
// the Python SDK's EdgeSession. Make one with NewSession, for a program
// that acts as one caller, or with Client.Session, for a service that
// acts for many; Close it when done.
//
// A Session is safe for concurrent use by multiple goroutines.
type Session struct {
	// Secrets does the twelve EdgeSecrets operations.
	Secrets *SecretsService

	org     string
	owner   *Client // NewSession's own Client, closed by Close; nil otherwise
	derived bool    // made by WithOrg: Close leaves the shared cache alone

	closeOnce sync.Once
}

// NewSession makes a session from cfg, filling empty fields from the
// environment. It logs in with cfg.Auth if set, checks the token with
// Vault (auth/token/lookup-self), learning the caller's identity entity,
// and checks that Mount is a KV version 2 secrets engine. It is a Client
// of its own (see NewClient) and one session of it, which Close closes
// together: one code path with Client.Session.
//
// NewSession returns an error wrapping ErrPermissionDenied if Vault
// refuses the login or the token (bad, expired or revoked), or if there
// is no token at all; ErrUnavailable if Vault cannot answer; ErrConfig
// if the address, TLS or vault/api's environment cannot work; and
// ErrBadEntry if Org, Mount or Prefix is not valid, WrapTTL is negative,
// the Vault entity id is not a valid name, or Vault shows that Mount is
// not a KV version 2 secrets engine. A token with no entity (a root
// token) gives a session whose user operations fail with ErrNoEntity.
func NewSession(ctx context.Context, cfg Config) (*Session, error) {
	c, err := newClientOf(ctx, cfg, "new session")
	if err != nil {
		return nil, err
	}
	s, err := c.ownSession(ctx)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return s, nil
}

// ownSession returns the session of the Client's own token, which
// follows its logins, after checking the token and the mount with Vault:
// NewSession's session.
func (c *Client) ownSession(ctx context.Context) (*Session, error) {
	token := c.api.Token()
	if token == "" {
		return nil, sessionError(ErrPermissionDenied, errors.New("no Vault token: set Config.Auth, Config.Token or VAULT_TOKEN"))
	}
	entityID, ttl, err := lookupSelf(ctx, c.api, c.gate, token)
	if err != nil {
		kind, cause := splitIdentityError(err)
		return nil, sessionError(kind, fmt.Errorf("checking the token: %w", cause))
	}
	c.ids.put(keyOf(token), entityID, ttl)
	c.auth.setEntity(entityID)
	if err := c.checkMount(ctx, "new session", "", nil); err != nil {
		return nil, err
	}
	s := c.newSession("")
	s.owner = c
	s.Secrets.auth = c.auth
	s.Secrets.id.resolve(c.userScope(entityID), entityID)
	return s, nil
}

// WithOrg returns a session on org that shares s's client, identity,
// token, renewal and read cache: no request is made, no goroutine
// started. It returns an error wrapping ErrBadEntry if org is not a valid
// name. Closing s ends what s owns for both sessions (with NewSession,
// the token's renewal); closing the returned session does nothing.
func (s *Session) WithOrg(org string) (*Session, error) {
	if err := checkName(org); err != nil {
		return nil, &Error{Op: "with org", Kind: ErrBadEntry, Err: fmt.Errorf("org: %w", err)}
	}
	svc := *s.Secrets
	svc.org = svc.c.orgScope(org)
	return &Session{Secrets: &svc, org: org, derived: true}, nil
}

// Close releases what the session holds. A session from NewSession owns
// its Client: Close stops the token's renewal (with Config.Auth), drops
// the read cache and releases the connections it keeps open to Vault. A
// session from Client.Session drops its read cache and leaves the
// Client's connections alone; one from WithOrg has nothing of its own.
// Operations after Close still work until the token expires, and open
// the connections they need. Close is safe to call more than once and
// always returns nil.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		if s.derived {
			return
		}
		s.Secrets.InvalidateAll()
		if s.owner != nil {
			_ = s.owner.Close()
		}
	})
	return nil
}

// EntityID returns the Vault identity entity id of the session's token,
// or "" for a token with none, without any request. A session from
// NewSession knows it from the start; one from Client.Session once a user
// operation, or LookupEntityID, has learnt it, and returns "" until then.
func (s *Session) EntityID() string { return s.Secrets.id.entity() }

// LookupEntityID returns the Vault identity entity id of the session's
// token ("" for a token with none), asking Vault (one
// auth/token/lookup-self) only if neither the session nor its Client
// knows it yet. It returns an error wrapping ErrPermissionDenied if Vault
// does not know the token, and ErrUnavailable if Vault cannot answer.
func (s *Session) LookupEntityID(ctx context.Context) (string, error) {
	t := s.Secrets.c.tel
	if t == nil {
		return s.lookupEntityID(ctx)
	}
	start := time.Now()
	ctx, span := t.start(ctx, "lookup entity", "lookup entity", scope{name: "user"}, "")
	defer endOnPanic(span)
	tctx, attempts := vaultclient.Track(ctx)
	id, err := s.lookupEntityID(tctx)
	t.end(ctx, span, "lookup entity", "user", err, attempts, time.Since(start))
	return id, err
}

func (s *Session) lookupEntityID(ctx context.Context) (string, error) {
	sc := s.Secrets.userScope(ctx)
	if sc.cause != nil {
		return "", &Error{Op: "lookup entity", Kind: sc.err, Err: sc.cause}
	}
	return s.Secrets.id.entity(), nil
}

// Org returns the session's org, or "" if it has none.
func (s *Session) Org() string { return s.org }

func sessionError(kind, err error) error {
	return &Error{Op: "new session", Kind: kind, Err: err}
}

// sessionIdentity is what a session knows of its token's identity,
// shared with the sessions WithOrg derives from it.
type sessionIdentity struct {
	mu       sync.Mutex
	known    bool
	entityID string
	user     scope // the user scope, once known
}

// resolve records the token's entity and its user scope.
func (i *sessionIdentity) resolve(user scope, entityID string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.known, i.entityID, i.user = true, entityID, user
}

// get returns the user scope if known.
func (i *sessionIdentity) get() (scope, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.user, i.known
}

func (i *sessionIdentity) entity() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.entityID
}
