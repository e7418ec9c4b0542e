package edge_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/edgesdk/edge/edgetest"
)

// tokenRole is the token role that makes tokenUsers' tokens.
const tokenRole = "edge-test-users"

// tokenRoles remembers the Vaults where tokenRole is written.
var tokenRoles struct {
	mu   sync.Mutex
	done map[*edgetest.Vault]bool
}

// tokenUsers returns n fresh users of vault: tokens of their own identity
// entity, holding only the Edge user policy, made with auth/token/create
// and an entity alias (a token role allowing "edge-test-user-*"), as a
// service's users would come from any auth method. They have no password:
// use vault.NewUser for a test that logs in with userpass. A userpass
// user costs two bcrypt hashes in Vault (about 140 ms of CPU: creating it
// and logging in); these cost one request each, which matters to the
// fault matrices, which make a fresh user for each of their ~450 cases.
func tokenUsers(t testing.TB, vault *edgetest.Vault, n int) []edgetest.User {
	t.Helper()
	ctx := context.Background()
	root := vault.RootClient(t)
	policy := vault.Admin().UserPolicyName()
	tokenRoles.mu.Lock()
	if !tokenRoles.done[vault] {
		_, err := root.Logical().WriteWithContext(ctx, "auth/token/roles/"+tokenRole, map[string]any{
			"allowed_policies": []string{policy}, "allowed_entity_aliases": []string{"edge-test-user-*"}, "orphan": true,
		})
		if err != nil {
			tokenRoles.mu.Unlock()
			require.NoError(t, err)
		}
		if tokenRoles.done == nil {
			tokenRoles.done = map[*edgetest.Vault]bool{}
		}
		tokenRoles.done[vault] = true
	}
	tokenRoles.mu.Unlock()
	users := make([]edgetest.User, n)
	var g errgroup.Group
	g.SetLimit(8)
	for i := range users {
		g.Go(func() error {
			name := edgetest.UniqueName("edge-test-user")
			secret, err := root.Logical().WriteWithContext(ctx, "auth/token/create/"+tokenRole, map[string]any{
				"entity_alias": name, "policies": []string{policy}, "ttl": "1h",
			})
			if err != nil {
				return err
			}
			if secret == nil || secret.Auth == nil || secret.Auth.EntityID == "" {
				return fmt.Errorf("token create for %s: no entity", name)
			}
			users[i] = edgetest.User{Name: name, Token: secret.Auth.ClientToken, EntityID: secret.Auth.EntityID}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	return users
}

// tokenUser returns one fresh user of vault, made as tokenUsers makes
// them.
func tokenUser(t testing.TB, vault *edgetest.Vault) edgetest.User {
	t.Helper()
	return tokenUsers(t, vault, 1)[0]
}
