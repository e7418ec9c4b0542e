package edge

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
	"golang.org/x/sync/singleflight"

	"github.com/edgesdk/edge/internal/vaultclient"
	"github.com/edgesdk/edge/internal/vaulterr"
)

// DefaultIdentityCacheSize is the number of tokens whose identity a
// Client remembers when Config.IdentityCacheSize is 0.
const DefaultIdentityCacheSize = 10000

// identityCache remembers, for the tokens a Client's sessions used, the
// Vault identity entity each token belongs to, so that a returning
// caller's session costs no request. It is safe for concurrent use.
//
// Caching this is safe because a token's entity never changes during the
// token's life: Vault fixes it when it issues the token (from the auth
// method's alias), and neither renewal nor any later change to the
// entity's groups or policies moves the token to another entity. What
// does change, the token's validity, bounds each entry: it is kept no
// longer than the remaining TTL Vault reported for the token when it was
// looked up, and dropped as soon as Vault says it no longer knows the
// token (a 403 on the token's own lookup). An ordinary refusal of an
// operation, a policy saying no, keeps it: the token is still the same
// entity's.
//
// Entries are keyed by the SHA-256 of the token, so that the cache, in a
// memory dump or a debugger, lists no token in clear. The least recently
// used entry goes first when the cache is full.
type identityCache struct {
	size    int
	scopeOf func(entityID string) scope // the user scope of an entity
	group   singleflight.Group

	mu      sync.Mutex
	entries map[tokenKey]*list.Element // of *identityEntry
	lru     list.List                  // most recently used first
}

// tokenKey is the SHA-256 of a token.
type tokenKey [sha256.Size]byte

// keyOf returns the key of token. A token of up to 256 bytes (Vault's are
// about 100) is hashed from a copy on the stack, with no allocation.
func keyOf(token string) tokenKey {
	var buf [256]byte
	return sha256.Sum256(append(buf[:0], token...))
}

type identityEntry struct {
	key      tokenKey
	entityID string    // "" for a token without an entity (a root token)
	user     scope     // the scope of the entity's user secrets, made once
	expires  time.Time // zero: the token does not expire
}

func newIdentityCache(size int, scopeOf func(entityID string) scope) *identityCache {
	if size == 0 {
		size = DefaultIdentityCacheSize
	}
	return &identityCache{size: size, scopeOf: scopeOf, entries: map[tokenKey]*list.Element{}}
}

// get returns the entity of the token with key k, if known and not past
// the token's TTL.
func (c *identityCache) get(k tokenKey) (string, bool) {
	e, ok := c.lookup(k)
	return e.entityID, ok
}

// lookup returns the entry of the token with key k, if known and not
// past the token's TTL.
func (c *identityCache) lookup(k tokenKey) (identityEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		return identityEntry{}, false
	}
	e := el.Value.(*identityEntry)
	if !e.expires.IsZero() && !time.Now().Before(e.expires) {
		c.lru.Remove(el)
		delete(c.entries, k)
		return identityEntry{}, false
	}
	c.lru.MoveToFront(el)
	return *e, true
}

func (c *identityCache) put(k tokenKey, entityID string, ttl time.Duration) {
	var expires time.Time
	if ttl > 0 {
		expires = time.Now().Add(ttl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	user := c.scopeOf(entityID)
	if el, ok := c.entries[k]; ok {
		e := el.Value.(*identityEntry)
		e.entityID, e.user, e.expires = entityID, user, expires
		c.lru.MoveToFront(el)
		return
	}
	c.entries[k] = c.lru.PushFront(&identityEntry{key: k, entityID: entityID, user: user, expires: expires})
	for c.lru.Len() > c.size {
		oldest := c.lru.Back()
		c.lru.Remove(oldest)
		delete(c.entries, oldest.Value.(*identityEntry).key)
	}
}

// forget drops the token with key k.
func (c *identityCache) forget(k tokenKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		c.lru.Remove(el)
		delete(c.entries, k)
	}
}

// has reports whether the token with key k is cached, fresh or not.
func (c *identityCache) has(k tokenKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.entries[k]
	return ok
}

// len returns the number of entries, fresh or not.
func (c *identityCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// errTokenUnknown is the cause of a lookup Vault refused: it does not
// know the token (bad, expired or revoked).
var errTokenUnknown = errors.New("vault does not know the token (bad, expired or revoked)")

// entity returns the identity of token (its entity id, "" for none, and
// its user scope), from the cache or from Vault
// (auth/token/lookup-self with the token): one request the first time a
// token is seen, shared by concurrent callers. A refusal (403) drops the
// token and is an error wrapping ErrPermissionDenied. client sends the
// lookup, through gate; its own token is not used.
func (c *identityCache) entity(ctx context.Context, client *api.Client, gate *vaultclient.Gate, token string) (identityEntry, error) {
	k := keyOf(token)
	if e, ok := c.lookup(k); ok {
		return e, nil
	}
	return c.miss(ctx, client, gate, token, k)
}

// miss is entity for a token the cache does not hold: apart, so that a
// hit does not pay for the flight's closure.
func (c *identityCache) miss(ctx context.Context, client *api.Client, gate *vaultclient.Gate, token string, k tokenKey) (identityEntry, error) {
	ch := c.group.DoChan(string(k[:]), func() (any, error) {
		// A flight looks again: a caller that missed may come after the
		// flight that stored the entry.
		if e, ok := c.lookup(k); ok {
			return e, nil
		}
		id, ttl, err := lookupSelf(ctx, client, gate, token)
		switch {
		case err == nil:
			c.put(k, id, ttl)
		case errors.Is(err, ErrPermissionDenied):
			c.forget(k)
		}
		return identityEntry{entityID: id, user: c.scopeOf(id)}, err
	})
	select {
	case r := <-ch:
		if r.Err != nil && isContextError(r.Err) && ctx.Err() == nil {
			// The lookup was another caller's, whose context ended.
			id, ttl, err := lookupSelf(ctx, client, gate, token)
			if err != nil {
				return identityEntry{}, err
			}
			c.put(k, id, ttl)
			return identityEntry{entityID: id, user: c.scopeOf(id)}, nil
		}
		if r.Err != nil {
			return identityEntry{}, r.Err
		}
		return r.Val.(identityEntry), nil
	case <-ctx.Done():
		return identityEntry{}, ctx.Err()
	}
}

// lookupSelf asks Vault about token: its entity id ("" for none) and the
// TTL left. Its errors are *Error-free causes with a kind for the
// caller: ErrPermissionDenied (wrapping errTokenUnknown and Vault's
// answer) when Vault refuses the token.
func lookupSelf(ctx context.Context, client *api.Client, gate *vaultclient.Gate, token string) (string, time.Duration, error) {
	req := vaultclient.Request{Method: http.MethodGet, Path: "auth/token/lookup-self", Token: token, Gate: gate}
	type result struct {
		id  string
		ttl time.Duration
	}
	r, err := vaultclient.Send(ctx, client, req, func(resp *api.Response, err error) (result, error) {
		if err != nil {
			return result{}, err
		}
		var body struct {
			Data *struct {
				EntityID string `json:"entity_id"`
				TTL      int64  `json:"ttl"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Data == nil {
			return result{}, errors.New("vault returned no token data")
		}
		return result{body.Data.EntityID, time.Duration(body.Data.TTL) * time.Second}, nil
	})
	if err != nil {
		if vaulterr.Status(err) == http.StatusForbidden {
			return "", 0, &identityError{ErrPermissionDenied, fmt.Errorf("%w: %w", errTokenUnknown, err)}
		}
		return "", 0, &identityError{kindOf(err), err}
	}
	if r.id != "" {
		if err := checkName(r.id); err != nil {
			return "", 0, &identityError{ErrBadEntry, fmt.Errorf("entity id from vault: %w", err)}
		}
	}
	return r.id, r.ttl, nil
}

// identityError is a failure to learn a token's identity: a kind for the
// operation's *Error, and the cause.
type identityError struct {
	kind error
	err  error
}

func (e *identityError) Error() string { return vaulterr.Describe(e.err) }
func (e *identityError) Unwrap() error { return e.err }

// Is lets errors.Is see the kind, so that callers in this package can
// test it; an *Error built from it hides it again (see Error.Unwrap).
func (e *identityError) Is(target error) bool { return e.kind != nil && e.kind == target }

// splitIdentityError returns the kind and cause of an error from entity.
func splitIdentityError(err error) (kind, cause error) {
	var ie *identityError
	if errors.As(err, &ie) {
		return ie.kind, ie.err
	}
	return nil, err // a context error
}
