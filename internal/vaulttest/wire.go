// Code generated from cmd/edge-devvault/wire.go by "go test -run TestWire -update"; DO NOT EDIT.

package vaulttest

// The JSON that devvault writes on stdout: one line once it is ready
// (output), then one line per control command (controlReply).
//
// internal/vaulttest/wire.go in github.com/edgesdk/edge is this file with
// its package clause changed, written by "go test ./internal/vaulttest
// -run TestWire -update" there and checked by that test, so that both
// ends of the protocol read the same types.

// output is the line printed on stdout once the server is ready.
type output struct {
	Address   string `json:"address"`    // base URL; for a cluster, the active node's
	RootToken string `json:"root_token"` // the root token
	Mount     string `json:"mount"`      // the KV version 2 mount path
	// CACert is, with -tls, the path of the PEM file of the CA that signed
	// the server's certificate (in a private temporary directory removed
	// at exit); "" for plain HTTP.
	CACert string `json:"ca_cert,omitempty"`
	// ClientCert and ClientKey are, with -tls-client-auth, the paths of
	// the PEM files of a client certificate that the server requires and
	// accepts and of its key (PKCS #8, file mode 0600), in the directory
	// of CACert; "" otherwise.
	ClientCert string `json:"client_cert,omitempty"`
	ClientKey  string `json:"client_key,omitempty"`

	// Cluster mode only.
	Nodes     []nodeOutput `json:"nodes,omitempty"`
	Voters    int          `json:"voters,omitempty"`     // in sys/storage/raft/configuration
	ClusterMS float64      `json:"cluster_ms,omitempty"` // until every node was a voter serving requests
	StartupMS float64      `json:"startup_ms,omitempty"` // until ready, the setup included
}

// nodeOutput describes one cluster node in the JSON output and in control
// replies.
type nodeOutput struct {
	Address string `json:"address"` // plain HTTP base URL of the node
	Active  bool   `json:"active"`
	ID      string `json:"id"`    // Raft node id, e.g. "core-1"
	State   string `json:"state"` // active, standby, sealed or stopped
}

// controlReply is the JSON line answering one control command.
type controlReply struct {
	ID    uint64 `json:"id,omitempty"` // the command's id, if it had one
	Op    string `json:"op"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`

	Node           string `json:"node,omitempty"`            // the node the command acted on
	PreviousActive string `json:"previous_active,omitempty"` // active node before the command
	Active         string `json:"active"`                    // active node after the command, "" if none
	// ElectionMS is the time from the start of the stop, seal or step-down
	// of the active node until another node was active; ReadyMS until the
	// new active node and every other unsealed node (forwarding to it)
	// answered requests.
	ElectionMS float64       `json:"election_ms,omitempty"`
	ReadyMS    float64       `json:"ready_ms,omitempty"`
	Voters     int           `json:"voters"` // voters in sys/storage/raft/configuration
	Nodes      []nodeOutput  `json:"nodes"`
	Memory     *memoryOutput `json:"memory,omitempty"` // status only
}

type memoryOutput struct {
	RSSBytes     uint64 `json:"rss_bytes"`      // resident set size (Linux; 0 elsewhere)
	PeakRSSBytes uint64 `json:"peak_rss_bytes"` // peak resident set size (Linux; 0 elsewhere)
	RSSAnonBytes uint64 `json:"rss_anon_bytes"` // of RSS: anonymous memory (Linux; 0 elsewhere)
	RSSFileBytes uint64 `json:"rss_file_bytes"` // of RSS: mapped files, i.e. Raft's BoltDB files (Linux; 0 elsewhere)
	GoSysBytes   uint64 `json:"go_sys_bytes"`   // memory obtained from the OS by the Go runtime
	GoHeapBytes  uint64 `json:"go_heap_bytes"`  // Go heap in use
}
