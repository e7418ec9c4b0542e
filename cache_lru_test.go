package edge

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The read cache's bookkeeping, without Vault: the tests against Vault
// are in cache_test.go.

// read is a read through c, as SecretsService does one: get, else miss.
func read(ctx context.Context, c *readCache, k cacheKey, fetch func(context.Context) (Secret, error)) (Secret, error) {
	if v, ok := c.get(k); ok {
		return cloneSecret(v), nil
	}
	v, _, err := c.miss(ctx, k, fetch)
	return v, err
}

// fetcher counts the fetches of each key and answers its value.
type fetcher map[string]int

func (f fetcher) of(k cacheKey) func(context.Context) (Secret, error) {
	return func(context.Context) (Secret, error) {
		f[k.name]++
		return Secret{"name": k.name}, nil
	}
}

func TestCacheLRU(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newReadCache(time.Hour, 0, 2)
	f := fetcher{}
	read := func(name string) {
		k := cacheKey{"secret/data/edge/users/e", name}
		v, err := read(ctx, c, k, f.of(k))
		require.NoError(t, err)
		require.Equal(t, name, v["name"])
	}
	read("a")
	read("b")
	read("a") // a is now the most recently used
	read("c") // evicts b
	assert.Equal(t, 2, c.len())
	read("a")
	read("b")
	assert.Equal(t, fetcher{"a": 1, "b": 2, "c": 1}, f)
}

func TestCacheDefaultSize(t *testing.T) {
	t.Parallel()
	assert.Equal(t, DefaultCacheSize, newReadCache(time.Second, 0, 0).size)
}

// TestCacheExpiry: a value is fresh until 0.9×TTL after it was read
// (the earliest its jittered expiry can be), and expired after the TTL.
func TestCacheExpiry(t *testing.T) {
	t.Parallel()
	const ttl = time.Minute
	ctx := context.Background()
	c := newReadCache(ttl, 0, 10)
	clock := NewFakeClock()
	c.now = clock.Now
	f := fetcher{}
	k := cacheKey{"s", "a"}
	for range 3 {
		_, err := read(ctx, c, k, f.of(k))
		require.NoError(t, err)
	}
	assert.Equal(t, 1, f["a"])
	clock.Add(ttl * 9 / 10)
	_, err := read(ctx, c, k, f.of(k))
	require.NoError(t, err)
	assert.Equal(t, 1, f["a"], "fresh until 0.9×TTL")
	clock.Add(ttl/10 + time.Nanosecond)
	_, err = read(ctx, c, k, f.of(k))
	require.NoError(t, err)
	assert.Equal(t, 2, f["a"], "an expired value is fetched again")
	assert.Equal(t, 1, c.len(), "and the expired value replaced, not kept beside it")
}

// TestCacheInvalidateAllDuringFetch: a fetch that began before
// InvalidateAll neither stores its answer nor answers a read made after.
func TestCacheInvalidateAllDuringFetch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newReadCache(time.Hour, 0, 10)
	k := cacheKey{"s", "a"}
	release := make(chan struct{})
	started := make(chan struct{})
	done := make(chan Secret)
	go func() {
		v, _ := read(ctx, c, k, func(context.Context) (Secret, error) {
			close(started)
			<-release
			return Secret{"v": "old"}, nil
		})
		done <- v
	}()
	<-started
	c.invalidateAll()
	v, err := read(ctx, c, k, func(context.Context) (Secret, error) { return Secret{"v": "new"}, nil })
	require.NoError(t, err)
	assert.Equal(t, "new", v["v"], "a read after InvalidateAll does not join the fetch before it")
	close(release)
	assert.Equal(t, "old", (<-done)["v"])
	v, err = read(ctx, c, k, func(context.Context) (Secret, error) { return Secret{"v": "newer"}, nil })
	require.NoError(t, err)
	assert.Equal(t, "new", v["v"], "the fetch before InvalidateAll stored nothing")
}

func TestCloneSecret(t *testing.T) {
	t.Parallel()
	s := Secret{"n": json.Number("1"), "m": map[string]any{"l": []any{map[string]any{"k": "v"}}}, "nil": nil}
	c := cloneSecret(s)
	require.Equal(t, s, c)
	c["m"].(map[string]any)["l"].([]any)[0].(map[string]any)["k"] = "changed"
	assert.Equal(t, "v", s["m"].(map[string]any)["l"].([]any)[0].(map[string]any)["k"])
	assert.Nil(t, cloneSecret(nil))
}
