package admin_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/admin"
	"github.com/edgesdk/edge/edgetest"
)

// readGroup reads an identity group by name with the root token, or
// returns nil.
func readGroup(t *testing.T, v *edgetest.Vault, name string) *api.Secret {
	t.Helper()
	s, err := v.RootClient(t).Logical().Read("identity/group/name/" + name)
	require.NoError(t, err)
	return s
}

func TestSetup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	root := v.RootClient(t)

	kv1 := edgetest.UniqueName("kvone")
	require.NoError(t, root.Sys().Mount(kv1, &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}))

	tests := []struct {
		name     string
		cfg      admin.Config
		wantKind error // of both calls; nil for success
	}{
		{"existing KV v2 mount", admin.Config{}, nil},
		{"new mount", admin.Config{Mount: edgetest.UniqueName("kv"), NamePrefix: edgetest.UniqueName("np")}, nil},
		{"nested new mount and prefix", admin.Config{Mount: edgetest.UniqueName("team") + "/kv", Prefix: "apps/Edge", NamePrefix: edgetest.UniqueName("np")}, nil},
		{"KV v1 mount", admin.Config{Mount: kv1, NamePrefix: edgetest.UniqueName("np")}, admin.ErrMountType},
		{"other engine", admin.Config{Mount: "cubbyhole", NamePrefix: edgetest.UniqueName("np")}, admin.ErrMountType},
		{"name prefix of another deployment", admin.Config{Mount: edgetest.UniqueName("kv")}, admin.ErrNotManaged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdmin(t, v, tt.cfg)
			before, err := root.Sys().GetPolicy(a.UserPolicyName())
			require.NoError(t, err)

			for i := range 2 { // idempotent: twice gives the same result
				err := a.Setup(ctx)
				if tt.wantKind != nil {
					assert.ErrorIs(t, err, tt.wantKind, "call %d", i+1)
					continue
				}
				require.NoError(t, err, "call %d", i+1)
			}

			text, err := root.Sys().GetPolicy(a.UserPolicyName())
			require.NoError(t, err)
			if tt.wantKind != nil {
				assert.Equal(t, before, text, "a failed Setup leaves the user policy alone")
				return
			}
			want, err := admin.UserPolicy(a.Mount(), a.Prefix())
			require.NoError(t, err)
			assert.Equal(t, want, text, "Vault stores the policy text as written")

			mounts, err := root.Sys().ListMounts()
			require.NoError(t, err)
			m := mounts[a.Mount()+"/"]
			if assert.NotNil(t, m) {
				assert.Equal(t, "kv", m.Type)
				assert.Equal(t, "2", m.Options["version"])
			}
			// Usable straight away.
			_, err = root.Logical().Write(a.Mount()+"/data/"+a.Prefix()+"/probe", map[string]any{"data": map[string]any{"v": "1"}})
			assert.NoError(t, err)
		})
	}

	t.Run("KV v1 mount error message", func(t *testing.T) {
		err := newAdmin(t, v, admin.Config{Mount: kv1, NamePrefix: edgetest.UniqueName("np")}).Setup(ctx)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "KV version 1")
		assert.Contains(t, err.Error(), "vault kv enable-versioning "+kv1)
	})
}

// TestSetupUserPolicyWorks checks the user policy on a fresh mount and
// prefix of its own: a user holding only it can use their own folder.
func TestSetupUserPolicyWorks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{Mount: edgetest.UniqueName("kv"), Prefix: "x/Y_z", NamePrefix: edgetest.UniqueName("np")})
	require.NoError(t, a.Setup(ctx))
	u := v.NewUser(t, edgetest.WithPolicies(a.UserPolicyName()))
	c := newClient(t, v, u.Token)
	data := a.Mount() + "/data/x/Y_z/users/" + u.EntityID + "/s"
	_, err := c.Logical().Write(data, map[string]any{"options": map[string]any{"cas": 0}, "data": map[string]any{"v": "1"}})
	require.NoError(t, err)
	keys, err := c.Logical().List(a.Mount() + "/metadata/x/Y_z/users/" + u.EntityID)
	require.NoError(t, err)
	require.NotNil(t, keys)
	assert.Equal(t, []any{"s"}, keys.Data["keys"])
	_, err = c.Logical().List(a.Mount() + "/metadata/x/Y_z/users")
	assert.Equal(t, 403, status(err))
}

func TestCreateOrg(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{})
	long := edgetest.UniqueName("Long_")
	long += strings.Repeat("X", edge.MaxNameLength-len(long)) // escapes to twice its length

	for _, org := range []string{edgetest.UniqueName("org"), edgetest.UniqueName("Org_"), long} {
		t.Run(org[:min(len(org), 20)], func(t *testing.T) {
			for i := range 2 {
				require.NoError(t, a.CreateOrg(ctx, org), "call %d", i+1)
			}

			tests := []struct {
				name   string
				policy func(mount, prefix, org string) (string, error)
				pname  func(string) (string, error)
				gname  func(string) (string, error)
				list   func(context.Context, string) ([]string, error)
			}{
				{"members", admin.OrgMembersPolicy, a.OrgMembersPolicyName, a.OrgMembersGroupName, a.Members},
				{"admins", admin.OrgAdminsPolicy, a.OrgAdminsPolicyName, a.OrgAdminsGroupName, a.Admins},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					pname, err := tt.pname(org)
					require.NoError(t, err)
					want, err := tt.policy(v.Mount(), "edge", org)
					require.NoError(t, err)
					text, err := v.RootClient(t).Sys().GetPolicy(pname)
					require.NoError(t, err)
					assert.Equal(t, want, text)

					gname, err := tt.gname(org)
					require.NoError(t, err)
					g := readGroup(t, v, gname)
					require.NotNil(t, g, "group %s exists", gname)
					assert.Equal(t, "internal", g.Data["type"])
					assert.Equal(t, []any{pname}, g.Data["policies"])

					ids, err := tt.list(ctx, org)
					require.NoError(t, err)
					assert.NotNil(t, ids)
					assert.Empty(t, ids)
				})
			}
		})
	}
}

// TestCreateOrgRepairs checks that CreateOrg on an existing org keeps its
// members and restores policies and group policy lists changed by hand.
func TestCreateOrgRepairs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{})
	org := edgetest.UniqueName("org")
	require.NoError(t, a.CreateOrg(ctx, org))
	u := v.NewUser(t, edgetest.WithPolicies())
	require.NoError(t, a.AddMember(ctx, org, u.EntityID))
	require.NoError(t, a.AddAdmin(ctx, org, u.EntityID))

	root := v.RootClient(t)
	members, err := a.OrgMembersPolicyName(org)
	require.NoError(t, err)
	admins, err := a.OrgAdminsPolicyName(org)
	require.NoError(t, err)
	// An edited policy (marker kept) and an edited group policy list.
	want, err := admin.OrgMembersPolicy(v.Mount(), "edge", org)
	require.NoError(t, err)
	require.NoError(t, root.Sys().PutPolicy(members, want+"\npath \"sys/*\" {\n  capabilities = [\"sudo\"]\n}\n"))
	_, err = root.Logical().Write("identity/group/name/"+admins, map[string]any{"policies": []string{admins, "default", "edge-dev"}})
	require.NoError(t, err)

	require.NoError(t, a.CreateOrg(ctx, org))

	text, err := root.Sys().GetPolicy(members)
	require.NoError(t, err)
	assert.Equal(t, want, text)
	assert.Equal(t, []any{admins}, readGroup(t, v, admins).Data["policies"])
	ids, err := a.Members(ctx, org)
	require.NoError(t, err)
	assert.Equal(t, []string{u.EntityID}, ids)
	ids, err = a.Admins(ctx, org)
	require.NoError(t, err)
	assert.Equal(t, []string{u.EntityID}, ids)
}

// TestNotManaged checks that Admin never overwrites or deletes policies
// and groups it did not write for the same mount, prefix and org.
func TestNotManaged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	root := v.RootClient(t)
	const foreignPolicy = "# written by hand\npath \"secret/data/hand/*\" {\n  capabilities = [\"read\"]\n}\n"

	tests := []struct {
		name string
		// prepare takes the org's names, from a, and makes the clash.
		prepare func(t *testing.T, a *admin.Admin, org string)
	}{
		{"hand-made policy", func(t *testing.T, a *admin.Admin, org string) {
			name, err := a.OrgAdminsPolicyName(org)
			require.NoError(t, err)
			require.NoError(t, root.Sys().PutPolicy(name, foreignPolicy))
		}},
		{"hand-made group", func(t *testing.T, a *admin.Admin, org string) {
			name, err := a.OrgMembersGroupName(org)
			require.NoError(t, err)
			_, err = root.Logical().Write("identity/group/name/"+name, map[string]any{"policies": []string{"default"}})
			require.NoError(t, err)
		}},
		{"another deployment with the same name prefix", func(t *testing.T, a *admin.Admin, org string) {
			other := newAdmin(t, v, admin.Config{Prefix: "other", NamePrefix: a.NamePrefix()})
			require.NoError(t, other.CreateOrg(ctx, org))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdmin(t, v, admin.Config{NamePrefix: edgetest.UniqueName("np")})
			org := edgetest.UniqueName("org")
			tt.prepare(t, a, org)
			policiesBefore := orgPolicies(t, v, a, org)

			err := a.CreateOrg(ctx, org)
			assert.ErrorIs(t, err, admin.ErrNotManaged)
			assert.Equal(t, policiesBefore, orgPolicies(t, v, a, org), "CreateOrg changed no policy")

			err = a.DeleteOrg(ctx, org)
			assert.ErrorIs(t, err, admin.ErrNotManaged)
			assert.Equal(t, policiesBefore, orgPolicies(t, v, a, org), "DeleteOrg deleted no policy")
		})
	}

	t.Run("hand-made group refused by member edits", func(t *testing.T) {
		a := newAdmin(t, v, admin.Config{NamePrefix: edgetest.UniqueName("np")})
		org := edgetest.UniqueName("org")
		name, err := a.OrgMembersGroupName(org)
		require.NoError(t, err)
		_, err = root.Logical().Write("identity/group/name/"+name, map[string]any{"policies": []string{"default"}})
		require.NoError(t, err)
		u := v.NewUser(t, edgetest.WithPolicies())
		assert.ErrorIs(t, a.AddMember(ctx, org, u.EntityID), admin.ErrNotManaged)
		_, err = a.Members(ctx, org)
		assert.ErrorIs(t, err, admin.ErrNotManaged)
		assert.Empty(t, readGroup(t, v, name).Data["member_entity_ids"])
	})
}

// orgPolicies returns the texts of org's two policies ("" for none).
func orgPolicies(t *testing.T, v *edgetest.Vault, a *admin.Admin, org string) [2]string {
	t.Helper()
	root := v.RootClient(t)
	var out [2]string
	for i, f := range []func(string) (string, error){a.OrgMembersPolicyName, a.OrgAdminsPolicyName} {
		name, err := f(org)
		require.NoError(t, err)
		out[i], err = root.Sys().GetPolicy(name)
		require.NoError(t, err)
	}
	return out
}

func TestMembership(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{})

	tests := []struct {
		name   string
		add    func(context.Context, string, string) error
		remove func(context.Context, string, string) error
		list   func(context.Context, string) ([]string, error)
		other  func(context.Context, string) ([]string, error) // the other role's list
	}{
		{"members", a.AddMember, a.RemoveMember, a.Members, a.Admins},
		{"admins", a.AddAdmin, a.RemoveAdmin, a.Admins, a.Members},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			org := edgetest.UniqueName("org")
			require.NoError(t, a.CreateOrg(ctx, org))
			noPolicies := edgetest.WithPolicies() // only "default": only the entities matter
			u1, u2, u3 := v.NewUser(t, noPolicies), v.NewUser(t, noPolicies), v.NewUser(t, noPolicies)
			sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
			list := func() []string {
				ids, err := tt.list(ctx, org)
				require.NoError(t, err)
				return ids
			}

			for range 2 {
				require.NoError(t, tt.add(ctx, org, u1.EntityID))
			}
			assert.Equal(t, []string{u1.EntityID}, list(), "added twice, listed once")
			require.NoError(t, tt.add(ctx, org, u2.EntityID))
			require.NoError(t, tt.add(ctx, org, u3.EntityID))
			assert.Equal(t, sorted(u1.EntityID, u2.EntityID, u3.EntityID), list(), "sorted")
			others, err := tt.other(ctx, org)
			require.NoError(t, err)
			assert.Empty(t, others, "the other role is untouched")

			for range 2 {
				require.NoError(t, tt.remove(ctx, org, u2.EntityID))
			}
			assert.Equal(t, sorted(u1.EntityID, u3.EntityID), list(), "removed twice")

			require.NoError(t, tt.remove(ctx, org, v.NewUser(t, noPolicies).EntityID), "removing a non-member")
			require.NoError(t, tt.remove(ctx, org, "00000000-0000-0000-0000-000000000000"), "removing an unknown entity")

			require.NoError(t, tt.remove(ctx, org, u1.EntityID))
			require.NoError(t, tt.remove(ctx, org, u3.EntityID))
			assert.Equal(t, []string{}, list(), "the last one removed")

			err = tt.add(ctx, org, "00000000-0000-0000-0000-000000000000")
			assert.ErrorIs(t, err, admin.ErrUnknownEntity)
			assert.ErrorIs(t, err, edge.ErrNotFound)
			assert.Equal(t, []string{}, list(), "an unknown entity is not added")
		})
	}
}

func TestUnknownOrg(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{})
	org := edgetest.UniqueName("nosuchorg")
	u := v.NewUser(t, edgetest.WithPolicies())

	tests := []struct {
		name string
		call func() error
	}{
		{"AddMember", func() error { return a.AddMember(ctx, org, u.EntityID) }},
		{"RemoveMember", func() error { return a.RemoveMember(ctx, org, u.EntityID) }},
		{"AddAdmin", func() error { return a.AddAdmin(ctx, org, u.EntityID) }},
		{"RemoveAdmin", func() error { return a.RemoveAdmin(ctx, org, u.EntityID) }},
		{"Members", func() error { _, err := a.Members(ctx, org); return err }},
		{"Admins", func() error { _, err := a.Admins(ctx, org); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			assert.ErrorIs(t, err, admin.ErrUnknownOrg)
			assert.ErrorIs(t, err, edge.ErrNotFound)
			var ae *admin.Error
			if assert.ErrorAs(t, err, &ae) {
				assert.Equal(t, org, ae.Org)
			}
		})
	}
	// Nothing was created on the way.
	name, err := a.OrgMembersGroupName(org)
	require.NoError(t, err)
	assert.Nil(t, readGroup(t, v, name))
}

func TestDeleteOrg(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{})
	org := edgetest.UniqueName("org")
	require.NoError(t, a.CreateOrg(ctx, org))
	u := v.NewUser(t)
	require.NoError(t, a.AddMember(ctx, org, u.EntityID))
	secret := seed(t, orgScope(v, org))

	for i := range 2 {
		require.NoError(t, a.DeleteOrg(ctx, org), "call %d", i+1)
	}

	assert.Equal(t, [2]string{}, orgPolicies(t, v, a, org), "policies deleted")
	for _, f := range []func(string) (string, error){a.OrgMembersGroupName, a.OrgAdminsGroupName} {
		name, err := f(org)
		require.NoError(t, err)
		assert.Nil(t, readGroup(t, v, name), "group %s deleted", name)
	}
	_, err := a.Members(ctx, org)
	assert.ErrorIs(t, err, admin.ErrUnknownOrg)
	assert.ErrorIs(t, a.AddMember(ctx, org, u.EntityID), admin.ErrUnknownOrg)

	// The secrets stay, out of the former member's reach.
	s, err := v.RootClient(t).Logical().Read(orgScope(v, org).data + "/" + secret)
	require.NoError(t, err)
	assert.NotNil(t, s, "the org's secrets are kept")
	_, err = newClient(t, v, u.Token).Logical().Read(orgScope(v, org).data + "/" + secret)
	assert.Equal(t, 403, status(err))

	// And the org can be created again, empty.
	require.NoError(t, a.CreateOrg(ctx, org))
	ids, err := a.Members(ctx, org)
	require.NoError(t, err)
	assert.Empty(t, ids)

	assert.NoError(t, a.DeleteOrg(ctx, edgetest.UniqueName("neverexisted")))
}

// TestConcurrentEdits checks that one Admin serializes concurrent edits of
// one org: no edit is lost.
func TestConcurrentEdits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{})
	org := edgetest.UniqueName("org")
	require.NoError(t, a.CreateOrg(ctx, org))

	const n = 12
	var ids []string
	for range n {
		ids = append(ids, v.NewUser(t, edgetest.WithPolicies()).EntityID)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	for _, id := range ids {
		wg.Add(3)
		go func() { defer wg.Done(); errs <- a.AddMember(ctx, org, id) }()
		go func() { defer wg.Done(); errs <- a.AddAdmin(ctx, org, id) }()
		go func() { defer wg.Done(); errs <- a.CreateOrg(ctx, org) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	slices.Sort(ids)
	members, err := a.Members(ctx, org)
	require.NoError(t, err)
	assert.Equal(t, ids, members)
	admins, err := a.Admins(ctx, org)
	require.NoError(t, err)
	assert.Equal(t, ids, admins)

	// And the same for removals.
	for _, id := range ids {
		wg.Add(2)
		go func() { defer wg.Done(); assert.NoError(t, a.RemoveMember(ctx, org, id)) }()
		go func() { defer wg.Done(); assert.NoError(t, a.RemoveAdmin(ctx, org, id)) }()
	}
	wg.Wait()
	members, err = a.Members(ctx, org)
	require.NoError(t, err)
	assert.Empty(t, members)
}

// TestOperatorPolicy checks that the operator policy is enough for every
// Admin method, and that it reaches no further than its name prefix.
func TestOperatorPolicyIntegration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	cfg := admin.Config{Mount: edgetest.UniqueName("kv"), NamePrefix: edgetest.UniqueName("op")}
	text, err := newAdmin(t, v, cfg).OperatorPolicy()
	require.NoError(t, err)
	policy := edgetest.UniqueName("operator")
	require.NoError(t, v.RootClient(t).Sys().PutPolicy(policy, text))
	cfg.Client = newClient(t, v, entityless(t, v, policy))
	a := newAdmin(t, v, cfg)

	org := edgetest.UniqueName("org")
	u := v.NewUser(t, edgetest.WithPolicies(a.UserPolicyName()))
	steps := []struct {
		name string
		do   func() error
	}{
		{"Setup (enables the mount)", func() error { return a.Setup(ctx) }},
		{"Setup again", func() error { return a.Setup(ctx) }},
		{"CreateOrg", func() error { return a.CreateOrg(ctx, org) }},
		{"CreateOrg again", func() error { return a.CreateOrg(ctx, org) }},
		{"AddMember", func() error { return a.AddMember(ctx, org, u.EntityID) }},
		{"AddAdmin", func() error { return a.AddAdmin(ctx, org, u.EntityID) }},
		{"Members", func() error {
			ids, err := a.Members(ctx, org)
			if err == nil && !slices.Equal(ids, []string{u.EntityID}) {
				err = fmt.Errorf("members %q", ids)
			}
			return err
		}},
		{"Admins", func() error { _, err := a.Admins(ctx, org); return err }},
		{"RemoveMember", func() error { return a.RemoveMember(ctx, org, u.EntityID) }},
		{"RemoveAdmin", func() error { return a.RemoveAdmin(ctx, org, u.EntityID) }},
		{"OffboardUser", func() error { return a.OffboardUser(ctx, u.EntityID) }},
		{"OffboardUser again", func() error { return a.OffboardUser(ctx, u.EntityID) }},
		{"DeleteUserSecrets", func() error {
			_, err := v.RootClient(t).Logical().Write(a.Mount()+"/data/"+a.Prefix()+"/users/"+u.EntityID+"/s",
				map[string]any{"data": map[string]any{"v": "1"}})
			if err != nil {
				return err
			}
			return a.DeleteUserSecrets(ctx, u.EntityID)
		}},
		{"DeleteOrg", func() error { return a.DeleteOrg(ctx, org) }},
		{"DeleteOrg again", func() error { return a.DeleteOrg(ctx, org) }},
	}
	for _, s := range steps { // in order: each builds on the last
		require.NoError(t, s.do(), s.name)
	}

	// The same token cannot manage other names.
	cfg.NamePrefix = edgetest.UniqueName("elsewhere")
	b := newAdmin(t, v, cfg)
	assert.ErrorIs(t, b.Setup(ctx), edge.ErrPermissionDenied)
	assert.ErrorIs(t, b.CreateOrg(ctx, org), edge.ErrPermissionDenied)
}
