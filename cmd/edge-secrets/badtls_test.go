package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/edgesdk/edge/internal/tlstest"
)

// TestBadTLSExitCode (issue 20, bad TLS): a TLS setup that cannot work
// ends edge-secrets with exit 11, naming the address and the cause, after
// one attempt, with the token nowhere on standard error (cli checks). It
// was exit 9, "Vault unavailable ... try again", after three attempts for
// some; a CA file that does not exist was exit 2, usage.
func TestBadTLSExitCode(t *testing.T) {
	t.Parallel()
	ca, otherCA := tlstest.NewCA(t), tlstest.NewCA(t)
	good := ca.Issue(t, tlstest.Leaf{})
	token := secret("hvs.BADTLS-cli-fake-token-0123456789")
	tests := []struct {
		name   string
		setup  func(t *testing.T) (srv *tlstest.Server, addr, caFile string)
		args   []string
		stdin  string
		conns  int
		expect string // part of the cause on standard error
	}{
		{"read, unknown CA", func(t *testing.T) (*tlstest.Server, string, string) {
			srv := tlstest.NewTLSServer(t, good, nil, nil)
			return srv, srv.URL, otherCA.File(t)
		}, []string{"read", "db"}, "", 1, "unknown authority"},
		{"unwrap, unknown CA", func(t *testing.T) (*tlstest.Server, string, string) {
			srv := tlstest.NewTLSServer(t, good, nil, nil)
			return srv, srv.URL, otherCA.File(t)
		}, []string{"unwrap"}, secret("hvs.BADTLS-cli-fake-wrapping-token-0123456789"), 1, "unknown authority"},
		{"read, CA file that does not exist", func(t *testing.T) (*tlstest.Server, string, string) {
			srv := tlstest.NewTLSServer(t, good, nil, nil)
			return srv, srv.URL, filepath.Join(t.TempDir(), "missing-ca.pem")
		}, []string{"read", "db"}, "", 0, "missing-ca.pem"},
		{"read, TLS to a plain port", func(t *testing.T) (*tlstest.Server, string, string) {
			srv := tlstest.NewPlainServer(t, nil)
			return srv, "https://" + srv.Listener.Addr().String(), ca.File(t)
		}, []string{"read", "db"}, "", 1, "HTTP response to HTTPS client"},
		{"read, plain HTTP to a TLS port", func(t *testing.T) (*tlstest.Server, string, string) {
			srv := tlstest.NewTLSServer(t, good, nil, nil)
			return srv, "http://" + srv.Listener.Addr().String(), ca.File(t)
		}, []string{"read", "db"}, "", 1, "HTTPS server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, addr, caFile := tt.setup(t)
			env := []string{"VAULT_ADDR=" + addr, "VAULT_CACERT=" + caFile, "VAULT_TOKEN=" + token, "EDGE_ORG=acme"}
			stderr := fails(t, ExitConfig, env, tt.stdin, tt.args...)
			assert.Contains(t, stderr, addr, "names the address")
			assert.Contains(t, stderr, tt.expect, "names the cause")
			assert.NotContains(t, stderr, token)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %s", stderr)
			assert.Equal(t, tt.conns, srv.Conns(), "connections: not retried")
		})
	}
}
