package vaulttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotCluster is returned by the cluster methods of a Server that is not
// a cluster (Options.Cluster 0 or 1, or an external Vault).
var ErrNotCluster = errors.New("vaulttest: not a cluster (see Options.Cluster)")

// Node states.
const (
	StateActive  = "active"  // the active node: serves requests itself
	StateStandby = "standby" // unsealed standby: forwards requests to the active node
	StateSealed  = "sealed"  // answers 503 until started (unsealed) again
	StateStopped = "stopped" // refuses connections until started again
)

// Node is one Vault node of a Server.
type Node struct {
	Addr   string // base URL of the node's plain HTTP listener
	Active bool
	ID     string // Raft node id, e.g. "core-1" (empty for a single server)
	State  string // StateActive, StateStandby, StateSealed or StateStopped
}

// ClusterStatus is the state of a cluster.
type ClusterStatus struct {
	Active string // address of the active node, "" if there is none
	// Voters is the number of voters sys/storage/raft/configuration lists;
	// stopped and sealed nodes stay voters.
	Voters int
	Nodes  []Node
	Memory Memory // set by Status only
}

// Memory is devvault's memory use.
type Memory struct {
	RSS     uint64 // resident set size in bytes (Linux; 0 elsewhere)
	PeakRSS uint64 // peak resident set size in bytes (Linux; 0 elsewhere)
	RSSAnon uint64 // of RSS: anonymous memory (Linux; 0 elsewhere)
	RSSFile uint64 // of RSS: mapped files, mostly Raft's BoltDB files (Linux; 0 elsewhere)
	GoSys   uint64 // bytes obtained from the OS by the Go runtime
	GoHeap  uint64 // bytes of Go heap in use
}

// Failover describes a change of the active node made by StopActive,
// SealActive or StepDown. When its method returns, Active and every
// unsealed standby serve requests.
type Failover struct {
	Previous string // the node that was active: now stopped, sealed or a standby
	Active   string // the new active node
	// Election is the time from the start of the stop, seal or step-down
	// until another node was active; Ready until that node and every
	// unsealed standby (forwarding to it) answered requests.
	Election, Ready time.Duration
	Voters          int
	Nodes           []Node // after the failover
}

// IsCluster reports whether the server is a devvault cluster.
func (s *Server) IsCluster() bool { return s.cluster }

// Status reports which node is active, the Raft voters, every node's state
// and devvault's memory use.
func (s *Server) Status(ctx context.Context) (*ClusterStatus, error) {
	r, err := s.control(ctx, "status")
	if err != nil {
		return nil, err
	}
	st := r.status()
	if m := r.Memory; m != nil {
		st.Memory = Memory{
			RSS: m.RSSBytes, PeakRSS: m.PeakRSSBytes, RSSAnon: m.RSSAnonBytes, RSSFile: m.RSSFileBytes,
			GoSys: m.GoSysBytes, GoHeap: m.GoHeapBytes,
		}
	}
	return st, nil
}

// ActiveAddr asks the cluster which node is active now ("" if none); for a
// single server it is Addr.
func (s *Server) ActiveAddr(ctx context.Context) (string, error) {
	if !s.cluster {
		return s.Addr, nil
	}
	st, err := s.Status(ctx)
	if err != nil {
		return "", err
	}
	return st.Active, nil
}

// Standby returns the address of a standby as of Start or the last cluster
// method, "" if there is none (or the server is not a cluster). Point a
// client at it to model a load balancer: a standby forwards every request
// to whichever node is active.
func (s *Server) Standby() string {
	if sb := s.Standbys(); len(sb) > 0 {
		return sb[0]
	}
	return ""
}

// Standbys returns the addresses of all standbys as of Start or the last
// cluster method.
func (s *Server) Standbys() []string {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	var out []string
	for _, n := range s.nodes {
		if n.State == StateStandby {
			out = append(out, n.Addr)
		}
	}
	return out
}

// StopActive stops the active node (its listener, then its core, which
// hands Raft leadership over) and returns once another node is active and
// every unsealed standby serves requests. The stopped node refuses
// connections until StartNode. It fails, without stopping anything, if the
// remaining nodes would be no Raft quorum (a 3-node cluster can lose one
// node: StartNode the stopped one, or use StepDown, for a second failover).
//
// As with a real Vault, a standby whose forwarded request is cut off by
// the stop answers it with a 307 redirect to the stopped node (its plain
// address): a client that follows it and keeps retrying there gets
// connections refused until StartNode, while the standby serves again
// once the election is over.
func (s *Server) StopActive(ctx context.Context) (*Failover, error) {
	return s.failover(ctx, "stop-active")
}

// SealActive seals the active node, which then answers 503 until StartNode
// unseals it; another node takes over as with StopActive.
func (s *Server) SealActive(ctx context.Context) (*Failover, error) {
	return s.failover(ctx, "seal-active")
}

// StepDown makes the active node step down (sys/step-down): another node
// becomes active and the old one stays a standby.
//
// Vault keeps a node that stepped down from taking the active role again
// for 10 s (an uninterruptible sleep). Should Raft hand its leadership to
// that node in a failover within those 10 s (StopActive, SealActive,
// StepDown), no node is active until they are over, and Failover.Election
// shows up to 10 s; stopping or sealing that node also waits for them.
func (s *Server) StepDown(ctx context.Context) (*Failover, error) {
	return s.failover(ctx, "step-down")
}

// StopNode stops the node at addr (active or standby; a stopped active
// node fails over as with StopActive) and waits until the cluster serves
// requests.
func (s *Server) StopNode(ctx context.Context, addr string) (*ClusterStatus, error) {
	return s.nodeOp(ctx, "stop", addr)
}

// SealNode seals the node at addr, see SealActive.
func (s *Server) SealNode(ctx context.Context, addr string) (*ClusterStatus, error) {
	return s.nodeOp(ctx, "seal", addr)
}

// StartNode starts the stopped node at addr again (a new core on its Raft
// data, on the same address) or unseals it if it is sealed, and returns
// once it is a standby serving requests.
func (s *Server) StartNode(ctx context.Context, addr string) (*ClusterStatus, error) {
	return s.nodeOp(ctx, "start", addr)
}

func (s *Server) nodeOp(ctx context.Context, op, addr string) (*ClusterStatus, error) {
	addr = strings.TrimRight(addr, "/")
	if addr == "" || strings.ContainsAny(addr, " \t\r\n") {
		return nil, fmt.Errorf("vaulttest: %s: invalid node address %q", op, addr)
	}
	r, err := s.control(ctx, op+" "+addr)
	if err != nil {
		return nil, err
	}
	return r.status(), nil
}

func (s *Server) failover(ctx context.Context, op string) (*Failover, error) {
	r, err := s.control(ctx, op)
	if err != nil {
		return nil, err
	}
	return &Failover{
		Previous: r.PreviousActive,
		Active:   r.Active,
		Election: msDuration(r.ElectionMS),
		Ready:    msDuration(r.ReadyMS),
		Voters:   r.Voters,
		Nodes:    nodesOf(r.Nodes),
	}, nil
}

// control sends one command to devvault and waits for its answer. Commands
// are numbered: the answer to a command whose caller gave up (ctx) is
// skipped by the next one.
func (s *Server) control(ctx context.Context, cmd string) (*controlReply, error) {
	if !s.cluster {
		return nil, ErrNotCluster
	}
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	s.ctlID++
	id := s.ctlID
	op, _, _ := strings.Cut(cmd, " ")
	select {
	case <-s.exited:
		return nil, fmt.Errorf("vaulttest: %s: devvault is not running (%s)%s", op, s.exitDescription(), s.stderrTail())
	default:
	}
	if _, err := fmt.Fprintf(s.stdin, "%d %s\n", id, cmd); err != nil {
		return nil, fmt.Errorf("vaulttest: %s: sending the command to devvault: %w", op, err)
	}
	for {
		select {
		case line, ok := <-s.replies:
			if !ok {
				s.waitExit(5 * time.Second)
				return nil, fmt.Errorf("vaulttest: %s: devvault exited (%s)%s", op, s.exitDescription(), s.stderrTail())
			}
			var r controlReply
			if err := json.Unmarshal(line, &r); err != nil || r.ID != id {
				continue // not ours: the answer to an abandoned command
			}
			s.setState(r.Active, nodesOf(r.Nodes))
			if !r.OK {
				return &r, fmt.Errorf("vaulttest: %s: %s", op, r.Error)
			}
			return &r, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("vaulttest: %s: %w (devvault goes on with it)", op, context.Cause(ctx))
		}
	}
}

func (r *controlReply) status() *ClusterStatus {
	return &ClusterStatus{Active: r.Active, Voters: r.Voters, Nodes: nodesOf(r.Nodes)}
}

func (s *Server) setState(active string, nodes []Node) {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if active != "" {
		s.active = active
	}
	s.nodes = append([]Node(nil), nodes...)
}

// target is where Do sends requests: Addr, or for a cluster the last known
// active node.
func (s *Server) target() string {
	if !s.cluster {
		return s.Addr
	}
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if s.active != "" {
		return s.active
	}
	return s.Addr
}

func nodesOf(in []nodeOutput) []Node {
	out := make([]Node, len(in))
	for i, n := range in {
		out[i] = Node{Addr: strings.TrimRight(n.Address, "/"), Active: n.Active, ID: n.ID, State: n.State}
	}
	return out
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
