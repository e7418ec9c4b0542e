package admin_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/admin"
	"github.com/edgesdk/edge/edgetest"
)

// login logs in to userpass as name and returns the token and its
// entity id.
func login(t *testing.T, v *edgetest.Vault, name, password string) (token, entityID string) {
	t.Helper()
	s, err := newClient(t, v, "").Logical().Write("auth/userpass/login/"+name, map[string]any{"password": password})
	require.NoError(t, err, "logging in as %s", name)
	require.NotNil(t, s)
	require.NotNil(t, s.Auth)
	return s.Auth.ClientToken, s.Auth.EntityID
}

// reads returns the HTTP status of a read of each of paths with token:
// 0 for a read that returned the secret, 403 for a refusal.
func reads(t *testing.T, v *edgetest.Vault, token string, paths []string) []int {
	t.Helper()
	c := newClient(t, v, token)
	var got []int
	for _, p := range paths {
		s, err := c.Logical().Read(p)
		if err == nil && (s == nil || s.Data["data"] == nil) {
			got = append(got, 404) // nothing there
			continue
		}
		got = append(got, status(err))
	}
	return got
}

// TestOffboardUserLeavesNoAccess is about offboarding (issue 19, item 11):
// deleting a userpass user leaves its tokens, its entity and the entity's
// group memberships, and a user re-created with the same name re-attaches
// the entity. After OffboardUser, neither the old tokens nor a re-created
// user may read anything of the old user's.
func TestOffboardUserLeavesNoAccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{})
	root := v.RootClient(t)

	tests := []struct {
		name   string
		before func(t *testing.T, u edgetest.User) // a partial earlier attempt, say
	}{
		{"active user", func(*testing.T, edgetest.User) {}},
		{"userpass user already deleted", func(t *testing.T, u edgetest.User) {
			_, err := root.Logical().Delete("auth/userpass/users/" + u.Name)
			require.NoError(t, err)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := v.NewUser(t)
			memberOf, adminOf := v.NewOrg(t), v.NewOrg(t)
			v.AddMember(t, memberOf, u)
			v.AddAdmin(t, adminOf, u)
			secrets := []string{
				userScope(v, u.EntityID).data + "/" + seed(t, userScope(v, u.EntityID)),
				orgScope(v, memberOf).data + "/" + seed(t, orgScope(v, memberOf)),
				orgScope(v, adminOf).data + "/" + seed(t, orgScope(v, adminOf)),
			}
			// A second token, from a login that spells the name in upper
			// case (userpass accepts it).
			upper, entity := login(t, v, strings.ToUpper(u.Name), u.Password)
			require.Equal(t, u.EntityID, entity)
			oldTokens := []string{u.Token, upper}
			for _, tok := range oldTokens {
				require.Equal(t, []int{0, 0, 0}, reads(t, v, tok, secrets), "before offboarding")
			}
			tt.before(t, u)

			require.NoError(t, a.OffboardUser(ctx, u.EntityID))

			// (a) The old tokens read nothing, and are gone: Vault
			// refuses them because their entity is, and no longer
			// knows them.
			for i, tok := range oldTokens {
				assert.Equal(t, []int{denied, denied, denied}, reads(t, v, tok, secrets), "old token %d", i)
				_, err := root.Auth().Token().Lookup(tok)
				assert.Error(t, err, "root looks up old token %d", i)
			}
			// (b) A user re-created with the same name and a new
			// password is a new person: a new entity, in no org, and
			// none of the old user's secrets.
			newUser := recreate(t, v, u.Name, a.UserPolicyName())
			assert.NotEqual(t, u.EntityID, newUser.entity, "the re-created user has a new entity")
			assert.Equal(t, []int{denied, denied, denied}, reads(t, v, newUser.token, secrets), "re-created user")
			for _, org := range []string{memberOf, adminOf} {
				members, err := a.Members(ctx, org)
				require.NoError(t, err)
				admins, err := a.Admins(ctx, org)
				require.NoError(t, err)
				assert.Empty(t, members, "members of %s", org)
				assert.Empty(t, admins, "admins of %s", org)
			}
			// (c) Offboarding again succeeds.
			assert.NoError(t, a.OffboardUser(ctx, u.EntityID))
		})
	}
}

type recreated struct{ token, entity string }

// recreate makes userpass user name, with a new password and policy,
// and logs in as it.
func recreate(t *testing.T, v *edgetest.Vault, name, policy string) recreated {
	t.Helper()
	password := edgetest.UniqueName("new-pw")
	_, err := v.RootClient(t).Logical().Write("auth/userpass/users/"+name, map[string]any{
		"password":       password,
		"token_policies": []string{policy},
	})
	require.NoError(t, err)
	token, entity := login(t, v, name, password)
	return recreated{token, entity}
}

func TestOffboardInputs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{})
	methods := []struct {
		name string
		do   func(entityID string) error
	}{
		{"OffboardUser", func(id string) error { return a.OffboardUser(ctx, id) }},
		{"DeleteUserSecrets", func(id string) error { return a.DeleteUserSecrets(ctx, id) }},
	}
	tests := []struct {
		name     string
		entityID string
		wantKind error // nil for success
	}{
		{"no such entity", "00000000-0000-0000-0000-000000000000", nil},
		{"empty", "", edge.ErrBadEntry},
		{"path", "../sys", edge.ErrBadEntry},
		{"token", "hvs.CAESIJ-not-a-real-token", edge.ErrBadEntry},
	}
	for _, m := range methods {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				err := m.do(tt.entityID)
				if tt.wantKind == nil {
					assert.NoError(t, err)
					return
				}
				assert.ErrorIs(t, err, tt.wantKind)
				var e *admin.Error
				require.ErrorAs(t, err, &e)
				assert.Empty(t, e.EntityID, "an invalid id is not recorded")
				if tt.entityID != "" {
					assert.NotContains(t, err.Error(), tt.entityID)
				}
			})
		}
	}
}

func TestDeleteUserSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{})
	root := v.RootClient(t)
	write := func(entityID, name string) {
		t.Helper()
		_, err := root.Logical().Write(userScope(v, entityID).data+"/"+name, map[string]any{"data": map[string]any{"v": "x"}})
		require.NoError(t, err)
	}
	keys := func(entityID string) []any {
		t.Helper()
		s, err := root.Logical().List(userScope(v, entityID).meta)
		require.NoError(t, err)
		if s == nil {
			return nil
		}
		return s.Data["keys"].([]any)
	}
	other := v.NewUser(t)
	write(other.EntityID, "kept")

	tests := []struct {
		name     string
		names    []string // written, in order
		wantKind error
		wantLeft []any
	}{
		{"secrets, versions and a folder", []string{"a", "a", "b", "dir/c"}, nil, nil},
		{"no secrets", nil, nil, nil},
		{"a key edge would not write", []string{"ok", "not.edge"}, edge.ErrBadEntry, []any{"not.edge"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := v.NewUser(t)
			for _, n := range tt.names {
				write(u.EntityID, n)
			}
			for i := range 2 { // idempotent
				err := a.DeleteUserSecrets(ctx, u.EntityID)
				if tt.wantKind == nil {
					require.NoError(t, err, "call %d", i+1)
				} else {
					require.ErrorIs(t, err, tt.wantKind, "call %d", i+1)
					assert.NotContains(t, err.Error(), "not.edge", "the key is not echoed")
				}
			}
			assert.Equal(t, tt.wantLeft, keys(u.EntityID))
			if slices.Contains(tt.names, "a") {
				s, err := root.Logical().ReadWithData(userScope(v, u.EntityID).data+"/a", map[string][]string{"version": {"1"}})
				require.NoError(t, err)
				assert.Nil(t, s, "no old version is left")
			}
			assert.Equal(t, []any{"kept"}, keys(other.EntityID), "another user's secrets stay")
		})
	}
}
