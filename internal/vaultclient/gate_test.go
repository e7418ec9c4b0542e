package vaultclient

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGate: a Gate lets at most n requests in at once, the first one
// alone; a request waiting for a slot gives up when its context ends,
// and takes no slot.
func TestGate(t *testing.T) {
	g := NewGate(3)
	ctx := context.Background()

	// The first request goes alone: a second waits until it leaves.
	first, err := g.enter(ctx)
	require.NoError(t, err)
	require.True(t, first)
	second := make(chan bool)
	go func() {
		first, err := g.enter(ctx)
		assert.NoError(t, err)
		second <- first
	}()
	select {
	case <-second:
		t.Fatal("a second request entered while the first was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	g.leave(true)
	assert.False(t, <-second, "the second is not first")
	g.leave(false)

	// Then up to 3 at once.
	var in, most atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := g.enter(ctx)
			if !assert.NoError(t, err) {
				return
			}
			n := in.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(5 * time.Millisecond)
			in.Add(-1)
			g.leave(first)
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(3), most.Load())

	// Full: a waiting request gives up with its context.
	for range 3 {
		_, err := g.enter(ctx)
		require.NoError(t, err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = g.enter(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	for range 3 {
		g.leave(false)
	}
	first, err = g.enter(ctx)
	require.NoError(t, err, "the request that gave up took no slot")
	g.leave(first)
}
