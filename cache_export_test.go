package edge

import (
	"sync"
	"time"
)

// FakeClock is a clock that moves only when told, for the read cache's
// tests. It is safe for concurrent use.
type FakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewFakeClock returns a clock reading the present time until moved.
func NewFakeClock() *FakeClock { return &FakeClock{t: time.Now()} }

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock on by d.
func (c *FakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// SetCacheClock makes the read cache of sess (shared with the sessions
// WithOrg derives from it) read the time from clock. Call it before the
// session's first read.
func SetCacheClock(sess *Session, clock *FakeClock) { sess.Secrets.cache.now = clock.Now }
