package edge

import (
	"container/list"
	"context"
	"errors"
	"maps"
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
type readCache struct {
	ttl   time.Duration
	size  int
	group singleflight.Group

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
	expires time.Time
}

func newReadCache(ttl time.Duration, size int) *readCache {
	if size == 0 {
		size = DefaultCacheSize
	}
	return &readCache{ttl: ttl, size: size, entries: map[cacheKey]*list.Element{}, inflight: map[cacheKey]int{}, dirty: map[cacheKey]uint64{}}
}

// miss returns a copy of key's value, which get did not have fresh, from
// fetch: one request at a time for a key, callers that miss while it
// runs waiting for its answer. A hit is get, then cloneSecret.
//
// A caller that joins another's request gets that request's answer,
// except a refusal (ErrPermissionDenied) or the end of the other
// caller's context: then it asks Vault itself. A refusal may be for a
// token revoked under the request, which its own caller then replaces
// (see authState.recover) before trying again; the joiners, whose
// operations may have begun with the new token, cannot tell, and would
// report a refusal that the caller that sent it did not keep.
func (c *readCache) miss(ctx context.Context, key cacheKey, fetch func(context.Context) (Secret, error)) (Secret, error) {
	led := false // this caller's function ran the request
	ch := c.group.DoChan(key.String(), func() (any, error) {
		led = true
		return c.fetch(ctx, key, fetch)
	})
	var r singleflight.Result
	select {
	case r = <-ch:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if r.Err != nil {
		// led was written before the answer was sent on ch.
		if isContextError(r.Err) && ctx.Err() == nil || !led && errors.Is(r.Err, ErrPermissionDenied) {
			// The request was another caller's: ask Vault with ours.
			v, err := c.fetch(ctx, key, fetch)
			if err != nil {
				return nil, err
			}
			return cloneSecret(v), nil
		}
		return nil, r.Err
	}
	return cloneSecret(r.Val.(Secret)), nil
}

// fetch returns key's value from the cache if it is there, else from
// fetch, storing it (see end). A caller that missed in get may come after
// a request of key has ended and stored its answer: it takes that answer
// rather than ask Vault again. A value in the cache was stored after
// every invalidation of its key (an invalidation drops it, and keeps a
// request that began before it from storing), so taking it is as exact
// as joining the request that stored it.
func (c *readCache) fetch(ctx context.Context, key cacheKey, fetch func(context.Context) (Secret, error)) (Secret, error) {
	if v, ok := c.get(key); ok {
		return v, nil
	}
	start := c.begin(key)
	v, err := fetch(ctx)
	c.end(key, start, v, err)
	return v, err
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// get returns key's value if it is fresh, and marks it used.
func (c *readCache) get(key cacheKey) (Secret, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if time.Now().After(e.expires) {
		c.lru.Remove(el)
		delete(c.entries, key)
		return nil, false
	}
	c.lru.MoveToFront(el)
	return e.value, true
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
// stores v unless it failed or key was invalidated since start.
func (c *readCache) end(key cacheKey, start uint64, v Secret, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight[key]--; c.inflight[key] == 0 {
		delete(c.inflight, key)
	}
	if err == nil && v != nil && c.dirty[key] <= start && c.dirtyAll <= start {
		c.store(key, v)
	}
	if len(c.inflight) == 0 {
		clear(c.dirty)
	}
}

func (c *readCache) store(key cacheKey, v Secret) {
	expires := time.Now().Add(c.ttl)
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*cacheEntry)
		e.value, e.expires = v, expires
		c.lru.MoveToFront(el)
		return
	}
	c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, value: v, expires: expires})
	for c.lru.Len() > c.size {
		oldest := c.lru.Back()
		c.lru.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).key)
	}
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
