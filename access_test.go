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
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/scopes"
)

// allowed says which of a scope's operations (the six and the history's
// three) a principal may do.
type allowed map[string]bool

var (
	allOps = allowed{"list": true, "read": true, "create": true, "update": true, "delete": true, "wrap": true,
		"versions": true, "read-version": true, "rollback": true}
	// readOps: members list, read and wrap the latest version and list
	// the versions (numbers and times); older values and rollback are for
	// admins.
	readOps  = allowed{"list": true, "read": true, "wrap": true, "versions": true}
	noOps    = allowed{}
	opsOrder = []string{"list", "read", "create", "update", "delete", "wrap", "versions", "read-version", "rollback"}
)

// accessWorld is the demo layout of the access model, fresh for one test:
// alice and bob are members of org acme, carol is its admin, erin is both
// its admin and a member, dave is a member of org globex, and nobody has
// a Vault identity but no Edge policy.
type accessWorld struct {
	acme, globex string
	users        map[string]edgetest.User
	sessions     map[string]*edge.Session // each with Org acme
}

var principals = []string{"alice", "bob", "carol", "dave", "erin", "nobody"}

// newAccessWorld builds the demo layout with fresh users and orgs: the
// real, least-privilege tokens of userpass logins, and a "nobody" with a
// Vault identity but only Vault's default policy.
func newAccessWorld(t *testing.T) *accessWorld {
	t.Helper()
	vault := edgetest.Start(t)
	w := &accessWorld{users: map[string]edgetest.User{}, sessions: map[string]*edge.Session{}}
	for _, p := range principals {
		if p == "nobody" {
			w.users[p] = vault.NewUser(t, edgetest.WithPolicies())
			continue
		}
		w.users[p] = vault.NewUser(t)
	}
	w.acme = vault.NewOrg(t, w.users["carol"], w.users["erin"])
	w.globex = vault.NewOrg(t)
	vault.AddMember(t, w.acme, w.users["alice"])
	vault.AddMember(t, w.acme, w.users["bob"])
	vault.AddMember(t, w.acme, w.users["erin"])
	vault.AddMember(t, w.globex, w.users["dave"])
	ctx := context.Background()
	admins, err := vault.Admin().Admins(ctx, w.acme)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{w.users["carol"].EntityID, w.users["erin"].EntityID}, admins, "acme's admins")
	members, err := vault.Admin().Members(ctx, w.acme)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{w.users["alice"].EntityID, w.users["bob"].EntityID, w.users["erin"].EntityID}, members, "acme's members")
	for _, p := range principals {
		w.sessions[p] = vault.Session(t, w.users[p], w.acme)
	}
	return w
}

// client returns a plain vault/api client holding p's token: what a user
// who skips the SDK would use.
func (w *accessWorld) client(t *testing.T, p string) *api.Client {
	t.Helper()
	vault := edgetest.Start(t)
	c, err := api.NewClient(&api.Config{Address: vault.Addr(), MaxRetries: -1})
	require.NoError(t, err)
	c.SetToken(w.users[p].Token)
	c.SetWrappingLookupFunc(func(string, string) string { return "" })
	return c
}

// rawOp does one of the operations with plain vault/api calls on the
// scope whose data and metadata paths are given. The target secret has
// two versions: "old", then "original".
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
	"versions": func(ctx context.Context, c *api.Client, data, meta string) error {
		s, err := c.Logical().ReadWithContext(ctx, meta+"/target")
		if err == nil && (s == nil || len(s.Data["versions"].(map[string]any)) != 2) {
			return errors.New("metadata without the two versions")
		}
		return err
	},
	"read-version": func(ctx context.Context, c *api.Client, data, meta string) error {
		s, err := c.Logical().ReadWithDataWithContext(ctx, data+"/target", map[string][]string{"version": {"1"}})
		if err == nil && (s == nil || s.Data["data"].(map[string]any)["v"] != "old") {
			return errors.New("version 1 read another value")
		}
		return err
	},
	"rollback": func(ctx context.Context, c *api.Client, data, meta string) error {
		// What RollbackUserSecret sends: the metadata, version 1, then a
		// write with check-and-set.
		m, err := c.Logical().ReadWithContext(ctx, meta+"/target")
		if err != nil {
			return err
		}
		old, err := c.Logical().ReadWithDataWithContext(ctx, data+"/target", map[string][]string{"version": {"1"}})
		if err != nil {
			return err
		}
		_, err = c.Logical().WriteWithContext(ctx, data+"/target", map[string]any{"options": map[string]any{"cas": m.Data["current_version"]}, "data": old.Data["data"]})
		return err
	},
}

// sdkOp does one of the operations through the SDK on ops's scope.
func sdkOp(ctx context.Context, ops scopes.Ops, op string) error {
	switch op {
	case "list":
		_, err := ops.List(ctx)
		return err
	case "read":
		_, err := ops.Read(ctx, "target")
		return err
	case "create":
		return ops.Create(ctx, "planted", edge.Secret{"v": "planted"})
	case "update":
		return ops.Update(ctx, "target", edge.Secret{"v": "overwritten"})
	case "delete":
		return ops.Delete(ctx, "target")
	case "wrap":
		_, err := ops.Wrap(ctx, "target")
		return err
	case "versions":
		vs, err := ops.Versions(ctx, "target")
		if err == nil && len(vs) != 2 {
			return fmt.Errorf("%d versions, want 2", len(vs))
		}
		return err
	case "read-version":
		v, err := ops.ReadVersion(ctx, "target", 1)
		if err == nil && v["v"] != "old" && v["v"] != "theirs-old" {
			return errors.New("version 1 read another value")
		}
		return err
	case "rollback":
		return ops.Rollback(ctx, "target", 1)
	}
	panic("unknown op " + op)
}

// TestAccessMatrix runs every principal × operation × scope, through the
// SDK and with raw vault/api calls aimed at alice's and acme's paths, and
// asserts each cell: allowed cells succeed, refused cells are a 403
// (ErrPermissionDenied through the SDK, never ErrNotFound) and change
// nothing.
func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	w := newAccessWorld(t)
	ctx := context.Background()
	alice := w.users["alice"]
	userData := vault.Mount() + "/data/edge/users/" + alice.EntityID
	userMeta := vault.Mount() + "/metadata/edge/users/" + alice.EntityID
	orgData := vault.Mount() + "/data/edge/orgs/" + w.acme
	orgMeta := vault.Mount() + "/metadata/edge/orgs/" + w.acme

	// reset puts the target secret of owner's scope back as its owner
	// wrote it, in two versions, and removes anything planted.
	reset := func(t *testing.T, owner scopes.Ops) {
		t.Helper()
		for _, name := range []string{"target", "planted"} {
			require.NoError(t, owner.Delete(ctx, name))
		}
		require.NoError(t, owner.Create(ctx, "target", edge.Secret{"v": "old"}))
		require.NoError(t, owner.Update(ctx, "target", edge.Secret{"v": "original"}))
	}
	// unchanged asserts a refused cell changed nothing in the scope.
	unchanged := func(t *testing.T, owner scopes.Ops) {
		t.Helper()
		got, err := owner.Read(ctx, "target")
		require.NoError(t, err)
		assert.Equal(t, edge.Secret{"v": "original"}, got)
		vs, err := owner.Versions(ctx, "target")
		require.NoError(t, err)
		assert.Len(t, vs, 2, "no version written")
		_, err = owner.Read(ctx, "planted")
		assert.ErrorIs(t, err, edge.ErrNotFound)
	}

	type cell struct {
		via, scope, principal, op string
		allowed                   bool
	}
	var cells []cell
	expectUserRaw := map[string]allowed{"alice": allOps, "bob": noOps, "carol": noOps, "dave": noOps, "erin": noOps, "nobody": noOps}
	// Through the SDK a principal's user operations reach only their own
	// user secrets; "nobody" has no Edge policy at all.
	expectUserSDK := map[string]allowed{"alice": allOps, "bob": allOps, "carol": allOps, "dave": allOps, "erin": allOps, "nobody": noOps}
	// erin, admin and member, has the admins' rights, older versions
	// included (see package admin, "Policies of an admin who is also a
	// member").
	expectOrg := map[string]allowed{"alice": readOps, "bob": readOps, "carol": allOps, "dave": noOps, "erin": allOps, "nobody": noOps}
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
			sess := w.sessions[c.principal]
			owner := scopes.User(w.sessions["alice"])
			if c.scope == "org" {
				owner = scopes.Org(w.sessions["carol"])
			}
			reset(t, owner)
			var err error
			switch {
			case c.via == "sdk" && c.scope == "user":
				own := scopes.User(sess)
				if c.principal != "alice" && c.principal != "nobody" {
					// The principal's own secret, so that allowed cells
					// have something to act on.
					for _, name := range []string{"target", "planted"} {
						require.NoError(t, own.Delete(ctx, name))
					}
					require.NoError(t, own.Create(ctx, "target", edge.Secret{"v": "theirs-old"}))
					require.NoError(t, own.Update(ctx, "target", edge.Secret{"v": "theirs"}))
				}
				err = sdkOp(ctx, own, c.op)
			case c.via == "sdk":
				err = sdkOp(ctx, scopes.Org(sess), c.op)
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
				assertOneKind(t, err)
			}
			unchanged(t, owner)
		})
	}
	t.Logf("access matrix: %d principals × %d operations × 2 scopes × 2 ways (SDK, raw vault/api): %d cells, %d unexpected",
		len(principals), len(opsOrder), len(cells), unexpected)
	assert.Len(t, cells, 216)
}

// TestNoOneListsOtherNames: LIST on the folders above the user and org
// scopes is refused to every principal, so nobody learns who has secrets.
func TestNoOneListsOtherNames(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	w := newAccessWorld(t)
	ctx := context.Background()
	require.NoError(t, w.sessions["alice"].Secrets.CreateUserSecret(ctx, edgetest.UniqueName("mine"), edge.Secret{"v": 1}))
	require.NoError(t, w.sessions["carol"].Secrets.CreateOrgSecret(ctx, edgetest.UniqueName("ours"), edge.Secret{"v": 1}))
	for _, p := range principals {
		for _, path := range []string{"edge/users", "edge/orgs", "edge", ""} {
			t.Run(p+"/"+path, func(t *testing.T) {
				s, err := w.client(t, p).Logical().ListWithContext(ctx, vault.Mount()+"/metadata/"+path)
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
	t.Parallel()
	vault := edgetest.Start(t)
	w := newAccessWorld(t)
	ctx := context.Background()
	require.NoError(t, w.sessions["carol"].Secrets.CreateOrgSecret(ctx, "ours", edge.Secret{"v": "x"}))
	alice := w.sessions["alice"]
	got, err := alice.Secrets.ReadOrgSecret(ctx, "ours")
	require.NoError(t, err)
	assert.Equal(t, edge.Secret{"v": "x"}, got)

	vault.RemoveMember(t, w.acme, w.users["alice"])
	_, err = alice.Secrets.ReadOrgSecret(ctx, "ours")
	assert.ErrorIs(t, err, edge.ErrPermissionDenied)
	_, err = alice.Secrets.ListOrgSecrets(ctx)
	assert.ErrorIs(t, err, edge.ErrPermissionDenied)
	_, err = alice.Secrets.WrapOrgSecret(ctx, "ours")
	assert.ErrorIs(t, err, edge.ErrPermissionDenied)
	_, err = alice.Secrets.ListUserSecrets(ctx)
	assert.NoError(t, err, "her user secrets are hers still")

	vault.AddMember(t, w.acme, w.users["alice"])
	_, err = alice.Secrets.ReadOrgSecret(ctx, "ours")
	assert.NoError(t, err, "and adding her back restores it")
}

// TestOtherOrgSecretsAreSeparate: dave, admin of nothing and member of
// globex, reads globex's secrets and not acme's; acme's admin cannot
// write globex's.
func TestOtherOrgSecretsAreSeparate(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	w := newAccessWorld(t)
	ctx := context.Background()
	globexAdmin := vault.NewUser(t)
	vault.AddAdmin(t, w.globex, globexAdmin)
	require.NoError(t, vault.Session(t, globexAdmin, w.globex).Secrets.CreateOrgSecret(ctx, "g", edge.Secret{"v": "globex"}))

	dave := vault.Session(t, w.users["dave"], w.globex)
	got, err := dave.Secrets.ReadOrgSecret(ctx, "g")
	require.NoError(t, err)
	assert.Equal(t, edge.Secret{"v": "globex"}, got)

	carolAtGlobex := vault.Session(t, w.users["carol"], w.globex)
	_, err = carolAtGlobex.Secrets.ReadOrgSecret(ctx, "g")
	assert.ErrorIs(t, err, edge.ErrPermissionDenied)
	assert.ErrorIs(t, carolAtGlobex.Secrets.CreateOrgSecret(ctx, "h", edge.Secret{"v": 1}), edge.ErrPermissionDenied)
}

// TestWrapVersionByAdminAndMember (issue 19, defect 10; issue 21): an
// org admin who is also a member of the org may wrap a given version, as
// an admin who is no member may: the members policy's data rule is a glob
// that the admins' "+" rule takes priority over, so its version rule does
// not reach admin-members. A member who is no admin may not: Vault
// answers 403, ErrPermissionDenied, with a message that says why (a
// version), not ErrBadEntry (a wrapping TTL outside the path's limits,
// which no TTL could fix); the latest version without a version query
// still wraps.
func TestWrapVersionByAdminAndMember(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	both, adminOnly, member := vault.NewUser(t), vault.NewUser(t), vault.NewUser(t)
	org := vault.NewOrg(t, both, adminOnly)
	vault.AddMember(t, org, both)
	vault.AddMember(t, org, member)
	sess := vault.Session(t, both, org)
	require.NoError(t, sess.Secrets.CreateOrgSecret(ctx, "db", edge.Secret{"v": "1"}))

	for _, u := range []edgetest.User{both, adminOnly} {
		w, err := vault.Session(t, u, org).Secrets.WrapOrgSecret(ctx, "db", edge.WithWrapVersion())
		require.NoError(t, err, "an admin, member or not, may wrap a version")
		assert.Equal(t, 1, w.Version)
	}

	m := vault.Session(t, member, org)
	_, err := m.Secrets.WrapOrgSecret(ctx, "db", edge.WithWrapVersion())
	require.ErrorIs(t, err, edge.ErrPermissionDenied)
	assertOneKind(t, err)
	assert.Contains(t, err.Error(), "version")
	assert.NotContains(t, err.Error(), "wrapping ttl")
	_, err = m.Secrets.WrapOrgSecret(ctx, "db")
	require.NoError(t, err, "the latest version, without a version query, may be wrapped")
}
