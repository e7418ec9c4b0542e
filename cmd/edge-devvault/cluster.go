package main

// Cluster mode (-cluster N): N Vault v1.14.0 cores with Raft storage in this
// process, built the way Vault's own tests build them (vault.NewTestCluster
// with teststorage.MakeRaftBackend and KeepStandbysSealed as in
// teststorage.RaftBackendSetup, followers joined and unsealed as
// testhelpers.RaftClusterJoinNodes does), plus a plain HTTP loopback
// listener per node like single mode's. See the package comment for the
// control commands.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-hclog"
	raftlib "github.com/hashicorp/raft"
	kv "github.com/hashicorp/vault-plugin-secrets-kv"
	"github.com/hashicorp/vault/builtin/credential/approle"
	"github.com/hashicorp/vault/builtin/credential/userpass"
	"github.com/hashicorp/vault/helper/namespace"
	"github.com/hashicorp/vault/helper/testhelpers/teststorage"
	vaulthttp "github.com/hashicorp/vault/http"
	"github.com/hashicorp/vault/physical/raft"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/vault"
	"github.com/mitchellh/go-testing-interface"
)

// Node states reported in nodeOutput.State.
const (
	stateActive  = "active"
	stateStandby = "standby"
	stateSealed  = "sealed"
	stateStopped = "stopped"
)

const (
	// opTimeout bounds one control operation (stop, seal, step-down, start).
	opTimeout = 2 * time.Minute
	// probeTimeout bounds one readiness probe request.
	probeTimeout = 3 * time.Second
)

type clusterNode struct {
	idx        int
	id         string // Raft node id, "core-<idx>"
	listenAddr string // host:port of the plain listener, kept across restarts
	addr       string // "http://" + listenAddr

	// Guarded by devCluster.mu.
	core        *vault.Core
	http        *http.Server
	stopped     bool
	storageOpen bool
}

// devCluster is a running cluster. Control operations run one at a time
// (from the command loop); mu guards the node table, which the Raft address
// provider and the HTTP handlers read concurrently. mu is never held while
// calling into Vault.
type devCluster struct {
	tc        *vault.TestCluster
	tcOpts    *vault.TestClusterOptions
	tmpDir    string   // everything on disk, removed by shutdown
	raftDirs  []string // per node, kept across restarts
	rootToken string
	logger    hclog.Logger
	muxCheck  func() error
	probe     *http.Client
	serveErr  chan error

	mu        sync.Mutex
	nodes     []*clusterNode
	redirects map[string]string // a core's redirect address (its TLS API listener) -> the node's plain address
}

// raftPerformanceMultiplier scales Raft's timeouts: a follower starts an
// election after 1 to 2 s without a heartbeat, and a leader steps down when
// no quorum answered within its lease of 0.5 s, each times the multiplier.
// It is 5, Vault's server default (Vault's own test storage uses 8). All
// nodes run in one process, usually under -race next to other tests: with
// 2 the lease was 1 s, a stall of the process that long made the leader
// step down, and once a new leader's post-unseal setup (CPU heavy under
// -race) stalled it again the cluster went on losing its quorum, once for
// about 50 s. With 5 a stall must last 2.5 s to cost the leadership.
// Failovers do not wait for these timeouts (a stopped or stepped-down
// active node hands its leadership over); startup does: the first core
// waits 5 to 10 s for each of its two single-node elections (at
// initialisation and at unseal), where 2 waited 2 to 4 s.
const raftPerformanceMultiplier = "5"

// raftBackend is the cluster's PhysicalFactory: teststorage.MakeRaftBackend
// (what teststorage.RaftBackendSetup uses) on a directory of the node's that
// outlives the core, as teststorage.MakeReusableRaftStorage keeps them, so
// that a stopped node can be started again on its data, with the address
// provider installed before Raft starts.
func (c *devCluster) raftBackend(t testing.T, coreIdx int, logger hclog.Logger, _ map[string]interface{}) *vault.PhysicalBackendBundle {
	b := teststorage.MakeRaftBackend(t, coreIdx, logger, map[string]interface{}{
		"path":                   c.raftDirs[coreIdx],
		"performance_multiplier": raftPerformanceMultiplier,
	})
	b.Backend.(*raft.RaftBackend).SetServerAddressProvider(raftAddrProvider{c})
	return b
}

// raftAddrProvider resolves Raft node ids to the current cluster address of
// the node's core, like testhelpers.TestRaftServerAddressProvider, but from
// devCluster's node table so that restarted cores (new ports) are found.
type raftAddrProvider struct{ c *devCluster }

func (p raftAddrProvider) ServerAddr(id raftlib.ServerID) (raftlib.ServerAddress, error) {
	p.c.mu.Lock()
	var core *vault.Core
	for _, n := range p.c.nodes {
		if n.id == string(id) {
			core = n.core
		}
	}
	p.c.mu.Unlock()
	if core == nil {
		return "", fmt.Errorf("unknown raft node %q", id)
	}
	u, err := url.Parse(core.ClusterAddr())
	if err != nil {
		return "", err
	}
	return raftlib.ServerAddress(u.Host), nil
}

// startCluster starts an n node Raft cluster, joins and unseals every node
// and waits until all of them are voters and serve requests (standbys by
// forwarding them to the active node).
//
// Autopilot is disabled, as in Vault's own Raft tests: nodes then join as
// voters right away. With autopilot, a freshly joined node stays a
// non-voter for the server stabilization time, and an active node lost in
// that window is never replaced. Without it, dead nodes also stay voters,
// so a stopped node can be started again and rejoin.
func startCluster(ctx context.Context, n int, listen string, logger hclog.Logger, muxCheck func() error) (c *devCluster, err error) {
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("invalid -listen %q: %v", listen, err)
	}
	basePort, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("invalid -listen port %q", portStr)
	}
	tmp, err := os.MkdirTemp("", "devvault-cluster-")
	if err != nil {
		return nil, err
	}
	// Vault's test helpers make temporary directories in os.TempDir(): keep
	// everything under one directory, removed at shutdown.
	if runtime.GOOS != "windows" {
		_ = os.Setenv("TMPDIR", tmp)
	}
	// On Linux, Vault maps its BoltDB files with MAP_POPULATE, which makes
	// every node's files resident at once; without, only what is used.
	_ = os.Setenv("VAULT_RAFT_DISABLE_MAP_POPULATE", "1")
	raftDirs := make([]string, n)
	for i := range raftDirs {
		raftDirs[i] = filepath.Join(tmp, fmt.Sprintf("raft-core-%d", i))
		if err := os.Mkdir(raftDirs[i], 0o700); err != nil {
			_ = os.RemoveAll(tmp)
			return nil, err
		}
	}

	c = &devCluster{
		tmpDir:    tmp,
		raftDirs:  raftDirs,
		logger:    logger,
		muxCheck:  muxCheck,
		serveErr:  make(chan error, n),
		redirects: map[string]string{},
	}
	c.probe = cleanhttp.DefaultPooledClient()
	c.probe.Timeout = probeTimeout
	c.probe.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	defer func() {
		if err != nil {
			c.shutdown()
		}
	}()

	// Followers join with a placeholder cluster address that the address
	// provider replaces (see vault.TestingUpdateClusterAddr).
	atomic.StoreUint32(&vault.TestingUpdateClusterAddr, 1)
	conf := &vault.CoreConfig{
		LogicalBackends: map[string]logical.Factory{
			"kv": kv.Factory,
		},
		CredentialBackends: map[string]logical.Factory{
			"userpass": userpass.Factory,
			"approle":  approle.Factory,
		},
		DisableAutopilot: true,
	}
	c.tcOpts = &vault.TestClusterOptions{
		HandlerFunc:     vaulthttp.Handler,
		NumCores:        n,
		Logger:          logger.Named("vault"),
		TempDir:         filepath.Join(tmp, "cluster"),
		KVVersion:       "2",
		NoDefaultQuotas: true,
		// As teststorage.RaftBackendSetup: only core 0 is initialised and
		// unsealed by NewTestCluster, the others join below.
		KeepStandbysSealed: true,
		PhysicalFactory:    c.raftBackend,
	}
	err = tryT(func(t *runtimeT) {
		c.tc = vault.NewTestCluster(t, conf, c.tcOpts)
	})
	if err != nil {
		return nil, fmt.Errorf("starting vault cluster: %w", err)
	}
	c.rootToken = c.tc.RootToken

	c.mu.Lock()
	for i, tcc := range c.tc.Cores {
		port := 0
		if basePort != 0 {
			port = basePort + i
		}
		c.nodes = append(c.nodes, &clusterNode{
			idx:         i,
			id:          tcc.NodeID,
			listenAddr:  net.JoinHostPort(host, strconv.Itoa(port)),
			core:        tcc.Core,
			storageOpen: true,
		})
	}
	c.mu.Unlock()
	for _, node := range c.nodes {
		if err := c.serve(node); err != nil {
			return nil, err
		}
	}

	// Join the followers to core 0 (initialised and unsealed by
	// NewTestCluster) and unseal them, as testhelpers.RaftClusterJoinNodes
	// does, but all at once (an unseal after a join takes a second); the
	// address provider is already in place.
	leader := c.tc.Cores[0]
	infos := []*raft.LeaderJoinInfo{{LeaderAPIAddr: leader.Client.Address(), TLSConfig: leader.TLSConfig()}}
	joinErrs := make([]error, n)
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		tcc := c.tc.Cores[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := tcc.JoinRaftCluster(namespace.RootContext(ctx), infos, false); err != nil {
				joinErrs[i] = fmt.Errorf("node %s joining the raft cluster: %w", tcc.NodeID, err)
				return
			}
			if err := tryT(func(t *runtimeT) { c.tc.UnsealCore(t, tcc) }); err != nil {
				joinErrs[i] = fmt.Errorf("unsealing node %s: %w", tcc.NodeID, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(joinErrs...); err != nil {
		return nil, err
	}

	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	if _, err := c.waitServing(ctx, -1, n, all...); err != nil {
		return nil, fmt.Errorf("waiting for the cluster: %w", err)
	}
	return c, nil
}

// serve starts the plain HTTP listener of node n for its current core.
func (c *devCluster) serve(n *clusterNode) error {
	// The mux check ran at startup; repeat it for every listener (it is
	// cheap) so that no node is ever served without it.
	if err := c.muxCheck(); err != nil {
		return err
	}
	c.mu.Lock()
	core, listenAddr := n.core, n.listenAddr
	c.mu.Unlock()
	ln, err := net.Listen("tcp", listenAddr)
	if err != nil {
		return fmt.Errorf("node %s: listen on %s: %w", n.id, listenAddr, err)
	}
	hs := newHTTPServer(core, ln.Addr().String(), c.logger)
	hs.Handler = &redirectRewriter{c: c, next: hs.Handler}

	c.mu.Lock()
	n.listenAddr = ln.Addr().String()
	n.addr = "http://" + n.listenAddr
	n.http = hs
	c.redirects[c.tc.Cores[n.idx].CoreConfig.RedirectAddr] = n.addr
	c.mu.Unlock()
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			select {
			case c.serveErr <- fmt.Errorf("node %s: %w", n.id, err):
			default:
			}
		}
	}()
	return nil
}

// redirectRewriter points redirects to a core's redirect address (the TLS
// listener NewTestCluster gives every core, with a CA clients do not know)
// to the node's plain listener instead. A standby answers with such a 307
// when it cannot forward a request to the active node, e.g. during an
// election; clients following it then reach the active node over plain
// HTTP like everything else. The 301 redirects of the hardened ServeMux are
// relative and pass unchanged.
type redirectRewriter struct {
	c    *devCluster
	next http.Handler
}

func (h *redirectRewriter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.next.ServeHTTP(&rewritingWriter{ResponseWriter: w, c: h.c}, r)
}

type rewritingWriter struct {
	http.ResponseWriter
	c *devCluster
}

func (w *rewritingWriter) WriteHeader(code int) {
	if code >= 300 && code < 400 {
		if loc := w.Header().Get("Location"); loc != "" {
			w.Header().Set("Location", w.c.plainLocation(loc))
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *rewritingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *rewritingWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *rewritingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (c *devCluster) plainLocation(loc string) string {
	u, err := url.Parse(loc)
	if err != nil || u.Host == "" {
		return loc
	}
	c.mu.Lock()
	plain, ok := c.redirects[u.Scheme+"://"+u.Host]
	c.mu.Unlock()
	if !ok {
		return loc
	}
	p, err := url.Parse(plain)
	if err != nil {
		return loc
	}
	u.Scheme, u.Host = p.Scheme, p.Host
	return u.String()
}

// nodeState is a snapshot of one node.
type nodeState struct {
	n       *clusterNode
	core    *vault.Core
	addr    string
	stopped bool
}

func (c *devCluster) snapshot() []nodeState {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]nodeState, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = nodeState{n: n, core: n.core, addr: n.addr, stopped: n.stopped}
	}
	return out
}

func (s nodeState) state() string {
	switch {
	case s.stopped:
		return stateStopped
	case s.core.Sealed():
		return stateSealed
	}
	if standby, _ := s.core.Standby(); standby {
		return stateStandby
	}
	return stateActive
}

// nodesOutput describes every node; active is the index of the active
// node (as found by the caller) or -1.
func (c *devCluster) nodesOutput() (nodes []nodeOutput, active string) {
	for _, s := range c.snapshot() {
		st := s.state()
		nodes = append(nodes, nodeOutput{Address: s.addr, Active: st == stateActive, ID: s.n.id, State: st})
		if st == stateActive && active == "" {
			active = s.addr
		}
	}
	return nodes, active
}

// activeNode returns the index of an unsealed, running, active node other
// than exclude, or -1.
func (c *devCluster) activeNode(exclude int) int {
	for i, s := range c.snapshot() {
		if i != exclude && !s.stopped && s.state() == stateActive {
			return i
		}
	}
	return -1
}

// liveCount is the number of running, unsealed nodes.
func (c *devCluster) liveCount() int {
	live := 0
	for _, s := range c.snapshot() {
		if !s.stopped && !s.core.Sealed() {
			live++
		}
	}
	return live
}

// get sends a GET with the root token to a node's plain listener.
func (c *devCluster) get(ctx context.Context, addr, path string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-Vault-Token", c.rootToken)
	req.Header.Set("X-Vault-Request", "true")
	resp, err := c.probe.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// put sends a PUT without body with the root token to a node's plain
// listener and expects a 2xx answer.
func (c *devCluster) put(ctx context.Context, addr, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, addr+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Vault-Token", c.rootToken)
	req.Header.Set("X-Vault-Request", "true")
	client := *c.probe
	client.Timeout = time.Minute
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PUT %s: status %d: %s", path, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// voters reads sys/storage/raft/configuration from a node and counts the
// voters.
func (c *devCluster) voters(ctx context.Context, addr string) (int, error) {
	status, body, err := c.get(ctx, addr, "/v1/sys/storage/raft/configuration")
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("sys/storage/raft/configuration: status %d", status)
	}
	var resp struct {
		Data struct {
			Config struct {
				Servers []struct {
					NodeID string `json:"node_id"`
					Voter  bool   `json:"voter"`
				} `json:"servers"`
			} `json:"config"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return 0, fmt.Errorf("sys/storage/raft/configuration: %w", err)
	}
	voters := 0
	for _, s := range resp.Data.Config.Servers {
		if s.Voter {
			voters++
		}
	}
	return voters, nil
}

// waitServing waits until exactly one node is active, the nodes needUp are
// running and unsealed, every running and unsealed node serves requests
// (the active node sys/health, every standby a token lookup, which it
// forwards to the active node) and, if wantVoters > 0,
// sys/storage/raft/configuration lists that many voters. want is the index
// of the node that must be active, or -1 for any. It returns the index of
// the active node.
func (c *devCluster) waitServing(ctx context.Context, want, wantVoters int, needUp ...int) (int, error) {
	var last error
	for {
		active, err := c.checkServing(ctx, want, wantVoters, needUp)
		if err == nil {
			return active, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("%w (last problem: %v)", context.Cause(ctx), last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *devCluster) checkServing(ctx context.Context, want, wantVoters int, needUp []int) (int, error) {
	snap := c.snapshot()
	for _, i := range needUp {
		if snap[i].stopped || snap[i].core.Sealed() {
			return -1, fmt.Errorf("node %s is not up yet", snap[i].n.id)
		}
	}
	active := -1
	for i, s := range snap {
		if s.stopped {
			continue
		}
		if s.state() == stateActive {
			if active >= 0 {
				return -1, fmt.Errorf("nodes %s and %s are both active", snap[active].n.id, s.n.id)
			}
			active = i
		}
	}
	if active < 0 {
		return -1, errors.New("no active node")
	}
	if want >= 0 && active != want {
		return -1, fmt.Errorf("node %s is active, not %s", snap[active].n.id, snap[want].n.id)
	}
	if status, _, err := c.get(ctx, snap[active].addr, "/v1/sys/health"); err != nil || status != http.StatusOK {
		return -1, fmt.Errorf("active node %s: sys/health: status %d, %v", snap[active].n.id, status, err)
	}
	for i, s := range snap {
		if i == active || s.stopped || s.core.Sealed() {
			continue
		}
		status, _, err := c.get(ctx, s.addr, "/v1/auth/token/lookup-self")
		if err != nil || status != http.StatusOK {
			return -1, fmt.Errorf("standby %s: forwarded token lookup: status %d, %v", s.n.id, status, err)
		}
	}
	if wantVoters > 0 {
		v, err := c.voters(ctx, snap[active].addr)
		if err != nil {
			return -1, err
		}
		if v != wantVoters {
			return -1, fmt.Errorf("%d raft voters, want %d", v, wantVoters)
		}
	}
	return active, nil
}

// changeActive runs act, which stops, seals or steps down the active node
// prev, and waits for another node to become active (the election) and
// for the cluster to serve requests again (ready). act runs concurrently:
// with Raft, the leadership moves while the old active node shuts down.
func (c *devCluster) changeActive(ctx context.Context, prev int, act func() error, r *controlReply) error {
	start := time.Now()
	actDone := make(chan error, 1)
	go func() { actDone <- act() }()
	finished := false
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	next := -1
	for next < 0 {
		if next = c.activeNode(prev); next >= 0 {
			r.ElectionMS = ms(time.Since(start))
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for a new active node: %w", context.Cause(ctx))
		case err := <-actDone:
			if err != nil {
				return err
			}
			finished, actDone = true, nil
		case <-tick.C:
		}
	}
	if _, err := c.waitServing(ctx, next, 0); err != nil {
		return fmt.Errorf("node %s became active after %.0f ms, but: %w", c.nodes[next].id, r.ElectionMS, err)
	}
	r.ReadyMS = ms(time.Since(start))
	if !finished {
		select {
		case err := <-actDone:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}

// stopNode stops node i like a server that is shut down: first its API
// listener, then the core (which hands Raft leadership to another node if
// it has it); its Raft storage stays on disk for startNode.
func (c *devCluster) stopNode(i int) error {
	n := c.nodes[i]
	c.mu.Lock()
	hs := n.http
	n.http = nil
	n.stopped = true
	c.mu.Unlock()
	if hs != nil {
		closeHTTP(hs, 2*time.Second)
	}
	err := tryT(func(t *runtimeT) { c.tc.StopCore(t, i) })
	c.mu.Lock()
	wasOpen := n.storageOpen
	n.storageOpen = false
	c.mu.Unlock()
	if wasOpen {
		if cerr := c.tc.Cores[i].UnderlyingRawStorage.(*raft.RaftBackend).Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing raft storage: %w", cerr))
		}
	}
	if err != nil {
		return fmt.Errorf("stopping node %s: %w", n.id, err)
	}
	return nil
}

// startNode starts a stopped node again (a new core on its Raft storage,
// on the same plain address) or unseals a sealed one, and waits until it
// is a standby serving requests.
func (c *devCluster) startNode(ctx context.Context, i int) error {
	n := c.nodes[i]
	c.mu.Lock()
	stopped := n.stopped
	c.mu.Unlock()
	if stopped {
		if err := tryT(func(t *runtimeT) { c.tc.StartCore(t, i, c.tcOpts) }); err != nil {
			return fmt.Errorf("starting node %s: %w", n.id, err)
		}
		c.mu.Lock()
		n.core = c.tc.Cores[i].Core
		n.stopped = false
		n.storageOpen = true
		c.mu.Unlock()
		if err := c.serve(n); err != nil {
			return err
		}
	} else if !n.core.Sealed() {
		return fmt.Errorf("node %s is running and unsealed", n.id)
	}
	if err := tryT(func(t *runtimeT) { c.tc.UnsealCore(t, c.tc.Cores[i]) }); err != nil {
		return fmt.Errorf("unsealing node %s: %w", n.id, err)
	}
	_, err := c.waitServing(ctx, -1, 0, i)
	return err
}

// quorumAfterLoss fails if taking one more node out would leave the Raft
// cluster without a quorum (no leader could ever be elected).
func (c *devCluster) quorumAfterLoss() error {
	total := len(c.nodes)
	quorum := total/2 + 1
	if live := c.liveCount(); live-1 < quorum {
		return fmt.Errorf("refusing: %d of %d voters would be left, below the quorum of %d (start a node first)", live-1, total, quorum)
	}
	return nil
}

// findNode resolves a node argument: an index, a Raft node id or an
// address.
func (c *devCluster) findNode(arg string) (int, error) {
	snap := c.snapshot()
	if i, err := strconv.Atoi(arg); err == nil && i >= 0 && i < len(snap) {
		return i, nil
	}
	for i, s := range snap {
		if arg == s.n.id || strings.TrimRight(arg, "/") == s.addr {
			return i, nil
		}
	}
	return -1, fmt.Errorf("no node %q", arg)
}

// handle runs one control command line: "[id] command [node]".
func (c *devCluster) handle(ctx context.Context, line string) controlReply {
	fields := strings.Fields(line)
	var r controlReply
	if len(fields) > 0 {
		if id, err := strconv.ParseUint(fields[0], 10, 64); err == nil {
			r.ID = id
			fields = fields[1:]
		}
	}
	if len(fields) == 0 {
		r.Error = "empty command"
		return c.finish(ctx, r)
	}
	r.Op = fields[0]
	args := fields[1:]
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	err := c.run(ctx, r.Op, args, &r)
	if err != nil {
		r.Error = err.Error()
	}
	r.OK = err == nil
	return c.finish(ctx, r)
}

func (c *devCluster) finish(ctx context.Context, r controlReply) controlReply {
	// Also after the command's own deadline.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var active string
	r.Nodes, active = c.nodesOutput()
	r.Active = active
	if active != "" {
		if v, err := c.voters(ctx, active); err == nil {
			r.Voters = v
		}
	}
	return r
}

func (c *devCluster) run(ctx context.Context, op string, args []string, r *controlReply) error {
	wantArgs := 0
	switch op {
	case "stop", "seal", "start":
		wantArgs = 1
	case "status", "stop-active", "seal-active", "step-down":
	default:
		return fmt.Errorf("unknown command %q (status, stop-active, seal-active, step-down, stop NODE, seal NODE, start NODE)", op)
	}
	if len(args) != wantArgs {
		return fmt.Errorf("%s takes %d argument(s)", op, wantArgs)
	}

	target := -1
	if wantArgs == 1 {
		i, err := c.findNode(args[0])
		if err != nil {
			return err
		}
		target = i
		r.Node = c.snapshot()[i].addr
	}
	prev := c.activeNode(-1)
	if prev >= 0 {
		r.PreviousActive = c.snapshot()[prev].addr
	}
	switch op {
	case "status":
		r.PreviousActive = ""
		r.Memory = readMemory()
		return nil
	case "stop-active", "seal-active", "step-down":
		if prev < 0 {
			return errors.New("no active node")
		}
		target = prev
		r.Node = r.PreviousActive
	}

	switch op {
	case "stop", "stop-active", "seal", "seal-active":
		s := c.snapshot()[target]
		if s.stopped {
			return fmt.Errorf("node %s is stopped", s.n.id)
		}
		if s.core.Sealed() {
			return fmt.Errorf("node %s is sealed", s.n.id)
		}
		if err := c.quorumAfterLoss(); err != nil {
			return err
		}
		act := func() error { return c.stopNode(target) }
		if strings.HasPrefix(op, "seal") {
			// In process: sys/seal refuses to seal a standby.
			act = func() error {
				if err := tryT(func(t *runtimeT) { c.tc.Cores[target].Seal(t) }); err != nil {
					return fmt.Errorf("sealing node %s: %w", s.n.id, err)
				}
				return nil
			}
		}
		if target != prev {
			// A standby: no election.
			if err := act(); err != nil {
				return err
			}
			_, err := c.waitServing(ctx, prev, 0)
			return err
		}
		return c.changeActive(ctx, prev, act, r)
	case "step-down":
		if c.liveCount() < 2 {
			return errors.New("no other unsealed node to take over")
		}
		addr := r.PreviousActive
		return c.changeActive(ctx, prev, func() error { return c.put(ctx, addr, "/v1/sys/step-down") }, r)
	case "start":
		return c.startNode(ctx, target)
	}
	return fmt.Errorf("unhandled command %q", op)
}

// shutdownGrace bounds the orderly shutdown of the cores. Stopping every
// node of a Raft cluster at once runs into Raft timeouts (the last nodes
// lose their quorum while they hand over leadership or clear the leader
// advertisement), which can take 10 s and more; nothing of the throwaway
// cluster needs to survive, so the process exits after the grace period.
const shutdownGrace = 2 * time.Second

// shutdown closes every listener, gives the cores shutdownGrace to stop and
// removes the temporary directories. It is safe on a partly started
// cluster.
func (c *devCluster) shutdown() {
	c.mu.Lock()
	var servers []*http.Server
	for _, n := range c.nodes {
		if n.http != nil {
			servers = append(servers, n.http)
			n.http = nil
		}
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, hs := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			closeHTTP(hs, 5*time.Second)
		}()
	}
	wg.Wait()
	if c.tc != nil {
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.tc.Cleanup() // stops every core, also already stopped ones
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, n := range c.nodes {
				if n.storageOpen {
					n.storageOpen = false
					_ = c.tc.Cores[n.idx].UnderlyingRawStorage.(*raft.RaftBackend).Close()
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(shutdownGrace):
			c.logger.Info("cores still stopping, exiting anyway")
		}
	}
	if c.probe != nil {
		c.probe.CloseIdleConnections()
	}
	if err := os.RemoveAll(c.tmpDir); err != nil {
		c.logger.Warn("removing temporary directory", "error", err.Error())
	}
}

func closeHTTP(hs *http.Server, grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		_ = hs.Close()
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// readMemory reports the process's memory use.
func readMemory() *memoryOutput {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	out := &memoryOutput{GoSysBytes: m.Sys, GoHeapBytes: m.HeapInuse}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			var dst *uint64
			switch k {
			case "VmRSS":
				dst = &out.RSSBytes
			case "VmHWM":
				dst = &out.PeakRSSBytes
			case "RssAnon":
				dst = &out.RSSAnonBytes
			case "RssFile":
				dst = &out.RSSFileBytes
			default:
				continue
			}
			if kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64); err == nil {
				*dst = kb << 10
			}
		}
	}
	return out
}

// runCluster is runServer for -cluster: start, provision through the active
// node, print the JSON, then answer control commands until ctx is done.
func runCluster(ctx context.Context, opts *options, logger hclog.Logger, stdout io.Writer, cmds <-chan string, muxCheck func() error) error {
	begin := time.Now()
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	c, err := startCluster(sctx, opts.cluster, opts.listen, logger, muxCheck)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return fmt.Errorf("interrupted during startup: %w", cause)
		}
		return err
	}
	defer c.shutdown()
	clusterReady := time.Since(begin)

	snap := c.snapshot()
	active := c.activeNode(-1)
	if active < 0 {
		return errors.New("no active node after startup")
	}
	client, err := newAPIClient(snap[active].addr, c.rootToken, nil)
	if err != nil {
		return err
	}
	if err := setup(sctx, client, opts.mount); err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return fmt.Errorf("interrupted during startup: %w", cause)
		}
		return fmt.Errorf("setting up: %w", err)
	}
	r := c.finish(sctx, controlReply{})
	out := &output{Address: r.Active, RootToken: c.rootToken, Mount: opts.mount}
	out.Nodes = r.Nodes
	out.Voters = r.Voters
	out.ClusterMS = ms(clusterReady)
	out.StartupMS = ms(time.Since(begin))
	logger.Info("cluster ready", "cluster_ms", out.ClusterMS, "startup_ms", out.StartupMS,
		"raft_performance_multiplier", raftPerformanceMultiplier)
	if err := printJSON(stdout, out); err != nil {
		return err
	}
	announce(out)
	return serve(ctx, logger, stdout, c.serveErr, cmds, c.handle)
}
