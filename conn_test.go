package edge_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
)

// TestConnectionsReused: once warmed up, a session opens no new TCP
// connection to Vault for 1,000 operations of all six kinds, from one
// goroutine and from 32 sharing the session. The session works on a copy
// of its caller's transport (Transport.Clone keeps DialContext), so the
// caller's counting dialer sees every connection it opens.
func TestConnectionsReused(t *testing.T) {
	vault := edgetest.Start(t)
	ctx := context.Background()
	u := vault.NewUser(t)
	org := vault.NewOrg(t, u)

	var dials atomic.Int64
	cfg := api.DefaultConfig() // as Config{} would make it, with a counting dialer
	cfg.Address = vault.Addr()
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	cfg.HttpClient.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return d.DialContext(ctx, network, addr)
	}
	caller, err := api.NewClient(cfg)
	require.NoError(t, err)
	caller.SetToken(u.Token)
	sess, err := edge.NewSession(ctx, edge.Config{Client: caller, Org: org, Mount: vault.Mount()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sess.Close() })
	require.NotZero(t, dials.Load(), "the session dials through the caller's DialContext")

	// op is operation i on secret name: the six operations in turn,
	// from a create to a delete, in both scopes.
	x := sess.Secrets
	op := func(name string, i int) error {
		value := edge.Secret{"i": i}
		var err error
		switch i % 6 {
		case 0:
			err = x.CreateUserSecret(ctx, name, value)
		case 1:
			_, err = x.ReadUserSecret(ctx, name)
		case 2:
			err = x.UpdateUserSecret(ctx, name, value)
		case 3:
			_, err = x.WrapUserSecret(ctx, name)
		case 4:
			_, err = x.ListOrgSecrets(ctx)
		case 5:
			err = x.DeleteUserSecret(ctx, name)
		}
		return err
	}
	// work makes n operations from conc goroutines, at most each of
	// them, each on a secret of its own.
	work := func(conc, n, each int, prefix string) error {
		var done atomic.Int64
		errs := make(chan error, conc)
		var wg sync.WaitGroup
		for g := range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("%s%d", prefix, g)
				for i := 0; i < each && done.Add(1) <= int64(n); i++ {
					if err := op(name, i); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		return <-errs
	}
	for _, conc := range []int{1, 32} {
		t.Run(fmt.Sprintf("goroutines=%d", conc), func(t *testing.T) {
			// Warm up: all goroutines at work at once, three times
			// through the six operations.
			require.NoError(t, work(conc, 18*conc, 18, fmt.Sprintf("warm%d-", conc)))
			before := dials.Load()
			const n = 1000
			require.NoError(t, work(conc, n, n, fmt.Sprintf("conn%d-", conc)))
			require.Equal(t, before, dials.Load(), "%d operations from %d goroutines opened new connections", n, conc)
		})
	}
}
