package edge

import (
	"container/list"
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultCacheSize is the number of secrets a session's read cache holds
// when Config.CacheTTL is set and Config.CacheSize is 0.
const DefaultCacheSize = 1000

// readCache keeps the values of successful reads for a time, for one
// session (and the sessions WithOrg derives from it, which share its
// token and identity). Its keys are the secrets' Vault paths, which hold
// the user's entity id or the org. It is safe for concurrent use.
//
// The values it holds are its own: a read hands out a deep copy, and a
// value is stored as the read that fetched it returned it, before anyone
// else sees it. It never holds an error.
//
// Invalidation is exact even against reads in flight: a read that began
// before an invalidation of its name never stores its answer, and a read
// that begins after it never joins a request that began before it.
//
// Each value expires at a uniformly random point between 0.9×ttl and
// ttl after it was stored (see expiryJitter), so that the caches of a
// fleet that started together do not all ask Vault at once. With
// staleIfError, an expired value is kept until ttl+staleIfError after it
// was stored, for stale to serve when Vault cannot answer its refresh;
// any other answer of Vault's to the refresh drops it.
type readCache struct {
	ttl          time.Duration
	staleIfError time.Duration
	size         int
	group        singleflight.Group
	now          func() time.Time // time.Now; a test's clock

	mu      sync.Mutex
	entries map[cacheKey]*list.Element // of *cacheEntry
	lru     list.List                  // most recently used first
	// Invalidations are counted; a fetch stores its answer only if no
	// invalidation of its key (dirty) or of every key (dirtyAll) came
	// after it began. inflight counts the fetches running per key;
	// dirty is kept only while some fetch runs.
	invalidations uint64
	inflight      map[cacheKey]int
	dirty         map[cacheKey]uint64
	dirtyAll      uint64
}

// cacheKey is a secret's Vault path, in two parts: a hit needs no
// concatenation.
type cacheKey struct {
	scope string // the scope's KV v2 data path
	name  string
}

// String returns the secret's path, singleflight's key.
func (k cacheKey) String() string { return k.scope + "/" + k.name }

type cacheEntry struct {
	key     cacheKey
	value   Secret
	stored  time.Time // when the read that fetched value ended
	expires time.Time // stored plus the jittered TTL
	// staleSince is when value was first served stale since it was
	// stored (zero: never): the start of an outage, as the cache saw it.
	staleSince time.Time
}

// expiryJitter spreads the expiries of cached values: each expires at a
// uniformly random point between CacheTTL - CacheTTL/expiryJitter and
// CacheTTL after it was read, that is in [0.9×CacheTTL, CacheTTL].
const expiryJitter = 10

func newReadCache(ttl, staleIfError time.Duration, size int) *readCache {
	if size == 0 {
		size = DefaultCacheSize
	}
	return &readCache{ttl: ttl, staleIfError: staleIfError, size: size, now: time.Now,
		entries: map[cacheKey]*list.Element{}, inflight: map[cacheKey]int{}, dirty: map[cacheKey]uint64{}}
}

// miss returns a copy of key's value, which get did not have fresh, from
// fetch: one request at a time for a key, callers that miss while it
// runs waiting for its answer. A hit is get, then cloneSecret. If this
// caller's own request was the first answer from Vault for key after
// the cache served its value stale (a value, or a refusal: see end),
// staleSince is when that began; else it is zero. A failure is not
// served stale here: see stale.
//
// A caller that joins another's request gets that request's answer,
// except a refusal (ErrPermissionDenied) or the end of the other
// caller's context: then it asks Vault itself. A refusal may be for a
// token revoked under the request, which its own caller then replaces
// (see authState.recover) before trying again; the joiners, whose
// operations may have begun with the new token, cannot tell, and would
// report a refusal that the caller that sent it did not keep.
func (c *readCache) miss(ctx context.Context, key cacheKey, fetch func(context.Context) (Secret, error)) (Secret, time.Time, error) {
	led := false             // this caller's function ran the request
	var staleSince time.Time // its fetch's, see end
	ch := c.group.DoChan(key.String(), func() (any, error) {
		led = true
		v, since, err := c.fetch(ctx, key, fetch)
		staleSince = since
		return v, err
	})
	var r singleflight.Result
	select {
	case r = <-ch:
	case <-ctx.Done():
		// staleSince is the request's, which may still run: not ours.
		return nil, time.Time{}, ctx.Err()
	}
	// led and staleSince were written before the answer was sent on ch.
	if !led {
		staleSince = time.Time{}
	}
	if r.Err != nil {
		// The other caller's context ended (its error has no kind; the
		// client's own timeout is ErrUnavailable, see timedOut), or
		// Vault refused the other caller's request.
		if isContextError(r.Err) && !errors.Is(r.Err, ErrUnavailable) && ctx.Err() == nil || !led && errors.Is(r.Err, ErrPermissionDenied) {
			// The request was another caller's: ask Vault with ours.
			v, staleSince, err := c.fetch(ctx, key, fetch)
			if err != nil {
				return nil, staleSince, err
			}
			return cloneSecret(v), staleSince, nil
		}
		return nil, staleSince, r.Err
	}
	return cloneSecret(r.Val.(Secret)), staleSince, nil
}

// fetch returns key's value from the cache if it is there, else from
// fetch, storing it (see end). A caller that missed in get may come after
// a request of key has ended and stored its answer: it takes that answer
// rather than ask Vault again. A value in the cache was stored after
// every invalidation of its key (an invalidation drops it, and keeps a
// request that began before it from storing), so taking it is as exact
// as joining the request that stored it.
func (c *readCache) fetch(ctx context.Context, key cacheKey, fetch func(context.Context) (Secret, error)) (Secret, time.Time, error) {
	if v, ok := c.get(key); ok {
		return v, time.Time{}, nil
	}
	start := c.begin(key)
	v, err := fetch(ctx)
	staleSince := c.end(key, start, v, err)
	return v, staleSince, err
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// noAnswer reports whether err, a failed read's, says nothing of the
// secret: Vault could not answer (ErrUnavailable), or a context ended
// before it did. Any other failure is Vault's answer (not found,
// refused, ...) or the SDK's own, and ends what the cache knew of it.
func noAnswer(err error) bool {
	return errors.Is(err, ErrUnavailable) || isContextError(err)
}

// get returns key's value if it is fresh, and marks it used. An expired
// value is dropped, unless it may still be served stale.
func (c *readCache) get(key cacheKey) (Secret, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if now := c.now(); now.After(e.expires) {
		if !now.Before(c.staleUntil(e)) {
			c.lru.Remove(el)
			delete(c.entries, key)
		}
		return nil, false
	}
	c.lru.MoveToFront(el)
	return e.value, true
}

// staleUntil returns when e may no longer be served stale: CacheTTL plus
// CacheStaleIfError after it was stored (the jitter shortens only its
// freshness), or its expiry without CacheStaleIfError.
func (c *readCache) staleUntil(e *cacheEntry) time.Time {
	if c.staleIfError == 0 {
		return e.expires
	}
	return e.stored.Add(c.ttl + c.staleIfError)
}

// staleServe describes a value that stale returned: whether it was
// stale (expired), how old it is (since the read that fetched it), and
// whether it is the first stale serve of that value.
type staleServe struct {
	stale bool
	age   time.Duration
	first bool
}

// stale returns a copy of key's value for a read of it whose refresh
// failed with err, when Config.CacheStaleIfError allows serving it in
// place of the error, the one place the cache serves a stale value:
//
//   - err is ErrUnavailable: Vault could not answer (no connection, the
//     client's own request timeout, sealed, 5xx, 429). Never any answer
//     of Vault's (400, 401, 403, 404: end has dropped the value then),
//     never ErrUnknownOutcome (a read cannot produce it today: it comes
//     only from a write whose answer was lost; were a read to report
//     it, it would not be served stale), never an error of a context;
//   - the caller's context has not ended: once it has, its error stands;
//   - the value is younger than CacheTTL + CacheStaleIfError.
//
// A value still fresh (another read stored it while this one failed) is
// returned as a hit would be, with st.stale false.
func (c *readCache) stale(ctx context.Context, key cacheKey, err error) (v Secret, st staleServe, ok bool) {
	if c.staleIfError == 0 || ctx.Err() != nil || !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrUnknownOutcome) {
		return nil, staleServe{}, false
	}
	c.mu.Lock()
	el, found := c.entries[key]
	if !found {
		c.mu.Unlock()
		return nil, staleServe{}, false
	}
	e := el.Value.(*cacheEntry)
	now := c.now()
	switch {
	case !now.After(e.expires):
		v = e.value // fresh: stored by a read that ended after this one began
	case now.Before(c.staleUntil(e)):
		v = e.value
		st = staleServe{stale: true, age: now.Sub(e.stored), first: e.staleSince.IsZero()}
		if st.first {
			e.staleSince = now
		}
	default:
		c.lru.Remove(el)
		delete(c.entries, key)
	}
	c.mu.Unlock()
	if v == nil {
		return nil, staleServe{}, false
	}
	// A stored value is never changed, only replaced: copy it unlocked.
	return cloneSecret(v), st, true
}

// begin records that a fetch of key begins, and returns the
// invalidation count it must compare with when it ends.
func (c *readCache) begin(key cacheKey) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight[key]++
	return c.invalidations
}

// end records that a fetch that began at start ended with v and err, and
// stores v unless it failed or key was invalidated since start. A
// failure that is Vault's answer (see noAnswer) drops key's value, which
// may then never be served stale: the secret is gone, or the token
// refused. If the value it replaces or drops had been served stale, end
// returns when that began (else zero): Vault answers again.
func (c *readCache) end(key cacheKey, start uint64, v Secret, err error) (staleSince time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight[key]--; c.inflight[key] == 0 {
		delete(c.inflight, key)
	}
	switch {
	case err == nil && v != nil && c.dirty[key] <= start && c.dirtyAll <= start:
		staleSince = c.store(key, v)
	case err != nil && !noAnswer(err):
		if el, ok := c.entries[key]; ok {
			staleSince = el.Value.(*cacheEntry).staleSince
			c.lru.Remove(el)
			delete(c.entries, key)
		}
	}
	if len(c.inflight) == 0 {
		clear(c.dirty)
	}
	return staleSince
}

// store keeps v as key's value, and returns the staleSince of the value
// it replaces, if any.
func (c *readCache) store(key cacheKey, v Secret) (staleSince time.Time) {
	now := c.now()
	// A uniformly random expiry in [ttl - ttl/expiryJitter, ttl].
	expires := now.Add(c.ttl - time.Duration(rand.Int64N(int64(c.ttl/expiryJitter)+1)))
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*cacheEntry)
		staleSince = e.staleSince
		e.value, e.stored, e.expires, e.staleSince = v, now, expires, time.Time{}
		c.lru.MoveToFront(el)
		return staleSince
	}
	c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, value: v, stored: now, expires: expires})
	for c.lru.Len() > c.size {
		oldest := c.lru.Back()
		c.lru.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).key)
	}
	return time.Time{}
}

// invalidate drops key's value, keeps any read of key in flight from
// storing its answer, and makes the next read of key ask Vault.
func (c *readCache) invalidate(key cacheKey) {
	c.mu.Lock()
	c.invalidations++
	if el, ok := c.entries[key]; ok {
		c.lru.Remove(el)
		delete(c.entries, key)
	}
	if len(c.inflight) > 0 {
		c.dirty[key] = c.invalidations
	}
	c.mu.Unlock()
	c.group.Forget(key.String())
}

// invalidateAll drops every value, keeps every read in flight from
// storing its answer, and makes the next read of any name ask Vault.
func (c *readCache) invalidateAll() {
	c.mu.Lock()
	c.invalidations++
	c.dirtyAll = c.invalidations
	clear(c.entries)
	c.lru.Init()
	fetching := make([]cacheKey, 0, len(c.inflight))
	for k := range c.inflight {
		fetching = append(fetching, k)
	}
	c.mu.Unlock()
	for _, k := range fetching {
		c.group.Forget(k.String())
	}
}

// len returns the number of values held, fresh or not.
func (c *readCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// cloneSecret returns a deep copy of s: the maps and slices that decoding
// makes are copied, the rest (strings, json.Number, bools, nil) cannot be
// changed. maps.Clone copies a map's table at once; only the composite
// values are then replaced by copies.
func cloneSecret(s Secret) Secret {
	if s == nil {
		return nil
	}
	return Secret(cloneMap(s))
}

func cloneMap(m map[string]any) map[string]any {
	c := maps.Clone(m)
	for k, v := range c {
		switch v.(type) {
		case map[string]any, []any:
			c[k] = cloneValue(v)
		}
	}
	return c
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneMap(v)
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = cloneValue(e)
		}
		return c
	default:
		return v
	}
}
