package main

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
)

// TestHandoverOverTLS (issue 19, defect 0): send and receive, verified
// then unwrapped, against the dev Vault served over TLS (HTTP/2, as
// against every production Vault): 100 of 100 handovers, four at a time, deliver the secret.
// It shows the example works over TLS; it is no regression test of the
// SDK's fix: each unwrap here opens a fresh connection, and the old code
// happened to read whole answers that way in our runs, where a shared
// connection lost about a quarter (TestHandoverOverTLS in package edge,
// and the CLI's TestUnwrapOverTLS, 12 of 50).
func TestHandoverOverTLS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.StartTLS(t)
	carol := v.NewUser(t)
	org := v.NewOrg(t, carol)
	require.NoError(t, v.Session(t, carol, org).Secrets.CreateOrgSecret(ctx, "team-db", teamDB))
	receiver := v.RootClient(t)
	receiver.ClearToken()
	want := edge.OrgSecretOrigin(org, "team-db")
	want.Mount = v.Mount()

	const rounds, workers = 100, 4
	var lost atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < rounds; i += workers {
				var pipe, info, out, rinfo bytes.Buffer
				if !assert.NoError(t, send(ctx, v.Config(carol, org), false, "team-db", time.Minute, &pipe, &info)) {
					return
				}
				if err := receive(ctx, receiver, want, &pipe, &out, &rinfo); err != nil {
					lost.Add(1)
					t.Logf("round %d: %v", i, err)
					continue
				}
				assert.Equal(t, teamDB, decode(t, out.Bytes()))
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, lost.Load(), "of %d handovers over TLS", rounds)
}
