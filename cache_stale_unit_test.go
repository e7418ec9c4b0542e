package edge

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The stale-if-error bookkeeping and the expiry jitter, on a fake clock
// and without Vault: the tests against Vault are in cache_stale_test.go.

// TestCacheExpiryJitter: every value expires in [0.9×TTL, TTL] after it
// was stored, spread over the whole range.
func TestCacheExpiryJitter(t *testing.T) {
	const ttl = 10 * time.Second
	c := newReadCache(ttl, 0, 5000)
	clock := NewFakeClock()
	c.now = clock.Now
	t0 := clock.Now()
	lo, hi := t0.Add(ttl), t0
	distinct := map[time.Time]bool{}
	for i := range 5000 {
		k := cacheKey{"s", string(rune('a'+i%26)) + string(rune(i))}
		c.end(k, c.begin(k), Secret{"v": i}, nil)
		e := c.entries[k].Value.(*cacheEntry)
		require.False(t, e.expires.Before(t0.Add(ttl*9/10)), "expires before 0.9×TTL")
		require.False(t, e.expires.After(t0.Add(ttl)), "expires after the TTL")
		if e.expires.Before(lo) {
			lo = e.expires
		}
		if e.expires.After(hi) {
			hi = e.expires
		}
		distinct[e.expires] = true
	}
	assert.True(t, lo.Before(t0.Add(ttl*91/100)), "the earliest expiry %v is near 0.9×TTL", lo.Sub(t0))
	assert.True(t, hi.After(t0.Add(ttl*99/100)), "the latest expiry %v is near the TTL", hi.Sub(t0))
	assert.Greater(t, len(distinct), 4900, "expiries are spread")
}

var (
	errSealed  = &Error{Op: "read", Kind: ErrUnavailable, Err: errors.New("503 Vault is sealed")}
	errGone    = &Error{Op: "read", Kind: ErrNotFound}
	errRefused = &Error{Op: "read", Kind: ErrPermissionDenied}
	// errLost is an ErrUnknownOutcome as a lost answer makes it: it
	// matches ErrUnavailable too (a dropped connection), so only the
	// cache's own rule against ErrUnknownOutcome keeps it from a stale
	// serve.
	errLost = &Error{Op: "read", Kind: ErrUnknownOutcome, Err: io.ErrUnexpectedEOF}
)

// staleFixture is a cache of TTL 1 min and stale-if-error 2 min on a
// fake clock, holding key's value {"v": "old"}, read at t0.
func staleFixture(t *testing.T) (*readCache, *FakeClock, cacheKey) {
	c := newReadCache(time.Minute, 2*time.Minute, 10)
	clock := NewFakeClock()
	c.now = clock.Now
	k := cacheKey{"secret/data/edge/users/e", "db"}
	_, err := read(context.Background(), c, k, func(context.Context) (Secret, error) { return Secret{"v": "old"}, nil })
	require.NoError(t, err)
	return c, clock, k
}

// refresh is a read of k after its value expired, whose request fails
// with err.
func refresh(ctx context.Context, c *readCache, k cacheKey, err error) (Secret, time.Time, error) {
	if _, ok := c.get(k); ok {
		panic("the value is fresh")
	}
	return c.miss(ctx, k, func(context.Context) (Secret, error) { return nil, err })
}

func TestCacheStaleIfError(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		err    error
		served bool
		kept   bool // the value may still be served stale afterwards
	}{
		{"unavailable", context.Background(), errSealed, true, true},
		{"not found", context.Background(), errGone, false, false},
		{"refused", context.Background(), errRefused, false, false},
		{"unknown outcome", context.Background(), errLost, false, true},
		{"the caller's context ended", canceled, errSealed, false, true},
		{"a context error of another caller", context.Background(), &Error{Op: "read", Err: context.Canceled}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == errLost {
				require.ErrorIs(t, errLost, ErrUnavailable, "a lost answer is also unavailable: the case the rule is for")
			}
			c, clock, k := staleFixture(t)
			clock.Add(time.Minute + time.Nanosecond)
			_, _, err := refresh(tc.ctx, c, k, tc.err)
			require.Error(t, err)
			v, st, ok := c.stale(tc.ctx, k, err)
			assert.Equal(t, tc.served, ok)
			if tc.served {
				assert.Equal(t, Secret{"v": "old"}, v)
				assert.True(t, st.stale)
				assert.True(t, st.first)
				assert.Equal(t, time.Minute+time.Nanosecond, st.age)
			}
			_, _, ok = c.stale(context.Background(), k, errSealed)
			assert.Equal(t, tc.kept, ok, "a later outage finds the value")
		})
	}
}

// TestCacheStaleWindow: a value is served stale until CacheTTL +
// CacheStaleIfError after it was read, whatever its jittered expiry;
// only the first serve is reported first; a successful refresh reports
// when the stale serves began, and stores a fresh value.
func TestCacheStaleWindow(t *testing.T) {
	ctx := context.Background()
	c, clock, k := staleFixture(t)
	t0 := clock.Now()
	for i, at := range []time.Duration{time.Minute + time.Nanosecond, 2 * time.Minute, 3*time.Minute - time.Nanosecond} {
		clock.Add(t0.Add(at).Sub(clock.Now()))
		_, since, err := refresh(ctx, c, k, errSealed)
		require.ErrorIs(t, err, ErrUnavailable)
		assert.True(t, since.IsZero())
		v, st, ok := c.stale(ctx, k, err)
		require.True(t, ok)
		assert.Equal(t, "old", v["v"])
		assert.Equal(t, i == 0, st.first, "serve %d", i)
		v["v"] = "changed" // a copy
	}
	clock.Add(time.Nanosecond)
	_, _, err := refresh(ctx, c, k, errSealed)
	_, _, ok := c.stale(ctx, k, err)
	assert.False(t, ok, "TTL + stale-if-error after the read, the value is too old")
	assert.Zero(t, c.len(), "and dropped")

	// Recovery: a fresh read reports the outage's start once.
	c, clock, k = staleFixture(t)
	clock.Add(90 * time.Second)
	_, _, err = refresh(ctx, c, k, errSealed)
	_, _, ok = c.stale(ctx, k, err)
	require.True(t, ok)
	began := clock.Now()
	clock.Add(time.Second)
	v, since, err := c.miss(ctx, k, func(context.Context) (Secret, error) { return Secret{"v": "new"}, nil })
	require.NoError(t, err)
	assert.Equal(t, "new", v["v"])
	assert.Equal(t, began, since, "the refresh reports when the stale serves began")
	v, ok = c.get(k)
	require.True(t, ok, "the new value is fresh")
	assert.Equal(t, "new", v["v"])
	clock.Add(time.Minute + time.Nanosecond)
	_, since, _ = refresh(ctx, c, k, errSealed)
	assert.True(t, since.IsZero(), "reported once")
	_, st, ok := c.stale(ctx, k, errSealed)
	require.True(t, ok)
	assert.True(t, st.first, "a new outage is reported again")

	// A refusal ends the stale serves too, and reports it.
	c, clock, k = staleFixture(t)
	clock.Add(90 * time.Second)
	_, _, err = refresh(ctx, c, k, errSealed)
	_, _, ok = c.stale(ctx, k, err)
	require.True(t, ok)
	_, since, err = refresh(ctx, c, k, errRefused)
	require.ErrorIs(t, err, ErrPermissionDenied)
	assert.False(t, since.IsZero())
}

// TestCacheNoStaleWithout: without CacheStaleIfError an expired value is
// dropped and never served.
func TestCacheNoStaleWithout(t *testing.T) {
	ctx := context.Background()
	c := newReadCache(time.Minute, 0, 10)
	clock := NewFakeClock()
	c.now = clock.Now
	k := cacheKey{"s", "a"}
	_, err := read(ctx, c, k, func(context.Context) (Secret, error) { return Secret{"v": 1}, nil })
	require.NoError(t, err)
	clock.Add(time.Minute + time.Nanosecond)
	_, _, err = refresh(ctx, c, k, errSealed)
	require.ErrorIs(t, err, ErrUnavailable)
	_, _, ok := c.stale(ctx, k, err)
	assert.False(t, ok)
	assert.Zero(t, c.len())
}

// TestCacheStaleFreshValue: a read that failed while another stored a
// fresh value gets that value, not reported as stale.
func TestCacheStaleFreshValue(t *testing.T) {
	c, _, k := staleFixture(t)
	v, st, ok := c.stale(context.Background(), k, errSealed)
	require.True(t, ok)
	assert.Equal(t, "old", v["v"])
	assert.False(t, st.stale)
}
