package edgetest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
)

// TestStartMTLS checks the dev Vault that requires client certificates:
// shared, served over https, and every client edgetest makes for it
// (sessions from Session and NewSession, RootClient) presents the client
// certificate, which a client of its own without it lacks.
func TestStartMTLS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.StartMTLS(t)
	assert.Same(t, v, edgetest.StartMTLS(t))
	certFile, keyFile := v.ClientCert()
	require.FileExists(t, v.CACert())
	require.FileExists(t, certFile)
	require.FileExists(t, keyFile)

	// A client that trusts the CA but has no client certificate is
	// refused.
	cfg := &api.Config{Address: v.Addr()}
	require.NoError(t, cfg.ConfigureTLS(&api.TLSConfig{CACert: v.CACert()}))
	cfg.MaxRetries = 0
	stranger, err := api.NewClient(cfg)
	require.NoError(t, err)
	_, err = stranger.Logical().ReadRawWithContext(ctx, "sys/health")
	require.Error(t, err)

	u := v.NewUser(t)
	sessions := []struct {
		name    string
		session func(t *testing.T) *edge.Session
	}{
		{"Session", func(t *testing.T) *edge.Session { return v.Session(t, u, "") }},
		{"NewSession", func(t *testing.T) *edge.Session { return v.NewSession(t, edge.Config{Token: u.Token}) }},
	}
	for _, tt := range sessions {
		t.Run(tt.name, func(t *testing.T) {
			sess := tt.session(t)
			name := edgetest.UniqueName("mtls")
			want := edge.Secret{"k": "v"}
			require.NoError(t, sess.Secrets.CreateUserSecret(ctx, name, want))
			got, err := sess.Secrets.ReadUserSecret(ctx, name)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}

	t.Run("RootClient over HTTP/2", func(t *testing.T) {
		resp, err := v.RootClient(t).Logical().ReadRawWithContext(ctx, "sys/health")
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, 2, resp.ProtoMajor, "negotiated %s", resp.Proto)
	})
}

// TestMTLSFromEnvironment checks that the client certificate that
// VAULT_CLIENT_CERT and VAULT_CLIENT_KEY name reaches the server through
// a vault/api client made from the environment: edge.NewSession with it
// works, and without them fails, with an error that does not show the
// token. It sets environment variables, so it cannot run in parallel.
func TestMTLSFromEnvironment(t *testing.T) {
	ctx := context.Background()
	v := edgetest.StartMTLS(t)
	u := v.NewUser(t)
	certFile, keyFile := v.ClientCert()

	tests := []struct {
		name string
		env  map[string]string
		ok   bool
	}{
		{"with VAULT_CLIENT_CERT and VAULT_CLIENT_KEY", map[string]string{"VAULT_CLIENT_CERT": certFile, "VAULT_CLIENT_KEY": keyFile}, true},
		{"without them", map[string]string{"VAULT_CLIENT_CERT": "", "VAULT_CLIENT_KEY": ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("VAULT_ADDR", v.Addr())
			t.Setenv("VAULT_CACERT", v.CACert())
			for k, val := range tt.env {
				t.Setenv(k, val)
			}
			cfg := api.DefaultConfig()
			require.NoError(t, cfg.Error)
			c, err := api.NewClient(cfg)
			require.NoError(t, err)

			sess, err := edge.NewSession(ctx, edge.Config{Client: c, Token: u.Token, Mount: v.Mount()})
			if !tt.ok {
				require.Error(t, err)
				assert.NotContains(t, err.Error(), u.Token)
				t.Logf("without a client certificate: %v", err)
				if !errors.Is(err, edge.ErrConfig) {
					// Over TLS 1.3 the server refuses the certificate after
					// the client's handshake has ended, and its alert may
					// be lost with the closed connection: x/net then says
					// "http2: client conn could not be established" (or
					// "broken pipe"), and the SDK can only report Vault
					// unreachable. Usually the alert arrives: ErrConfig.
					assert.ErrorIs(t, err, edge.ErrUnavailable)
				}
				return
			}
			require.NoError(t, err)
			t.Cleanup(func() { _ = sess.Close() })
			name := edgetest.UniqueName("mtls-env")
			want := edge.Secret{"k": "v"}
			require.NoError(t, sess.Secrets.CreateUserSecret(ctx, name, want))
			got, err := sess.Secrets.ReadUserSecret(ctx, name)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}
