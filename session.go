package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge/internal/kvmount"
	"github.com/edgesdk/edge/internal/vaultclient"
	"github.com/edgesdk/edge/internal/vaulterr"
)

// Session is a connection to Vault as one caller, the Go counterpart of
// the Python SDK's EdgeSession. Make one with NewSession, and Close it
// when done.
//
// A Session is safe for concurrent use by multiple goroutines.
type Session struct {
	// Secrets does the twelve EdgeSecrets operations.
	Secrets *SecretsService

	entityID string
	org      string
	parent   bool // Close stops the token's renewal (false for WithOrg's sessions)

	closeOnce sync.Once
}

// NewSession makes a session from cfg, filling empty fields from the
// environment. It logs in with cfg.Auth if set, checks the token with
// Vault (auth/token/lookup-self), learning the caller's identity entity,
// and checks that Mount is a KV version 2 secrets engine.
//
// NewSession returns an error wrapping ErrPermissionDenied if Vault
// refuses the login or the token (bad, expired or revoked), ErrUnavailable
// if Vault cannot answer, and ErrBadEntry if Org, Mount or Prefix is not
// valid, WrapTTL is negative, the Vault entity id is not a valid name, or
// Vault shows that Mount is not a KV version 2 secrets engine. A token
// with no entity (a root token) gives a session whose user operations
// fail with ErrNoEntity.
func NewSession(ctx context.Context, cfg Config) (*Session, error) {
	set, err := resolve(cfg)
	if err != nil {
		return nil, sessionError(ErrBadEntry, err)
	}
	client, err := newClient(cfg)
	if err != nil {
		return nil, sessionError(nil, err)
	}
	a, entityID, err := connect(ctx, client, cfg.Auth, cfg.Logger)
	if err != nil {
		vaultclient.CloseIdle(client)
		return nil, err
	}
	if err := checkMount(ctx, client, set.mount); err != nil {
		a.stop()
		vaultclient.CloseIdle(client)
		return nil, err
	}
	return newSession(client, set, entityID, a, cfg.Logger), nil
}

// connect makes client log in with method (if any) and learns the
// token's identity entity, starting the token's renewal when method is
// set.
func connect(ctx context.Context, client *api.Client, method api.AuthMethod, logger *slog.Logger) (*authState, string, error) {
	var a *authState
	if method != nil {
		var err error
		if a, err = login(ctx, client, method, logger); err != nil {
			return nil, "", err
		}
	}
	if client.Token() == "" {
		return nil, "", sessionError(ErrPermissionDenied, errors.New("no Vault token: set Config.Auth, Config.Token or VAULT_TOKEN"))
	}
	self, err := client.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		a.stop()
		return nil, "", sessionError(kindOf(err), fmt.Errorf("checking the token: %w", err))
	}
	if self == nil || self.Data == nil {
		a.stop()
		return nil, "", sessionError(nil, errors.New("checking the token: vault returned no token data"))
	}
	entityID, _ := self.Data["entity_id"].(string)
	if entityID != "" {
		if err := checkName(entityID); err != nil {
			a.stop()
			return nil, "", sessionError(ErrBadEntry, fmt.Errorf("entity id from vault: %w", err))
		}
	}
	a.setEntity(entityID)
	return a, entityID, nil
}

// newSession builds the session and its service, with no request.
func newSession(client *api.Client, set settings, entityID string, a *authState, logger *slog.Logger) *Session {
	s := &Session{entityID: entityID, org: set.org, parent: true}
	s.Secrets = &SecretsService{
		client:  client,
		address: client.Address(),
		wrapTTL: set.wrapTTL,
		mount:   set.mount,
		prefix:  set.prefix,
		auth:    a,
		logger:  logger,
		user:    newScope("user", set.mount, set.prefix+"/users/"+entityID),
		org:     newScope("org", set.mount, set.prefix+"/orgs/"+set.org),
	}
	if set.cacheTTL > 0 {
		s.Secrets.cache = newReadCache(set.cacheTTL, set.cacheSize)
	}
	if entityID == "" {
		s.Secrets.user.err = ErrNoEntity
	}
	if set.org == "" {
		s.Secrets.org.err = ErrNoOrg
	}
	return s
}

// WithOrg returns a session on org that shares s's client, identity,
// token and its renewal: no request is made. It returns an error wrapping
// ErrBadEntry if org is not a valid name. Closing s ends the token's
// renewal for both sessions; closing the returned session only releases
// idle connections.
func (s *Session) WithOrg(org string) (*Session, error) {
	if err := checkName(org); err != nil {
		return nil, &Error{Op: "with org", Kind: ErrBadEntry, Err: fmt.Errorf("org: %w", err)}
	}
	svc := *s.Secrets
	svc.org = newScope("org", svc.mount, svc.prefix+"/orgs/"+org)
	return &Session{Secrets: &svc, entityID: s.entityID, org: org}, nil
}

// Close stops the session's token renewal (with Config.Auth) and releases
// the connections it keeps open to Vault. Call it when done with the
// session. Operations after Close still work until the token expires, and
// open the connections they need. Close is safe to call more than once
// and always returns nil.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		if s.parent {
			s.Secrets.auth.stop()
			s.Secrets.InvalidateAll()
		}
		vaultclient.CloseIdle(s.Secrets.client)
	})
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
