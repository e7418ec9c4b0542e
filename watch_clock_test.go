package edge_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
)

// TestWatchVaultClock: a watch decides whether the latest version's
// deletion time has come by Vault's clock (the Date of its answer), not
// the client's, 5 s behind or ahead of Vault's: a version Vault deleted
// 3 s ago is Deleted, one whose deletion Vault scheduled 3 s from now is
// not. The fake Vault's clock, by which it stamps deletion times and
// dates its answers, is skew off the local one.
func TestWatchVaultClock(t *testing.T) {
	t.Parallel()
	for _, skew := range []time.Duration{5 * time.Second, -5 * time.Second} {
		for _, tt := range []struct {
			name     string
			deletion time.Duration // from Vault's now
			deleted  bool
		}{
			{"deleted 3 s ago", -3 * time.Second, true},
			{"deletion scheduled in 3 s", 3 * time.Second, false},
		} {
			t.Run(fmt.Sprintf("%s/skew %v", tt.name, skew), func(t *testing.T) {
				t.Parallel()
				kv := newFakeKV(skew)
				vaultNow := time.Now().Add(skew)
				kv.put(map[string]any{"password": "old"}, vaultNow.Add(-time.Hour))
				kv.versions[0].deletion = vaultNow.Add(tt.deletion)
				sess := newFakeVault(t, false, kv.handle).session(t)
				for ch, err := range sess.Secrets.WatchUserSecret(context.Background(), "s", edge.WatchInterval(edge.MinWatchInterval)) {
					require.NoError(t, err)
					assert.Equal(t, 1, ch.Version)
					assert.Equal(t, tt.deleted, ch.Deleted)
					break
				}
			})
		}
	}
}
