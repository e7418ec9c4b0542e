package edge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/scopes"
)

// TestRaceCreateSameName: 50 goroutines create one name at once, 20
// rounds; each round exactly one wins, the 49 others get
// ErrAlreadyExists, and the stored value is the winner's.
func TestRaceCreateSameName(t *testing.T) {
	t.Parallel()
	const goroutines, rounds = 50, 20
	forEachScope(t, func(t *testing.T, sess *edge.Session, ops scopes.Ops) {
		ctx := context.Background()
		for round := range rounds {
			name := fmt.Sprintf("race-create-%d", round)
			errs := make([]error, goroutines)
			var start, done sync.WaitGroup
			start.Add(1)
			for g := range goroutines {
				done.Add(1)
				go func() {
					defer done.Done()
					start.Wait()
					errs[g] = ops.Create(ctx, name, edge.Secret{"writer": g})
				}()
			}
			start.Done()
			done.Wait()

			winner, exists := -1, 0
			for g, err := range errs {
				switch {
				case err == nil:
					assert.Equal(t, -1, winner, "round %d: a second success, goroutine %d", round, g)
					winner = g
				case errors.Is(err, edge.ErrAlreadyExists):
					exists++
				default:
					t.Errorf("round %d, goroutine %d: unexpected error %v", round, g, err)
				}
			}
			require.NotEqual(t, -1, winner, "round %d: nobody won", round)
			assert.Equal(t, goroutines-1, exists, "round %d", round)
			got, err := ops.Read(ctx, name)
			require.NoError(t, err)
			assert.Equal(t, json.Number(strconv.Itoa(winner)), got["writer"], "round %d: the winner's value is stored", round)
		}
	})
}

// TestRaceUpdateDelete: 1,000 rounds of create, then an update and a
// delete started together. The delete always removes every version and
// the update never writes to a deleted secret, so afterwards the secret
// is gone in every round, whichever ran last, and stays gone; the update
// either succeeded (it ran first) or found nothing (ErrNotFound).
func TestRaceUpdateDelete(t *testing.T) {
	t.Parallel()
	rounds := 1000
	if testing.Short() {
		rounds = 100
	}
	const workers = 8 // rounds run on 8 names at once
	forEachScope(t, func(t *testing.T, sess *edge.Session, ops scopes.Ops) {
		ctx := context.Background()
		var mu sync.Mutex
		outcomes := map[string]int{}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("race-upd-del-%d", w)
				for round := w; round < rounds; round += workers {
					if !assert.NoError(t, ops.Create(ctx, name, edge.Secret{"v": "created"})) {
						return
					}
					var updErr, delErr error
					var both, start sync.WaitGroup
					start.Add(1)
					both.Add(2)
					go func() { defer both.Done(); start.Wait(); updErr = ops.Update(ctx, name, edge.Secret{"v": "updated"}) }()
					go func() { defer both.Done(); start.Wait(); delErr = ops.Delete(ctx, name) }()
					start.Done()
					both.Wait()

					assert.NoError(t, delErr, "round %d", round)
					outcome := "update applied"
					if updErr != nil {
						outcome = "update found it deleted"
						assert.ErrorIs(t, updErr, edge.ErrNotFound, "round %d", round)
					}
					_, err := ops.Read(ctx, name)
					assert.ErrorIs(t, err, edge.ErrNotFound, "round %d: the secret came back", round)
					mu.Lock()
					outcomes[outcome]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		// Still gone after every update has returned.
		names, err := ops.List(ctx)
		require.NoError(t, err)
		assert.Empty(t, names)
		t.Logf("%d rounds: %v", rounds, outcomes)
	})
}

// TestRaceConcurrentUpdates: 20 updates of one name at once. Each returns
// success or ErrConflict; the final value is one of those written; and
// Vault's current_version is 1 (the create) plus the number of successful
// updates: a write that lost the check-and-set race made no version.
func TestRaceConcurrentUpdates(t *testing.T) {
	t.Parallel()
	const writers = 20
	forEachScope(t, func(t *testing.T, sess *edge.Session, ops scopes.Ops) {
		ctx := context.Background()
		name := "race-updates"
		require.NoError(t, ops.Create(ctx, name, edge.Secret{"writer": -1}))
		errs := make([]error, writers)
		var start, done sync.WaitGroup
		start.Add(1)
		for g := range writers {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				errs[g] = ops.Update(ctx, name, edge.Secret{"writer": g})
			}()
		}
		start.Done()
		done.Wait()

		succeeded := map[json.Number]bool{}
		for g, err := range errs {
			if err == nil {
				succeeded[json.Number(strconv.Itoa(g))] = true
				continue
			}
			assert.ErrorIs(t, err, edge.ErrConflict, "writer %d", g)
		}
		require.NotEmpty(t, succeeded)
		got, err := ops.Read(ctx, name)
		require.NoError(t, err)
		assert.True(t, succeeded[got["writer"].(json.Number)], "the final value %v is one a successful update wrote", got["writer"])
		assert.Equal(t, 1+len(succeeded), currentVersion(t, sess, ops.Name, name))
		t.Logf("%d of %d updates succeeded, %d gave up with ErrConflict", len(succeeded), writers, writers-len(succeeded))
	})
}

// currentVersion reads Vault's current_version of a secret with the root
// token.
func currentVersion(t *testing.T, sess *edge.Session, scope, name string) int {
	t.Helper()
	vault := edgetest.Start(t)
	owner := sess.EntityID()
	kind := "users"
	if scope == "org" {
		owner, kind = sess.Org(), "orgs"
	}
	path := fmt.Sprintf("/v1/%s/metadata/edge/%s/%s/%s", vault.Mount(), kind, owner, name)
	status, body, err := rawDo(context.Background(), vault.Addr(), "GET", path, vault.RootClient(t).Token(), nil)
	require.NoError(t, err)
	require.Equal(t, 200, status, string(body))
	var meta struct {
		Data struct {
			CurrentVersion int `json:"current_version"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &meta))
	return meta.Data.CurrentVersion
}
