package vaulttest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apiClient is a vault/api client for one node, without retries, so that
// the tests see what the node answers.
func apiClient(t *testing.T, addr, token string) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	require.NoError(t, cfg.Error)
	cfg.Address = addr
	cfg.MaxRetries = 0
	cfg.Timeout = 30 * time.Second
	c, err := api.NewClient(cfg)
	require.NoError(t, err)
	c.SetToken(token)
	c.SetNamespace("")
	t.Cleanup(cfg.HttpClient.CloseIdleConnections)
	return c
}

func nodeByAddr(t *testing.T, nodes []Node, addr string) Node {
	t.Helper()
	for _, n := range nodes {
		if n.Addr == addr {
			return n
		}
	}
	t.Fatalf("no node %s in %v", addr, nodes)
	return Node{}
}

// requireHealthy checks a cluster state: active is the one active node,
// the other nodes have the given states, the Raft configuration has all
// nodes as voters.
func requireHealthy(t *testing.T, nodes []Node, voters int, active string) {
	t.Helper()
	require.Equal(t, len(nodes), voters, "every node stays a voter: %v", nodes)
	actives := 0
	for _, n := range nodes {
		if n.Active {
			actives++
			assert.Equal(t, active, n.Addr, "active node")
			assert.Equal(t, StateActive, n.State)
		} else {
			assert.NotEqual(t, StateActive, n.State)
		}
	}
	require.Equal(t, 1, actives, "active nodes in %v", nodes)
}

// readSecret reads key of alice's secrets through addr and returns "v".
func readSecret(ctx context.Context, t *testing.T, addr, token, mount, key string) string {
	t.Helper()
	sec, err := apiClient(t, addr, token).KVv2(mount).Get(ctx, key)
	require.NoError(t, err, "reading %s through %s", key, addr)
	v, _ := sec.Data["v"].(string)
	return v
}

// TestCluster stalls a 3-node cluster's process as a loaded machine does
// (its leader must keep its lease), then runs it through failovers: stop
// the active node, start it again, stop the new active node, seal, stop a
// standby, step down; data written through a standby stays readable
// through the standbys. (StepDown comes last: see its documentation.)
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node devvault cluster")
	}
	// Allow for a first build of devvault.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if _, unlock, err := devvaultBinary(ctx); err == nil {
		unlock() // build outside of the measured startup
	}
	begin := time.Now()
	s, err := Start(ctx, Options{Cluster: 3})
	require.NoError(t, err)
	defer func() {
		begin := time.Now()
		assert.NoError(t, s.Close())
		t.Logf("cluster stopped in %v", time.Since(begin).Round(time.Millisecond))
	}()
	t.Logf("3-node cluster started and provisioned in %v", time.Since(begin).Round(time.Millisecond))

	require.True(t, s.IsCluster())
	require.Len(t, s.Nodes, 3)
	t.Run("LeaderKeepsLeaseThroughStalls", func(t *testing.T) { testLeaderThroughStalls(t, s) })
	ids := map[string]bool{}
	for _, n := range s.Nodes {
		ids[n.ID] = true
		if n.Addr == s.Addr {
			require.True(t, n.Active, "Addr is the active node")
		} else {
			require.Equal(t, StateStandby, n.State, "node %s", n.ID)
		}
	}
	require.Len(t, ids, 3)
	requireHealthy(t, s.Nodes, 3, s.Addr)
	sb := s.Standby()
	require.NotEmpty(t, sb)
	require.NotEqual(t, s.Addr, sb)
	require.Len(t, s.Standbys(), 2)

	st, err := s.Status(ctx)
	require.NoError(t, err)
	requireHealthy(t, st.Nodes, st.Voters, s.Addr)
	assert.Equal(t, s.Addr, st.Active)
	logMemory(t, "after start", st.Memory)

	alice, err := s.NewUser(ctx, UniqueName("alice"), userPolicy(t, s))
	require.NoError(t, err)
	nobody, err := s.NewUser(ctx, UniqueName("nobody"))
	require.NoError(t, err)
	mount := s.Mount
	key := "edge/users/" + alice.EntityID + "/" + UniqueName("cluster")

	t.Run("MuxHardenedOnEveryNode", func(t *testing.T) {
		for _, n := range s.Nodes {
			status, err := sendRaw(ctx, n.Addr, http.MethodGet, "/v1/"+mount+"/data/a/%2e%2e/b", s.RootToken, "")
			require.NoError(t, err)
			assert.Equal(t, http.StatusMovedPermanently, status, "node %s must redirect encoded dot segments", n.ID)
		}
	})

	t.Run("WriteThroughStandby", func(t *testing.T) {
		_, err := apiClient(t, sb, alice.Token).KVv2(mount).Put(ctx, key, map[string]any{"v": "1"})
		require.NoError(t, err)
		assert.Equal(t, "1", readSecret(ctx, t, s.Addr, alice.Token, mount, key))
		// The user policy is enforced through the standby too.
		_, err = apiClient(t, sb, nobody.Token).KVv2(mount).Get(ctx, key)
		assert.Error(t, err)
	})

	t.Run("StandbyRedirectsToPlainAddress", func(t *testing.T) {
		// Without forwarding a standby redirects to the active node: to its
		// plain address, not to the TLS listener of NewTestCluster.
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, sb+"/v1/sys/mounts", nil)
		require.NoError(t, err)
		req.Header.Set("X-Vault-Token", s.RootToken)
		req.Header.Set("X-Vault-No-Request-Forwarding", "true")
		resp, err := noRedirectClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
		assert.Equal(t, s.Addr+"/v1/sys/mounts", resp.Header.Get("Location"))
	})

	// First failover, while a client keeps writing through a standby.
	first := s.Addr
	var f1 *Failover
	t.Run("StopActive", func(t *testing.T) {
		w := startWriter(ctx, t, sb, alice.Token, mount, key+"-w")
		f, err := s.StopActive(ctx)
		stopped := time.Now()
		require.NoError(t, err)
		f1 = f
		t.Logf("stop-active: election %v, ready %v", f.Election.Round(time.Millisecond), f.Ready.Round(time.Millisecond))
		assert.Equal(t, first, f.Previous)
		assert.NotEqual(t, first, f.Active)
		assert.Positive(t, f.Election)
		assert.GreaterOrEqual(t, f.Ready, f.Election)
		requireHealthy(t, f.Nodes, f.Voters, f.Active)
		assert.Equal(t, StateStopped, nodeByAddr(t, f.Nodes, first).State)

		// Writes through the standby go on.
		w.waitSuccessAfter(t, stopped)
		n, failed, last := w.stop()
		t.Logf("writer through the standby during the failover: %d writes, %d failed: %v", n, len(failed), failed)
		assert.Equal(t, last, readSecret(ctx, t, s.Standby(), alice.Token, mount, key+"-w"))

		// Data still readable from the standby; the stopped node is gone.
		assert.Equal(t, "1", readSecret(ctx, t, s.Standby(), alice.Token, mount, key))
		_, _, err = s.DoAt(ctx, first, http.MethodGet, "/v1/sys/health", "", nil)
		assert.Error(t, err, "the stopped node still answers")
		// Do follows the active node.
		status, _, err := s.Do(ctx, http.MethodGet, "/v1/sys/health", "", nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, status)
	})
	require.NotNil(t, f1)

	t.Run("NoFailoverWithoutQuorum", func(t *testing.T) {
		_, err := s.StopActive(ctx)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "quorum")
		active, err := s.ActiveAddr(ctx)
		require.NoError(t, err)
		assert.Equal(t, f1.Active, active)
	})

	t.Run("StartStoppedNode", func(t *testing.T) {
		st, err := s.StartNode(ctx, first)
		require.NoError(t, err)
		requireHealthy(t, st.Nodes, st.Voters, f1.Active)
		assert.Equal(t, StateStandby, nodeByAddr(t, st.Nodes, first).State)
		assert.Equal(t, "1", readSecret(ctx, t, first, alice.Token, mount, key))
	})

	t.Run("SecondStopActive", func(t *testing.T) {
		_, err := apiClient(t, first, alice.Token).KVv2(mount).Put(ctx, key, map[string]any{"v": "2"})
		require.NoError(t, err)
		f, err := s.StopActive(ctx)
		require.NoError(t, err)
		t.Logf("second stop-active: election %v, ready %v", f.Election.Round(time.Millisecond), f.Ready.Round(time.Millisecond))
		assert.Equal(t, f1.Active, f.Previous)
		assert.NotEqual(t, f.Previous, f.Active)
		requireHealthy(t, f.Nodes, f.Voters, f.Active)
		assert.Equal(t, "2", readSecret(ctx, t, s.Standby(), alice.Token, mount, key))
		_, err = s.StartNode(ctx, f.Previous)
		require.NoError(t, err)
	})

	t.Run("SealActive", func(t *testing.T) {
		f, err := s.SealActive(ctx)
		require.NoError(t, err)
		t.Logf("seal-active: election %v, ready %v", f.Election.Round(time.Millisecond), f.Ready.Round(time.Millisecond))
		assert.NotEqual(t, f.Previous, f.Active)
		requireHealthy(t, f.Nodes, f.Voters, f.Active)
		assert.Equal(t, StateSealed, nodeByAddr(t, f.Nodes, f.Previous).State)
		status, _, err := s.DoAt(ctx, f.Previous, http.MethodGet, "/v1/sys/health", "", nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusServiceUnavailable, status, "a sealed node answers 503")
		assert.Equal(t, "2", readSecret(ctx, t, s.Standby(), alice.Token, mount, key))

		st, err := s.StartNode(ctx, f.Previous)
		require.NoError(t, err)
		requireHealthy(t, st.Nodes, st.Voters, f.Active)
		assert.Equal(t, StateStandby, nodeByAddr(t, st.Nodes, f.Previous).State)
		assert.Equal(t, "2", readSecret(ctx, t, f.Previous, alice.Token, mount, key))
	})

	t.Run("StopAndSealStandby", func(t *testing.T) {
		active, err := s.ActiveAddr(ctx)
		require.NoError(t, err)
		standby := s.Standby()
		st, err := s.StopNode(ctx, standby)
		require.NoError(t, err)
		assert.Equal(t, active, st.Active, "stopping a standby changes nothing")
		assert.Equal(t, StateStopped, nodeByAddr(t, st.Nodes, standby).State)
		_, err = s.StartNode(ctx, standby)
		require.NoError(t, err)

		st, err = s.SealNode(ctx, standby)
		require.NoError(t, err)
		assert.Equal(t, active, st.Active)
		assert.Equal(t, StateSealed, nodeByAddr(t, st.Nodes, standby).State)
		st, err = s.StartNode(ctx, standby)
		require.NoError(t, err)
		assert.Equal(t, StateStandby, nodeByAddr(t, st.Nodes, standby).State)
		_, err = s.StartNode(ctx, standby)
		assert.ErrorContains(t, err, "running and unsealed")
	})

	t.Run("StepDown", func(t *testing.T) {
		before, err := s.ActiveAddr(ctx)
		require.NoError(t, err)
		f, err := s.StepDown(ctx)
		require.NoError(t, err)
		t.Logf("step-down: election %v, ready %v", f.Election.Round(time.Millisecond), f.Ready.Round(time.Millisecond))
		assert.Equal(t, before, f.Previous)
		assert.NotEqual(t, before, f.Active)
		requireHealthy(t, f.Nodes, f.Voters, f.Active)
		assert.Equal(t, StateStandby, nodeByAddr(t, f.Nodes, before).State)
		assert.Equal(t, "2", readSecret(ctx, t, before, alice.Token, mount, key))
	})

	st, err = s.Status(ctx)
	require.NoError(t, err)
	requireHealthy(t, st.Nodes, st.Voters, st.Active)
	for _, n := range st.Nodes {
		assert.NotEqual(t, StateStopped, n.State)
		assert.NotEqual(t, StateSealed, n.State)
	}
	logMemory(t, "after the failovers and restarts", st.Memory)
}

func logMemory(t *testing.T, when string, m Memory) {
	t.Helper()
	t.Logf("devvault memory %s: RSS %d MiB (anonymous %d MiB, files %d MiB; peak %d MiB), Go runtime %d MiB, Go heap %d MiB",
		when, m.RSS>>20, m.RSSAnon>>20, m.RSSFile>>20, m.PeakRSS>>20, m.GoSys>>20, m.GoHeap>>20)
}

// writer writes increasing values to one key through one node until
// stopped, as a client behind a load balancer would.
type writer struct {
	mu       sync.Mutex
	n        int
	failed   []string
	last     string
	lastOK   time.Time
	done     chan struct{}
	finished chan struct{}
	stopOnce sync.Once
}

func startWriter(ctx context.Context, t *testing.T, addr, token, mount, key string) *writer {
	t.Helper()
	kv := apiClient(t, addr, token).KVv2(mount)
	w := &writer{done: make(chan struct{}), finished: make(chan struct{})}
	var seq atomic.Int64
	go func() {
		defer close(w.finished)
		for {
			select {
			case <-w.done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			v := fmt.Sprint(seq.Add(1))
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := kv.Put(rctx, key, map[string]any{"v": v})
			cancel()
			w.mu.Lock()
			w.n++
			if err != nil {
				w.failed = append(w.failed, shortErr(err))
			} else {
				w.last, w.lastOK = v, time.Now()
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() { w.stop() })
	return w
}

// waitSuccessAfter waits for a write that succeeded after t0.
func (w *writer) waitSuccessAfter(t *testing.T, t0 time.Time) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		ok := w.lastOK.After(t0)
		w.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no write through the standby succeeded after the failover")
}

func (w *writer) stop() (n int, failed []string, last string) {
	w.stopOnce.Do(func() { close(w.done) })
	<-w.finished
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n, w.failed, w.last
}

func shortErr(err error) string {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return fmt.Sprintf("%d %s", re.StatusCode, strings.Join(re.Errors, "; "))
	}
	msg := err.Error()
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "error writing secret") {
		msg = msg[i+2:] // drop the path (with the entity id)
	}
	return msg
}

func TestSingleServerIsNotCluster(t *testing.T) {
	s := shared(t)
	assert.False(t, s.IsCluster())
	require.Len(t, s.Nodes, 1)
	assert.Equal(t, Node{Addr: s.Addr, Active: true, State: StateActive}, s.Nodes[0])
	assert.Empty(t, s.Standby())
	ctx := testContext(t)
	_, err := s.StopActive(ctx)
	assert.ErrorIs(t, err, ErrNotCluster)
	_, err = s.Status(ctx)
	assert.ErrorIs(t, err, ErrNotCluster)
	active, err := s.ActiveAddr(ctx)
	require.NoError(t, err)
	assert.Equal(t, s.Addr, active)
}

func TestClusterOptionValidated(t *testing.T) {
	_, err := Start(testContext(t), Options{Cluster: 10})
	assert.Error(t, err)
	_, err = Start(testContext(t), Options{Cluster: -1})
	assert.Error(t, err)
}
