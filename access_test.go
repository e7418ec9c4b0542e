package edge_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/internal/vaulttest"
)

// allowed says which of a scope's six operations a principal may do.
type allowed map[string]bool

var (
	allOps   = allowed{"list": true, "read": true, "create": true, "update": true, "delete": true, "wrap": true}
	readOps  = allowed{"list": true, "read": true, "wrap": true}
	noOps    = allowed{}
	opsOrder = []string{"list", "read", "create", "update", "delete", "wrap"}
)

// accessWorld is the demo layout of the access model, fresh for one test:
// alice and bob are members of org acme, carol is its admin, dave is a
// member of org globex, and nobody has a Vault identity but no Edge
// policy.
type accessWorld struct {
	acme, globex string
	users        map[string]vaulttest.User
	sessions     map[string]*edge.Session // each with Org acme
}

var principals = []string{"alice", "bob", "carol", "dave", "nobody"}

// demoWorld is the dev Vault's own demo layout (vaulttest.Options.Demo):
// the real, least-privilege tokens it printed, and a fresh "nobody".
func demoWorld(t *testing.T) *accessWorld {
	t.Helper()
	ctx := context.Background()
	w := &accessWorld{acme: "acme", globex: "globex", users: map[string]vaulttest.User{}, sessions: map[string]*edge.Session{}}
	for _, p := range principals[:4] {
		u, ok := vault.Users[p]
		require.True(t, ok, "the dev Vault has no demo user %s", p)
		w.users[p] = u
	}
	require.Equal(t, vaulttest.Org{Admins: []string{"carol"}, Members: []string{"alice", "bob"}}, vault.Orgs["acme"])
	nobody, err := vault.NewUser(ctx, unique("nobody"), "default")
	require.NoError(t, err)
	w.users["nobody"] = nobody
	for _, p := range principals {
		w.sessions[p] = sessionFor(t, w.users[p].Token, w.acme)
	}
	return w
}

// newAccessWorld is a fresh copy of the demo layout, for tests that change
// memberships.
func newAccessWorld(t *testing.T) *accessWorld {
	t.Helper()
	ctx := context.Background()
	w := &accessWorld{users: map[string]vaulttest.User{}, sessions: map[string]*edge.Session{}}
	for _, p := range principals {
		if p == "nobody" {
			u, err := vault.NewUser(ctx, unique("nobody"), "default")
			require.NoError(t, err)
			w.users[p] = u
			continue
		}
		w.users[p] = newUser(t)
	}
	w.acme = newOrg(t, w.users["carol"])
	w.globex = newOrg(t)
	require.NoError(t, operator.AddMember(ctx, w.acme, w.users["alice"].EntityID))
	require.NoError(t, operator.AddMember(ctx, w.acme, w.users["bob"].EntityID))
	require.NoError(t, operator.AddMember(ctx, w.globex, w.users["dave"].EntityID))
	for _, p := range principals {
		w.sessions[p] = sessionFor(t, w.users[p].Token, w.acme)
	}
	return w
}

// client returns a plain vault/api client holding p's token: what a user
// who skips the SDK would use.
func (w *accessWorld) client(t *testing.T, p string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: vault.Addr, MaxRetries: -1})
	require.NoError(t, err)
	c.SetToken(w.users[p].Token)
	c.SetWrappingLookupFunc(func(string, string) string { return "" })
	return c
}

// rawOp does one of the six operations with plain vault/api calls on the
// scope whose data and metadata paths are given.
type rawOp func(ctx context.Context, c *api.Client, data, meta string) error

var rawOps = map[string]rawOp{
	"list": func(ctx context.Context, c *api.Client, data, meta string) error {
		s, err := c.Logical().ListWithContext(ctx, meta)
		if err == nil && s == nil {
			return errors.New("list found nothing")
		}
		return err
	},
	"read": func(ctx context.Context, c *api.Client, data, meta string) error {
		s, err := c.Logical().ReadWithContext(ctx, data+"/target")
		if err == nil && s == nil {
			return errors.New("read found nothing")
		}
		return err
	},
	"create": func(ctx context.Context, c *api.Client, data, meta string) error {
		_, err := c.Logical().WriteWithContext(ctx, data+"/planted", map[string]any{"options": map[string]any{"cas": 0}, "data": map[string]any{"v": "planted"}})
		return err
	},
	"update": func(ctx context.Context, c *api.Client, data, meta string) error {
		_, err := c.Logical().WriteWithContext(ctx, data+"/target", map[string]any{"data": map[string]any{"v": "overwritten"}})
		return err
	},
	"delete": func(ctx context.Context, c *api.Client, data, meta string) error {
		_, err := c.Logical().DeleteWithContext(ctx, meta+"/target")
		return err
	},
	"wrap": func(ctx context.Context, c *api.Client, data, meta string) error {
		s, err := c.WithRequestCallbacks(func(r *api.Request) { r.WrapTTL = "60s" }).Logical().ReadWithContext(ctx, data+"/target")
		if err == nil && (s == nil || s.WrapInfo == nil) {
			return errors.New("wrap returned no wrapping token")
		}
		return err
	},
}

// sdkOp does one of the six operations through the SDK on ops's scope.
func sdkOp(ctx context.Context, ops scopeOps, op string) error {
	switch op {
	case "list":
		_, err := ops.list(ctx)
		return err
	case "read":
		_, err := ops.read(ctx, "target")
		return err
	case "create":
		return ops.create(ctx, "planted", edge.Secret{"v": "planted"})
	case "update":
		return ops.update(ctx, "target", edge.Secret{"v": "overwritten"})
	case "delete":
		return ops.delete(ctx, "target")
	case "wrap":
		_, err := ops.wrap(ctx, "target")
		return err
	}
	panic("unknown op " + op)
}

// TestAccessMatrix runs every principal × operation × scope, through the
// SDK and with raw vault/api calls aimed at alice's and acme's paths, and
// asserts each cell: allowed cells succeed, refused cells are a 403
// (ErrPermissionDenied through the SDK, never ErrNotFound) and change
// nothing.
func TestAccessMatrix(t *testing.T) {
	w := demoWorld(t)
	ctx := context.Background()
	alice := w.users["alice"]
	userData := vault.Mount + "/data/edge/users/" + alice.EntityID
	userMeta := vault.Mount + "/metadata/edge/users/" + alice.EntityID
	orgData := vault.Mount + "/data/edge/orgs/" + w.acme
	orgMeta := vault.Mount + "/metadata/edge/orgs/" + w.acme

	// reset puts the target secrets back as their owners wrote them and
	// removes anything planted.
	reset := func(t *testing.T) {
		t.Helper()
		for _, owner := range []scopeOps{userOps(w.sessions["alice"]), orgOps(w.sessions["carol"])} {
			for _, name := range []string{"target", "planted"} {
				require.NoError(t, owner.delete(ctx, name))
			}
			require.NoError(t, owner.create(ctx, "target", edge.Secret{"v": "original"}))
		}
	}
	// unchanged asserts a refused cell changed nothing in the scope.
	unchanged := func(t *testing.T, owner scopeOps) {
		t.Helper()
		got, err := owner.read(ctx, "target")
		require.NoError(t, err)
		assert.Equal(t, edge.Secret{"v": "original"}, got)
		_, err = owner.read(ctx, "planted")
		assert.ErrorIs(t, err, edge.ErrNotFound)
	}

	type cell struct {
		via, scope, principal, op string
		allowed                   bool
	}
	var cells []cell
	expectUserRaw := map[string]allowed{"alice": allOps, "bob": noOps, "carol": noOps, "dave": noOps, "nobody": noOps}
	// Through the SDK a principal's user operations reach only their own
	// user secrets; "nobody" has no Edge policy at all.
	expectUserSDK := map[string]allowed{"alice": allOps, "bob": allOps, "carol": allOps, "dave": allOps, "nobody": noOps}
	expectOrg := map[string]allowed{"alice": readOps, "bob": readOps, "carol": allOps, "dave": noOps, "nobody": noOps}
	for _, p := range principals {
		for _, op := range opsOrder {
			cells = append(cells,
				cell{"sdk", "user", p, op, expectUserSDK[p][op]},
				cell{"sdk", "org", p, op, expectOrg[p][op]},
				cell{"raw", "user", p, op, expectUserRaw[p][op]},
				cell{"raw", "org", p, op, expectOrg[p][op]},
			)
		}
	}

	unexpected := 0
	for _, c := range cells {
		t.Run(fmt.Sprintf("%s/%s/%s/%s", c.via, c.scope, c.principal, c.op), func(t *testing.T) {
			defer func() {
				if t.Failed() {
					unexpected++
				}
			}()
			reset(t)
			sess := w.sessions[c.principal]
			owner := userOps(w.sessions["alice"])
			if c.scope == "org" {
				owner = orgOps(w.sessions["carol"])
			}
			var err error
			switch {
			case c.via == "sdk" && c.scope == "user":
				own := userOps(sess)
				if c.principal != "alice" && c.principal != "nobody" {
					// The principal's own secret, so that allowed cells
					// have something to act on.
					for _, name := range []string{"target", "planted"} {
						require.NoError(t, own.delete(ctx, name))
					}
					require.NoError(t, own.create(ctx, "target", edge.Secret{"v": "theirs"}))
				}
				err = sdkOp(ctx, own, c.op)
			case c.via == "sdk":
				err = sdkOp(ctx, orgOps(sess), c.op)
			case c.scope == "user":
				err = rawOps[c.op](ctx, w.client(t, c.principal), userData, userMeta)
			default:
				err = rawOps[c.op](ctx, w.client(t, c.principal), orgData, orgMeta)
			}
			if c.allowed {
				assert.NoError(t, err)
				if c.via == "sdk" && c.scope == "user" && c.principal != "alice" {
					unchanged(t, owner) // their own secrets are not alice's
				}
				return
			}
			require.Error(t, err)
			var re *api.ResponseError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, http.StatusForbidden, re.StatusCode)
			if c.via == "sdk" {
				assert.ErrorIs(t, err, edge.ErrPermissionDenied)
				assert.NotErrorIs(t, err, edge.ErrNotFound)
			}
			unchanged(t, owner)
		})
	}
	t.Logf("access matrix: %d principals × %d operations × 2 scopes × 2 ways (SDK, raw vault/api): %d cells, %d unexpected",
		len(principals), len(opsOrder), len(cells), unexpected)
	assert.Len(t, cells, 120)
}

// TestNoOneListsOtherNames: LIST on the folders above the user and org
// scopes is refused to every principal, so nobody learns who has secrets.
func TestNoOneListsOtherNames(t *testing.T) {
	w := demoWorld(t)
	ctx := context.Background()
	require.NoError(t, w.sessions["alice"].Secrets.CreateUserSecret(ctx, unique("mine"), edge.Secret{"v": 1}))
	require.NoError(t, w.sessions["carol"].Secrets.CreateOrgSecret(ctx, unique("ours"), edge.Secret{"v": 1}))
	for _, p := range principals {
		for _, path := range []string{"edge/users", "edge/orgs", "edge", ""} {
			t.Run(p+"/"+path, func(t *testing.T) {
				s, err := w.client(t, p).Logical().ListWithContext(ctx, vault.Mount+"/metadata/"+path)
				var re *api.ResponseError
				require.ErrorAs(t, err, &re, "LIST %q answered %v", path, s)
				assert.Equal(t, http.StatusForbidden, re.StatusCode)
			})
		}
	}
}

// TestRemovedMemberLosesAccess: removing alice from acme revokes her
// access on her very next call, with the same token.
func TestRemovedMemberLosesAccess(t *testing.T) {
	w := newAccessWorld(t)
	ctx := context.Background()
	require.NoError(t, w.sessions["carol"].Secrets.CreateOrgSecret(ctx, "ours", edge.Secret{"v": "x"}))
	alice := w.sessions["alice"]
	got, err := alice.Secrets.ReadOrgSecret(ctx, "ours")
	require.NoError(t, err)
	assert.Equal(t, edge.Secret{"v": "x"}, got)

	require.NoError(t, operator.RemoveMember(ctx, w.acme, w.users["alice"].EntityID))
	_, err = alice.Secrets.ReadOrgSecret(ctx, "ours")
	assert.ErrorIs(t, err, edge.ErrPermissionDenied)
	_, err = alice.Secrets.ListOrgSecrets(ctx)
	assert.ErrorIs(t, err, edge.ErrPermissionDenied)
	_, err = alice.Secrets.WrapOrgSecret(ctx, "ours")
	assert.ErrorIs(t, err, edge.ErrPermissionDenied)
	_, err = alice.Secrets.ListUserSecrets(ctx)
	assert.NoError(t, err, "her user secrets are hers still")

	require.NoError(t, operator.AddMember(ctx, w.acme, w.users["alice"].EntityID))
	_, err = alice.Secrets.ReadOrgSecret(ctx, "ours")
	assert.NoError(t, err, "and adding her back restores it")
}

// TestOtherOrgSecretsAreSeparate: dave, admin of nothing and member of
// globex, reads globex's secrets and not acme's; acme's admin cannot
// write globex's.
func TestOtherOrgSecretsAreSeparate(t *testing.T) {
	w := newAccessWorld(t)
	ctx := context.Background()
	globexAdmin := newUser(t)
	require.NoError(t, operator.AddAdmin(ctx, w.globex, globexAdmin.EntityID))
	require.NoError(t, sessionFor(t, globexAdmin.Token, w.globex).Secrets.CreateOrgSecret(ctx, "g", edge.Secret{"v": "globex"}))

	dave := sessionFor(t, w.users["dave"].Token, w.globex)
	got, err := dave.Secrets.ReadOrgSecret(ctx, "g")
	require.NoError(t, err)
	assert.Equal(t, edge.Secret{"v": "globex"}, got)

	carolAtGlobex := sessionFor(t, w.users["carol"].Token, w.globex)
	_, err = carolAtGlobex.Secrets.ReadOrgSecret(ctx, "g")
	assert.ErrorIs(t, err, edge.ErrPermissionDenied)
	assert.ErrorIs(t, carolAtGlobex.Secrets.CreateOrgSecret(ctx, "h", edge.Secret{"v": 1}), edge.ErrPermissionDenied)
}
