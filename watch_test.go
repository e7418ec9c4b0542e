package edge_test

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/faultproxy"
)

// The watch tests poll every second, the shortest interval, and wait on
// the watch's own events. A change must be seen within the interval and
// its jitter (1.1 s) plus the poll's request: watchSlack is the time
// allowed for that request on a loaded machine with -race.
const (
	watchInterval = edge.MinWatchInterval
	watchSlack    = 800 * time.Millisecond
	watchMaxWait  = watchInterval*11/10 + watchSlack
)

// watchRig is a session whose requests go through a fault proxy that
// records them.
type watchRig struct {
	proxy *faultproxy.Proxy
	sess  *edge.Session

	mu    sync.Mutex
	paths []string // "GET /v1/..." of each request since the last take
	fault func(faultproxy.Request) faultproxy.Fault
}

// The two kinds of session every watch test runs on.
var watchKinds = []string{"NewSession", "Client.Session"}

// newWatchRig returns a session of u on org, of the given kind (see
// watchKinds), with a read cache of cacheTTL (0: none), whose requests
// go through a proxy. vault/api retries twice with short waits, as in
// the fault tests; each of mods then changes the client's configuration.
func newWatchRig(tb testing.TB, vault *edgetest.Vault, kind string, u edgetest.User, org string, cacheTTL time.Duration, mods ...func(*api.Config)) *watchRig {
	tb.Helper()
	p, err := faultproxy.New(vault.Addr())
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = p.Close() })
	r := &watchRig{proxy: p}
	p.SetRule(func(req faultproxy.Request) faultproxy.Fault {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.paths = append(r.paths, req.Method+" "+req.Path)
		if r.fault != nil {
			return r.fault(req)
		}
		return faultproxy.None
	})
	clientCfg := fastRetries(p.URL())
	for _, mod := range mods {
		mod(clientCfg)
	}
	client, err := api.NewClient(clientCfg)
	require.NoError(tb, err)
	cfg := edge.Config{Client: client, Org: org, Mount: vault.Mount(), CacheTTL: cacheTTL}
	ctx := context.Background()
	switch kind {
	case "NewSession":
		client.SetToken(u.Token)
		r.sess, err = edge.NewSession(ctx, cfg)
		require.NoError(tb, err)
	case "Client.Session":
		client.ClearToken()
		c, err := edge.NewClient(ctx, cfg)
		require.NoError(tb, err)
		tb.Cleanup(func() { _ = c.Close() })
		r.sess, err = c.Session(ctx, u.Token)
		require.NoError(tb, err)
	default:
		tb.Fatalf("unknown session kind %q", kind)
	}
	tb.Cleanup(func() { _ = r.sess.Close() })
	r.take()
	return r
}

// take returns the requests recorded since the last take.
func (r *watchRig) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.paths
	r.paths = nil
	return p
}

// setFault makes the proxy answer the requests f picks (nil: none).
func (r *watchRig) setFault(f func(faultproxy.Request) faultproxy.Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fault = f
}

// watchEvent is one value a watch yielded, when, and what a read of the
// secret in the loop body returned.
type watchEvent struct {
	change  edge.Change
	err     error
	at      time.Time
	value   edge.Secret
	readErr error
}

// runWatch ranges over seq in a goroutine until the range ends, sending
// each value yielded on the channel it returns, closed when the range has
// ended. On each Change (no error), the loop body calls read, if not nil.
// The test's cleanup cancels ctx's watch (cancel) and waits for the range
// to end.
func runWatch(t *testing.T, cancel context.CancelFunc, seq iter.Seq2[edge.Change, error], read func(context.Context, string) (edge.Secret, error), name string) <-chan watchEvent {
	t.Helper()
	events := make(chan watchEvent, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(events)
		for ch, err := range seq {
			ev := watchEvent{change: ch, err: err, at: time.Now()}
			if err == nil && read != nil {
				ev.value, ev.readErr = read(context.Background(), name)
			}
			events <- ev
		}
	}()
	t.Cleanup(func() {
		cancel()
		for range events { // drain, so that the goroutine ends
		}
		<-done
	})
	return events
}

// nextEvent returns the watch's next value, failing the test if none
// comes within d or the watch ended.
func nextEvent(t *testing.T, events <-chan watchEvent, d time.Duration) watchEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		require.True(t, ok, "the watch ended")
		return ev
	case <-time.After(d):
		require.FailNow(t, "no value from the watch", "within %v", d)
	}
	return watchEvent{}
}

// watchTarget is one scope's view for the watch tests: the watcher's
// watch and read, the writer's operations, and the secret's KV path for
// the root token.
type watchTarget struct {
	watch  func(context.Context, string, ...edge.WatchOption) iter.Seq2[edge.Change, error]
	read   func(context.Context, string) (edge.Secret, error)
	create func(context.Context, string, edge.Secret) error
	update func(context.Context, string, edge.Secret) error
	delete func(context.Context, string) error
	kvPath string // the scope's folder below the mount, for vault/api's KVv2
}

func userTarget(vault *edgetest.Vault, watcher, writer *edge.Session, u edgetest.User) watchTarget {
	return watchTarget{
		watch: watcher.Secrets.WatchUserSecret, read: watcher.Secrets.ReadUserSecret,
		create: writer.Secrets.CreateUserSecret, update: writer.Secrets.UpdateUserSecret, delete: writer.Secrets.DeleteUserSecret,
		kvPath: vault.Admin().Prefix() + "/users/" + u.EntityID,
	}
}

func orgTarget(vault *edgetest.Vault, watcher, writer *edge.Session, org string) watchTarget {
	return watchTarget{
		watch: watcher.Secrets.WatchOrgSecret, read: watcher.Secrets.ReadOrgSecret,
		create: writer.Secrets.CreateOrgSecret, update: writer.Secrets.UpdateOrgSecret, delete: writer.Secrets.DeleteOrgSecret,
		kvPath: vault.Admin().Prefix() + "/orgs/" + org,
	}
}

// TestWatchSeesChanges: another session's update, a delete of the latest
// version (by the root token, as other tools do), Edge's Delete, a
// re-create, a destroy of the latest version (root token), and a Delete
// and Create between two polls are each seen, as the Change their
// documentation names, within the interval and its jitter; the watcher's
// read in the loop body, with a read cache of an hour, returns the value
// the Change announces. For user and org secrets, an org member's watch,
// on NewSession and Client.Session sessions: the six watches run side by
// side, one step at a time, in one test (go test runs only GOMAXPROCS
// parallel tests at once, and these mostly wait).
func TestWatchSeesChanges(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	root := vault.RootClient(t).KVv2(vault.Mount())
	type watchCase struct {
		name   string // the case's, and its secret's
		target watchTarget
		path   string
		events <-chan watchEvent
	}
	var cases []*watchCase
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// One org, its admin and a member; each case its own secret.
	owner, member := vault.NewUser(t), vault.NewUser(t)
	org := vault.NewOrg(t, owner)
	vault.AddMember(t, org, member)
	writer := vault.Session(t, owner, org)
	for _, kind := range watchKinds {
		for _, who := range []string{"user", "org admin", "org member"} {
			watcherUser := owner
			if who == "org member" {
				watcherUser = member
			}
			rig := newWatchRig(t, vault, kind, watcherUser, org, time.Hour)
			c := &watchCase{name: fmt.Sprintf("w%d-%s-%s", len(cases), kind, who), target: orgTarget(vault, rig.sess, writer, org)}
			if who == "user" {
				c.target = userTarget(vault, rig.sess, writer, owner)
			}
			cases = append(cases, c)
		}
	}
	for _, c := range cases {
		c.name = strings.NewReplacer(".", "-", " ", "-").Replace(c.name)
		c.path = c.target.kvPath + "/" + c.name
		require.NoError(t, c.target.create(ctx, c.name, edge.Secret{"v": "1"}), c.name)
		c.events = runWatch(t, cancel, c.target.watch(ctx, c.name, edge.WatchInterval(watchInterval)), c.target.read, c.name)
	}
	for _, c := range cases {
		first := nextEvent(t, c.events, watchMaxWait)
		require.NoError(t, first.err, c.name)
		assert.Equal(t, edge.Change{Version: 1, Initial: true, Time: first.change.Time}, first.change, c.name)
		assert.WithinDuration(t, time.Now(), first.change.Time, time.Minute, "%s: the version's creation time", c.name)
		require.NoError(t, first.readErr, c.name)
		assert.Equal(t, "1", first.value["v"], "%s: the read fills the cache", c.name)
	}

	steps := []struct {
		name  string
		do    func(c *watchCase) error
		want  edge.Change
		value string // what the loop body reads; "": ErrNotFound
		time  bool   // Change.Time is set
	}{
		{"update", func(c *watchCase) error { return c.target.update(ctx, c.name, edge.Secret{"v": "2"}) },
			edge.Change{Version: 2}, "2", true},
		{"delete latest version", func(c *watchCase) error { return root.Delete(ctx, c.path) },
			edge.Change{Version: 2, Deleted: true}, "", true},
		{"Delete", func(c *watchCase) error { return c.target.delete(ctx, c.name) },
			edge.Change{Version: 0, Deleted: true}, "", false},
		{"re-create", func(c *watchCase) error { return c.target.create(ctx, c.name, edge.Secret{"v": "3"}) },
			edge.Change{Version: 1, Recreated: true}, "3", true},
		{"destroy latest version", func(c *watchCase) error { return root.Destroy(ctx, c.path, []int{1}) },
			edge.Change{Version: 1, Destroyed: true}, "", false},
		{"Delete and Create between two polls", func(c *watchCase) error {
			if err := c.target.delete(ctx, c.name); err != nil {
				return err
			}
			return c.target.create(ctx, c.name, edge.Secret{"v": "4"})
		}, edge.Change{Version: 1, Recreated: true}, "4", true},
	}
	var slowest time.Duration
	for _, step := range steps {
		// Right after a Change, each watch waits about an interval: the
		// step is done well before its next poll.
		done := make([]time.Time, len(cases))
		for i, c := range cases {
			require.NoError(t, step.do(c), "%s: %s", c.name, step.name)
			done[i] = time.Now()
		}
		for i, c := range cases {
			ev := nextEvent(t, c.events, watchMaxWait)
			require.NoError(t, ev.err, "%s: %s", c.name, step.name)
			took := ev.at.Sub(done[i])
			slowest = max(slowest, took)
			assert.LessOrEqual(t, took, watchMaxWait, "%s: %s seen within the interval and its jitter", c.name, step.name)
			got := ev.change
			assert.Equal(t, step.time, !got.Time.IsZero(), "%s: %s: Time set", c.name, step.name)
			got.Time = time.Time{}
			assert.Equal(t, step.want, got, "%s: %s", c.name, step.name)
			if step.value == "" {
				assert.ErrorIs(t, ev.readErr, edge.ErrNotFound, "%s: %s: read in the loop body", c.name, step.name)
			} else if assert.NoError(t, ev.readErr, "%s: %s", c.name, step.name) {
				assert.Equal(t, step.value, ev.value["v"], "%s: %s: the cached value was dropped before the Change", c.name, step.name)
			}
		}
	}
	t.Logf("slowest change seen %v after it was made (interval %v)", slowest, watchInterval)
	cancel()
	for _, c := range cases {
		for ev := range c.events {
			assert.Fail(t, "a value after the context ended", "%s: %+v", c.name, ev)
		}
	}
}

// TestWatchRefused: a watch whose poll Vault refuses (a member removed
// from the org, a revoked token) ends, its last value an error wrapping
// ErrPermissionDenied, on NewSession and Client.Session sessions. The
// four watches run side by side in one test.
func TestWatchRefused(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	type refusedCase struct {
		name   string
		u      edgetest.User
		org    string
		rig    *watchRig
		refuse func(t *testing.T, c *refusedCase)
		events <-chan watchEvent
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cases []*refusedCase
	for _, kind := range watchKinds {
		for _, how := range []string{"member removed", "token revoked"} {
			c := &refusedCase{name: kind + "/" + how, u: vault.NewUser(t), org: vault.NewOrg(t)}
			c.rig = newWatchRig(t, vault, kind, c.u, c.org, 0)
			watch := c.rig.sess.Secrets.WatchUserSecret
			c.refuse = func(t *testing.T, c *refusedCase) {
				rootDo(t, http.MethodPost, "/v1/auth/token/revoke", map[string]any{"token": c.u.Token})
			}
			if how == "member removed" {
				vault.AddMember(t, c.org, c.u)
				watch = c.rig.sess.Secrets.WatchOrgSecret
				c.refuse = func(t *testing.T, c *refusedCase) { vault.RemoveMember(t, c.org, c.u) }
			}
			c.events = runWatch(t, cancel, watch(ctx, "s", edge.WatchInterval(watchInterval)), nil, "")
			cases = append(cases, c)
		}
	}
	for _, c := range cases {
		first := nextEvent(t, c.events, watchMaxWait)
		require.NoError(t, first.err, c.name)
		assert.Equal(t, edge.Change{Version: 0, Deleted: true, Initial: true}, first.change, "%s: a secret that does not exist", c.name)
		c.refuse(t, c)
	}
	for _, c := range cases {
		last := nextEvent(t, c.events, watchMaxWait)
		require.ErrorIs(t, last.err, edge.ErrPermissionDenied, c.name)
		assertOneKind(t, last.err)
		var e *edge.Error
		if assert.ErrorAs(t, last.err, &e, c.name) {
			assert.Equal(t, "watch", e.Op, c.name)
		}
		assert.NotContains(t, last.err.Error(), c.u.Token, c.name)
		for ev := range c.events {
			assert.Fail(t, "a value after the last error", "%s: %+v", c.name, ev)
		}
	}
}

// TestWatchBadEntry: a watch of an invalid name or with an interval
// below the minimum yields one error wrapping ErrBadEntry and ends, and an
// org watch of a session without org one ErrNoOrg: before any request.
func TestWatchBadEntry(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	u := vault.NewUser(t)
	tests := []struct {
		name   string
		secret string
		opts   []edge.WatchOption
		org    bool // watch the org secret
		noOrg  bool // the session has no org
		want   error
	}{
		{name: "invalid name", secret: "../x", want: edge.ErrBadEntry},
		{name: "invalid org name", secret: "a b", org: true, want: edge.ErrBadEntry},
		{name: "empty name", secret: "", want: edge.ErrBadEntry},
		{name: "interval below the minimum", secret: "s", opts: []edge.WatchOption{edge.WatchInterval(edge.MinWatchInterval - time.Nanosecond)}, want: edge.ErrBadEntry},
		{name: "zero interval", secret: "s", org: true, opts: []edge.WatchOption{edge.WatchInterval(0)}, want: edge.ErrBadEntry},
		{name: "negative interval", secret: "s", opts: []edge.WatchOption{edge.WatchInterval(-time.Second)}, want: edge.ErrBadEntry},
		{name: "no org", secret: "s", org: true, noOrg: true, want: edge.ErrNoOrg},
	}
	for _, kind := range watchKinds {
		org := vault.NewOrg(t, u)
		withOrg := newWatchRig(t, vault, kind, u, org, 0)
		withoutOrg := newWatchRig(t, vault, kind, u, "", 0)
		for _, tt := range tests {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				rig := withOrg
				if tt.noOrg {
					rig = withoutOrg
				}
				watch := rig.sess.Secrets.WatchUserSecret
				if tt.org {
					watch = rig.sess.Secrets.WatchOrgSecret
				}
				var errs []error
				for ch, err := range watch(context.Background(), tt.secret, tt.opts...) {
					assert.Zero(t, ch)
					errs = append(errs, err)
				}
				require.Len(t, errs, 1)
				assert.ErrorIs(t, errs[0], tt.want)
				assertOneKind(t, errs[0])
				assert.Empty(t, rig.take(), "no request")
			})
		}
	}
}

// TestWatchRecoversRevokedToken: with Config.Auth, a watch whose token
// is revoked under it logs in again, as every operation does, and goes
// on, yielding no error, and sees the next change.
func TestWatchRecoversRevokedToken(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	method, user := userpassAuth(t, time.Hour, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	sess, err := edge.NewSession(ctx, edge.Config{Address: vault.Addr(), Auth: method, Mount: vault.Mount()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sess.Close() })
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "s", edge.Secret{"v": "1"}))
	events := runWatch(t, cancel, sess.Secrets.WatchUserSecret(ctx, "s", edge.WatchInterval(watchInterval)), nil, "")
	first := nextEvent(t, events, watchMaxWait)
	require.NoError(t, first.err)
	require.Equal(t, 1, first.change.Version)

	rootDo(t, http.MethodPut, "/v1/sys/leases/revoke-prefix/auth/userpass/login/"+user, nil)
	// Another session of the same user, logged in after the revocation.
	writer, err := edge.NewSession(ctx, edge.Config{Address: vault.Addr(), Auth: method, Mount: vault.Mount()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = writer.Close() })
	require.NoError(t, writer.Secrets.UpdateUserSecret(ctx, "s", edge.Secret{"v": "2"}))
	// The revocation costs the poll a login: at most two intervals.
	ev := nextEvent(t, events, 2*watchMaxWait)
	require.NoError(t, ev.err)
	assert.Equal(t, 2, ev.change.Version)
}

// TestWatchUnavailable: a poll that finds Vault unavailable (every
// attempt answered 500) yields an error wrapping ErrUnavailable, and the
// watch goes on, after a wait of about two intervals (the backoff), and
// sees the change made meanwhile. NewSession and Client.Session watches
// run side by side, with a Client session's user watch whose first
// identity lookup finds Vault unavailable: it is retried at the next poll.
func TestWatchUnavailable(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type unavailableCase struct {
		kind   string
		rig    *watchRig
		writer *edge.Session
		events <-chan watchEvent
	}
	var cases []*unavailableCase
	for _, kind := range watchKinds {
		u := vault.NewUser(t)
		org := vault.NewOrg(t, u)
		c := &unavailableCase{kind: kind, rig: newWatchRig(t, vault, kind, u, org, 0), writer: vault.Session(t, u, org)}
		require.NoError(t, c.writer.Secrets.CreateOrgSecret(ctx, "s", edge.Secret{"v": "1"}))
		c.events = runWatch(t, cancel, c.rig.sess.Secrets.WatchOrgSecret(ctx, "s", edge.WatchInterval(watchInterval)), nil, "")
		cases = append(cases, c)
	}
	// A Client session's user watch whose identity lookup fails: the
	// lookup is retried at the next poll.
	u := vault.NewUser(t)
	lookup := newWatchRig(t, vault, "Client.Session", u, "", 0)
	lookup.setFault(func(r faultproxy.Request) faultproxy.Fault {
		if strings.HasSuffix(r.Path, "/auth/token/lookup-self") {
			return faultproxy.Status500
		}
		return faultproxy.None
	})
	lookupEvents := runWatch(t, cancel, lookup.sess.Secrets.WatchUserSecret(ctx, "s", edge.WatchInterval(watchInterval)), nil, "")
	lookupFailed := nextEvent(t, lookupEvents, watchMaxWait)
	require.ErrorIs(t, lookupFailed.err, edge.ErrUnavailable, "identity lookup")
	assertOneKind(t, lookupFailed.err)
	lookup.setFault(nil)

	for _, c := range cases {
		first := nextEvent(t, c.events, watchMaxWait)
		require.NoError(t, first.err, c.kind)
		c.rig.setFault(func(faultproxy.Request) faultproxy.Fault { return faultproxy.Status500 })
	}
	failedAt := make([]time.Time, len(cases))
	for i, c := range cases {
		failed := nextEvent(t, c.events, watchMaxWait)
		require.ErrorIs(t, failed.err, edge.ErrUnavailable, c.kind)
		assertOneKind(t, failed.err)
		failedAt[i] = failed.at
		c.rig.setFault(nil)
		require.NoError(t, c.writer.Secrets.UpdateOrgSecret(ctx, "s", edge.Secret{"v": "2"}))
	}
	for i, c := range cases {
		ev := nextEvent(t, c.events, 2*watchInterval*11/10+watchSlack)
		require.NoError(t, ev.err, "%s: the watch went on", c.kind)
		assert.Equal(t, edge.Change{Version: 2, Time: ev.change.Time}, ev.change, c.kind)
		assert.GreaterOrEqual(t, ev.at.Sub(failedAt[i]), 2*watchInterval*9/10, "%s: the wait after a failed poll is doubled", c.kind)
	}
	ev := nextEvent(t, lookupEvents, watchMaxWait)
	require.NoError(t, ev.err, "identity lookup: the watch went on")
	assert.Equal(t, edge.Change{Deleted: true, Initial: true}, ev.change, "identity lookup")
}

// TestWatchClientTimeout: a Vault that holds every request without
// answering, for a session whose vault/api client times out first
// (Config.Timeout, the client's own request timeout, while the caller's
// context goes on): a poll yields an error wrapping ErrUnavailable and the
// watch goes on, and sees the change made once Vault answers again. A
// list of versions, a read of a version and a rollback that must read the
// latest version (deleted: see currentVersion) are ErrUnavailable too.
func TestWatchClientTimeout(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	root := vault.RootClient(t).KVv2(vault.Mount())
	for _, kind := range watchKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			u := vault.NewUser(t)
			org := vault.NewOrg(t, u)
			rig := newWatchRig(t, vault, kind, u, org, 0, func(c *api.Config) { c.Timeout = 300 * time.Millisecond })
			rig.proxy.SetDelay(time.Minute)
			writer := vault.Session(t, u, org)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			require.NoError(t, writer.Secrets.CreateOrgSecret(ctx, "s", edge.Secret{"v": "1"}))
			require.NoError(t, writer.Secrets.CreateOrgSecret(ctx, "t", edge.Secret{"v": "1"}))
			require.NoError(t, writer.Secrets.UpdateOrgSecret(ctx, "t", edge.Secret{"v": "2"}))
			require.NoError(t, root.Delete(ctx, vault.Admin().Prefix()+"/orgs/"+org+"/t"))

			// Vault answers metadata reads, not data reads.
			rig.setFault(func(r faultproxy.Request) faultproxy.Fault {
				if r.Method == http.MethodGet && strings.Contains(r.Path, "/data/") {
					return faultproxy.Delay
				}
				return faultproxy.None
			})
			err := rig.sess.Secrets.RollbackOrgSecret(ctx, "t", 1)
			require.ErrorIs(t, err, edge.ErrUnavailable, "rollback: the read of the latest version")
			assertOneKind(t, err)
			_, err = rig.sess.Secrets.ReadOrgSecretVersion(ctx, "s", 1)
			require.ErrorIs(t, err, edge.ErrUnavailable, "read version")
			assertOneKind(t, err)

			events := runWatch(t, cancel, rig.sess.Secrets.WatchOrgSecret(ctx, "s", edge.WatchInterval(watchInterval)), nil, "")
			first := nextEvent(t, events, watchMaxWait)
			require.NoError(t, first.err)
			rig.setFault(func(faultproxy.Request) faultproxy.Fault { return faultproxy.Delay })
			_, err = rig.sess.Secrets.ListOrgSecretVersions(ctx, "s")
			require.ErrorIs(t, err, edge.ErrUnavailable, "versions")
			assertOneKind(t, err)
			failed := nextEvent(t, events, watchMaxWait)
			require.ErrorIs(t, failed.err, edge.ErrUnavailable, "the poll")
			assertOneKind(t, failed.err)
			rig.setFault(nil)
			require.NoError(t, writer.Secrets.UpdateOrgSecret(ctx, "s", edge.Secret{"v": "2"}))
			ev := nextEvent(t, events, 2*watchInterval*11/10+watchSlack)
			require.NoError(t, ev.err, "the watch went on")
			assert.Equal(t, 2, ev.change.Version)
		})
	}
}

// TestWatchStops: a watch ends, with no value after, when its context
// ends during a wait or during a request, and when the loop body breaks
// out of the range: then it sends no request more.
func TestWatchStops(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	var rigs []*watchRig
	for _, kind := range watchKinds {
		u := vault.NewUser(t)
		rig := newWatchRig(t, vault, kind, u, vault.NewOrg(t, u), 0)
		rigs = append(rigs, rig)
		t.Run(kind+"/context ends during a wait", func(t *testing.T) {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			start := time.Now()
			n := 0
			for _, err := range rig.sess.Secrets.WatchOrgSecret(ctx, "s", edge.WatchInterval(time.Hour)) {
				require.NoError(t, err)
				n++
				cancel()
			}
			assert.Equal(t, 1, n)
			assert.Less(t, time.Since(start), 5*time.Second, "not an interval later")
		})
		t.Run(kind+"/context ends during a request", func(t *testing.T) {
			rig.proxy.SetDelay(time.Minute)
			rig.setFault(func(faultproxy.Request) faultproxy.Fault { return faultproxy.Delay })
			defer rig.setFault(nil)
			ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			for ch, err := range rig.sess.Secrets.WatchOrgSecret(ctx, "s", edge.WatchInterval(watchInterval)) {
				assert.Fail(t, "a value from a watch whose context ended", "%+v %v", ch, err)
			}
			assert.Less(t, time.Since(start), 5*time.Second)
		})
		t.Run(kind+"/break", func(t *testing.T) {
			rig.take()
			for _, err := range rig.sess.Secrets.WatchOrgSecret(ctx, "s", edge.WatchInterval(watchInterval)) {
				require.NoError(t, err)
				break
			}
			assert.Len(t, rig.take(), 1, "the first poll")
		})
	}
	time.Sleep(watchMaxWait) // no event to wait on: the absence of a poll
	for i, rig := range rigs {
		assert.Empty(t, rig.take(), "%s: no poll after the break", watchKinds[i])
	}
}

// TestWatchCost: 100 watches of 100 names on one session send one
// metadata read per name per poll and nothing else: about 100 requests
// per interval.
func TestWatchCost(t *testing.T) {
	t.Parallel()
	perInterval, perName := watchCost(t, "Client.Session", 100, 3*watchInterval)
	t.Logf("100 watches: %.1f requests per interval", perInterval)
	assert.Len(t, perName, 100, "every watch polls")
	for name, n := range perName {
		// Waits of at least 0.9 intervals: 3 intervals hold at most 4
		// polls. Under load a poll's request takes longer, and the
		// next wait begins when it ends: fewer polls, never more.
		assert.True(t, n >= 1 && n <= 4, "%s: %d polls in 3 intervals", name, n)
	}
	assert.LessOrEqual(t, perInterval, 100/0.9, "one request per name per poll, one poll per interval at most")
}

// BenchmarkWatch reports the requests per interval of 100 watches of 100
// names on one session (metric "requests/interval"), over b.N intervals
// of 1 s.
func BenchmarkWatch(b *testing.B) {
	perInterval, _ := watchCost(b, "Client.Session", 100, time.Duration(max(b.N, 2))*watchInterval)
	b.ReportMetric(perInterval, "requests/interval")
}

// watchCost runs n watches of n names of a fresh user's on one session
// of the given kind, and after every watch's first poll counts the
// requests sent during window: it returns the requests per interval, and
// the requests per name. It fails the test if any request is not a
// metadata read of a watched name.
func watchCost(tb testing.TB, kind string, n int, window time.Duration) (float64, map[string]int) {
	tb.Helper()
	vault := edgetest.Start(tb)
	u := vault.NewUser(tb)
	rig := newWatchRig(tb, vault, kind, u, "", 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("w%03d", i)
	}
	require.NoError(tb, rig.sess.Secrets.CreateUserSecret(ctx, names[0], edge.Secret{"v": "1"}))
	var started, ended sync.WaitGroup
	for _, name := range names {
		started.Add(1)
		ended.Add(1)
		go func() {
			defer ended.Done()
			first := true
			for _, err := range rig.sess.Secrets.WatchUserSecret(ctx, name, edge.WatchInterval(watchInterval)) {
				if err != nil {
					tb.Errorf("watch %s: %v", name, err)
				}
				if first {
					first = false
					started.Done()
				}
			}
		}()
	}
	started.Wait()
	rig.take()
	time.Sleep(window) // the measure is requests per time
	paths := rig.take()
	cancel()
	ended.Wait()
	meta := "GET /v1/" + vault.Mount() + "/metadata/" + vault.Admin().Prefix() + "/users/" + u.EntityID + "/"
	perName := map[string]int{}
	for _, p := range paths {
		name, ok := strings.CutPrefix(p, meta)
		if !ok {
			tb.Errorf("request %q is not a metadata read of a watched name", p)
			continue
		}
		perName[name]++
	}
	return float64(len(paths)) / float64(window/watchInterval), perName
}

// TestWatchLeavesNoGoroutine: a watch whose context ends during its wait,
// and one the loop body breaks out of, leave no goroutine behind, on
// NewSession and Client.Session sessions: the watch starts none. Not
// parallel, so that no other test's goroutines come and go meanwhile.
func TestWatchLeavesNoGoroutine(t *testing.T) {
	vault := edgetest.Start(t)
	u := vault.NewUser(t)
	org := vault.NewOrg(t, u)
	before := goleak.IgnoreCurrent()
	ctx := context.Background()
	for _, kind := range watchKinds {
		cfg := vault.Config(u, org)
		var sess *edge.Session
		var closeAll func()
		switch kind {
		case "NewSession":
			s, err := edge.NewSession(ctx, cfg)
			require.NoError(t, err)
			sess, closeAll = s, func() { _ = s.Close() }
		case "Client.Session":
			cfg.Client.ClearToken()
			c, err := edge.NewClient(ctx, cfg)
			require.NoError(t, err)
			sess, err = c.Session(ctx, u.Token)
			require.NoError(t, err)
			closeAll = func() { _ = sess.Close(); _ = c.Close() }
		}
		wctx, cancel := context.WithCancel(ctx)
		n := 0
		for _, err := range sess.Secrets.WatchUserSecret(wctx, "s", edge.WatchInterval(watchInterval)) {
			require.NoError(t, err)
			n++
			time.AfterFunc(100*time.Millisecond, cancel) // during the wait
		}
		assert.Equal(t, 1, n, kind)
		for _, err := range sess.Secrets.WatchOrgSecret(ctx, "s", edge.WatchInterval(watchInterval)) {
			require.NoError(t, err)
			break
		}
		cancel()
		closeAll()
	}
	goleak.VerifyNone(t, before)
}
