package edge_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/admin"
	"github.com/edgesdk/edge/edgetest"
)

// unixVault serves the test Vault on a unix socket, through a reverse
// proxy, and returns its unix:// address.
func unixVault(t *testing.T) string {
	t.Helper()
	vault := edgetest.Start(t)
	sock := filepath.Join(t.TempDir(), "vault.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	target, err := url.Parse(vault.Addr())
	require.NoError(t, err)
	srv := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target)}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "unix://" + sock
}

// TestCallerClientUntouched runs, with -race, the caller's own requests on
// its client while a session, the receiving side and admin use clients
// made from it: over a unix socket (vault/api rewrites the transport of a
// client with a unix:// address) and over TCP. Nothing they do reaches
// the caller's client, and a later SetAddress or SetToken on the caller's
// client does not redirect the session.
func TestCallerClientUntouched(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		addr func(t *testing.T) string
	}{
		{"unix socket", unixVault},
		{"tcp", func(*testing.T) string { return vault.Addr() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := vault.NewUser(t)
			org := vault.NewOrg(t, u)
			caller, err := api.NewClient(&api.Config{Address: tc.addr(t)})
			require.NoError(t, err)
			caller.SetToken(u.Token)
			transport := caller.CloneConfig().HttpClient.Transport

			var wg sync.WaitGroup
			stop := make(chan struct{})
			wg.Add(1)
			go func() { // the caller keeps using its own client
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, err := caller.Auth().Token().LookupSelfWithContext(ctx)
					assert.NoError(t, err)
				}
			}()
			var sess *edge.Session
			for i := range 5 { // sessions, receivers made while the caller works
				s, err := edge.NewSession(ctx, edge.Config{Client: caller, Org: org, Mount: vault.Mount()})
				require.NoError(t, err)
				t.Cleanup(func() { _ = s.Close() })
				sess = s
				name := "iso" + string(rune('a'+i))
				require.NoError(t, s.Secrets.CreateUserSecret(ctx, name, edge.Secret{"i": i}))
				w, err := s.Secrets.WrapUserSecret(ctx, name)
				require.NoError(t, err)
				_, err = edge.VerifyWrapped(ctx, caller, w.Token, edge.UserSecretOrigin(u.EntityID, name))
				require.NoError(t, err)
				_, err = edge.Unwrap(ctx, caller, w.Token)
				require.NoError(t, err)
				op, err := admin.New(admin.Config{Client: caller, Mount: vault.Mount()})
				require.NoError(t, err)
				_, err = op.Members(ctx, org) // a user may not read groups
				require.ErrorIs(t, err, edge.ErrPermissionDenied)
			}
			close(stop)
			wg.Wait()

			assert.Equal(t, u.Token, caller.Token(), "the unwraps did not set the caller's token")
			assert.Same(t, transport, caller.CloneConfig().HttpClient.Transport, "the caller keeps its transport")

			// The caller moves its client elsewhere and drops its
			// token: the session keeps its own address and token.
			require.NoError(t, caller.SetAddress("http://127.0.0.1:1"))
			caller.SetToken("")
			_, err = sess.Secrets.ReadUserSecret(ctx, "isoa")
			assert.NoError(t, err)
		})
	}
}

// TestWritesSurviveRedirect: a standby that cannot forward answers 307 to
// the active node, and vault/api follows one redirect, re-encoding the
// request. Create and update must arrive there with their value (sent
// as bytes, they arrived as "null": Vault answered 400 "no data
// provided").
func TestWritesSurviveRedirect(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	u := vault.NewUser(t)
	target, err := url.Parse(vault.Addr())
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	var redirected atomic.Int64
	standby := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut || r.Method == http.MethodPost {
			redirected.Add(1)
			http.Redirect(w, r, vault.Addr()+r.URL.RequestURI(), http.StatusTemporaryRedirect)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer standby.Close()
	via, err := edge.NewSession(ctx, edge.Config{Address: standby.URL, Token: u.Token, Mount: vault.Mount()})
	require.NoError(t, err)
	defer via.Close()
	require.NoError(t, via.Secrets.CreateUserSecret(ctx, "redirected", edge.Secret{"v": "created", "n": json.Number("12345678901234567890")}))
	require.NoError(t, via.Secrets.UpdateUserSecret(ctx, "redirected", edge.Secret{"v": "updated"}))
	got, err := via.Secrets.ReadUserSecret(ctx, "redirected")
	require.NoError(t, err)
	assert.Equal(t, "updated", got["v"])
	assert.Equal(t, int64(2), redirected.Load())
}
