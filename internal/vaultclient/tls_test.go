package vaultclient

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge/internal/tlstest"
	"github.com/edgesdk/edge/internal/vaulterr"
)

// TestTLSFailuresAreNotRetriedNorLost (issue 20, bad TLS): a TLS setup
// that cannot work fails after one attempt (go-retryablehttp retried TLS
// to a plain port and a server's TLS alert), and no attempt counts as
// one that may have reached Vault (every failed handshake did: a create
// became ErrUnknownOutcome, an unwrap was reported as a redeemed token).
func TestTLSFailuresAreNotRetriedNorLost(t *testing.T) {
	ca, otherCA := tlstest.NewCA(t), tlstest.NewCA(t)
	good := ca.Issue(t, tlstest.Leaf{})
	tests := []struct {
		name  string
		setup func(t *testing.T) (srv *tlstest.Server, addr string, trusted *tlstest.CA)
	}{
		{"unknown CA", func(t *testing.T) (*tlstest.Server, string, *tlstest.CA) {
			srv := tlstest.NewTLSServer(t, good, nil, nil)
			return srv, srv.URL, otherCA
		}},
		{"hostname mismatch", func(t *testing.T) (*tlstest.Server, string, *tlstest.CA) {
			srv := tlstest.NewTLSServer(t, ca.Issue(t, tlstest.Leaf{DNSNames: []string{"vault.example.com"}}), nil, nil)
			return srv, srv.URL, ca
		}},
		{"expired certificate", func(t *testing.T) (*tlstest.Server, string, *tlstest.CA) {
			srv := tlstest.NewTLSServer(t, ca.Issue(t, tlstest.Leaf{Expired: true}), nil, nil)
			return srv, srv.URL, ca
		}},
		{"plain HTTP to a TLS port", func(t *testing.T) (*tlstest.Server, string, *tlstest.CA) {
			srv := tlstest.NewTLSServer(t, good, nil, nil)
			return srv, "http://" + srv.Listener.Addr().String(), ca
		}},
		{"TLS to a plain port", func(t *testing.T) (*tlstest.Server, string, *tlstest.CA) {
			srv := tlstest.NewPlainServer(t, nil)
			return srv, "https://" + srv.Listener.Addr().String(), ca
		}},
		{"client certificate required", func(t *testing.T) (*tlstest.Server, string, *tlstest.CA) {
			srv := tlstest.NewTLSServer(t, good, &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()}, nil)
			return srv, srv.URL, ca
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, addr, trusted := tt.setup(t)
			cfg := api.DefaultConfig()
			require.NoError(t, cfg.Error)
			require.NoError(t, cfg.ConfigureTLS(&api.TLSConfig{CACert: trusted.File(t)}))
			cfg.Address = addr
			cfg.MaxRetries, cfg.MinRetryWait, cfg.MaxRetryWait = 2, time.Millisecond, time.Millisecond
			caller, err := api.NewClient(cfg)
			require.NoError(t, err)
			c, err := Own(caller)
			require.NoError(t, err)
			c.SetToken("t")

			for i, track := range []func(context.Context) (context.Context, *Attempts){Track, TrackOnce} {
				ctx, a := track(context.Background())
				_, err = c.Logical().WriteWithContext(ctx, "secret/data/x", map[string]any{"data": map[string]any{"k": "v"}})
				require.Error(t, err)
				assert.True(t, vaulterr.IsTLSOrConfig(err), "IsTLSOrConfig: %v", err)
				assert.False(t, vaulterr.Unavailable(err), "Unavailable: %v", err)
				assert.Equal(t, 1, a.N(), "attempts")
				assert.False(t, a.Lost(), "an attempt may have reached Vault")
				assert.Equal(t, i+1, srv.Conns(), "connections")
			}
		})
	}
}
