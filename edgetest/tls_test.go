package edgetest_test

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
)

// TestStartTLS checks the TLS dev Vault: shared, served over https and
// provisioned like Start's; sessions from Session, Config and NewSession
// work on it, and the clients edgetest gives speak HTTP/2 with it.
func TestStartTLS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.StartTLS(t)
	assert.Same(t, v, edgetest.StartTLS(t))
	require.True(t, strings.HasPrefix(v.Addr(), "https://"), v.Addr())
	if !v.External() {
		assert.NotSame(t, v, edgetest.Start(t))
		assert.FileExists(t, v.CACert())
		assert.Empty(t, edgetest.Start(t).CACert(), "plain HTTP")

		// A client that does not know the CA is refused.
		stranger, err := api.NewClient(&api.Config{Address: v.Addr()})
		require.NoError(t, err)
		_, err = stranger.Logical().ReadRawWithContext(ctx, "sys/health")
		var unknown x509.UnknownAuthorityError
		assert.ErrorAs(t, err, &unknown)
	}

	carol, alice := v.NewUser(t), v.NewUser(t)
	org := v.NewOrg(t, carol)
	v.AddMember(t, org, alice)
	member := v.Session(t, alice, org)
	sessions := []struct {
		name    string
		session func(t *testing.T) *edge.Session
	}{
		{"Session", func(t *testing.T) *edge.Session { return v.Session(t, carol, org) }},
		{"edge.NewSession with Config", func(t *testing.T) *edge.Session {
			sess, err := edge.NewSession(ctx, v.Config(carol, org))
			require.NoError(t, err)
			t.Cleanup(func() { _ = sess.Close() })
			return sess
		}},
		{"NewSession", func(t *testing.T) *edge.Session {
			return v.NewSession(t, edge.Config{Token: carol.Token, Org: org})
		}},
	}
	for _, tt := range sessions {
		t.Run(tt.name, func(t *testing.T) {
			sess := tt.session(t)
			name := edgetest.UniqueName("tls")
			want := edge.Secret{"k": "v"}
			require.NoError(t, sess.Secrets.CreateUserSecret(ctx, name, want))
			got, err := sess.Secrets.ReadUserSecret(ctx, name)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			require.NoError(t, sess.Secrets.CreateOrgSecret(ctx, name, want))
			got, err = member.Secrets.ReadOrgSecret(ctx, name)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}

	clients := []struct {
		name   string
		client *api.Client
	}{
		{"Config's client", v.Config(carol, org).Client},
		{"RootClient", v.RootClient(t)},
	}
	for _, tt := range clients {
		t.Run("HTTP/2 with "+tt.name, func(t *testing.T) {
			require.NotNil(t, tt.client)
			resp, err := tt.client.Logical().ReadRawWithContext(ctx, "auth/token/lookup-self")
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, 200, resp.StatusCode)
			assert.Equal(t, 2, resp.ProtoMajor, "negotiated %s", resp.Proto)
		})
	}
}
