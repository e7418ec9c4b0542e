package edge_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
)

// protoCounter is an http.RoundTripper that counts the answers that came
// over HTTP/2.
type protoCounter struct {
	next        http.RoundTripper
	all, http2s atomic.Int64
}

func (p *protoCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(req)
	if err == nil {
		p.all.Add(1)
		if resp.ProtoMajor == 2 {
			p.http2s.Add(1)
		}
	}
	return resp, err
}

// tlsClient returns a client of the TLS dev Vault that trusts its CA, as
// vault/api's DefaultConfig with VAULT_CACERT makes it (HTTP/2 on), whose
// answers are counted by protocol.
func tlsClient(t *testing.T, vault *edgetest.Vault) (*api.Client, *protoCounter) {
	t.Helper()
	cfg := api.DefaultConfig()
	require.NoError(t, cfg.Error)
	cfg.Address = vault.Addr()
	require.NoError(t, cfg.ConfigureTLS(&api.TLSConfig{CACert: vault.CACert()}))
	counter := &protoCounter{next: cfg.HttpClient.Transport}
	cfg.HttpClient.Transport = counter
	c, err := api.NewClient(cfg)
	require.NoError(t, err)
	c.ClearToken()
	c.ClearNamespace()
	return c, counter
}

// TestHandoverOverTLS (issue 19, defect 0): 500 wrapped handovers over
// the dev Vault served over TLS, where vault/api speaks HTTP/2 as
// against every production Vault: every token delivers its secret, none
// is lost. Before Send, vault/api's WriteRaw cancelled the unwrap's
// context before the body was read, the HTTP/2 stream was reset, and 51
// of 200 handovers were lost (the token redeemed, ErrUnknownOutcome).
// Four senders and receivers run at once, half on user secrets, half on
// org secrets.
func TestHandoverOverTLS(t *testing.T) {
	t.Parallel()
	vault := edgetest.StartTLS(t)
	require.NotEmpty(t, vault.CACert())
	ctx := context.Background()
	sender := vault.NewUser(t)
	org := vault.NewOrg(t, sender)
	sess := vault.Session(t, sender, org)
	require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "handover", edge.Secret{"v": "user"}))
	require.NoError(t, sess.Secrets.CreateOrgSecret(ctx, "handover", edge.Secret{"v": "org"}))
	receiver, counter := tlsClient(t, vault)

	const rounds, workers = 500, 4
	var lost atomic.Int64
	var mu sync.Mutex
	failures := map[string]int{}
	var g errgroup.Group
	for w := range workers {
		g.Go(func() error {
			for i := w; i < rounds; i += workers {
				wrap, want := sess.Secrets.WrapUserSecret, "user"
				if i%2 == 1 {
					wrap, want = sess.Secrets.WrapOrgSecret, "org"
				}
				ws, err := wrap(ctx, "handover")
				if err != nil {
					return fmt.Errorf("wrap %d: %w", i, err)
				}
				got, err := edge.UnwrapSecret(ctx, receiver, ws.Token)
				if err != nil || got.Value["v"] != want {
					lost.Add(1)
					mu.Lock()
					failures[fmt.Sprint(err)]++
					mu.Unlock()
				}
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	assert.Zero(t, lost.Load(), "handovers lost of %d: %v", rounds, failures)
	assert.Equal(t, counter.all.Load(), counter.http2s.Load(), "every answer to the receiver came over HTTP/2")
	assert.GreaterOrEqual(t, counter.all.Load(), int64(rounds))
	t.Logf("%d handovers over TLS with HTTP/2, %d lost", rounds, lost.Load())
}
