package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge/admin"
	"github.com/edgesdk/edge/edgetest"
)

// These tests check that Vault itself enforces the access model, with raw
// vault/api requests (not the edge SDK) shaped like the SDK's: tokens of
// users holding only the policies Admin writes (through the "edge-user"
// policy and the org groups) try the operations on user and org
// secrets.

// scope is a folder of secrets in a Vault: the KV v2 data and metadata
// paths of a user's or an org's secrets.
type scope struct {
	v    *edgetest.Vault
	data string // <mount>/data/<prefix>/users/<entity>
	meta string // <mount>/metadata/<prefix>/users/<entity>
}

func userScope(v *edgetest.Vault, entityID string) scope {
	return scope{v, v.Mount() + "/data/edge/users/" + entityID, v.Mount() + "/metadata/edge/users/" + entityID}
}

func orgScope(v *edgetest.Vault, org string) scope {
	return scope{v, v.Mount() + "/data/edge/orgs/" + org, v.Mount() + "/metadata/edge/orgs/" + org}
}

// seed writes a fresh secret in sc with the root token and returns its
// name.
func seed(t *testing.T, sc scope) string {
	t.Helper()
	name := edgetest.UniqueName("s")
	_, err := sc.v.RootClient(t).Logical().WriteWithContext(context.Background(), sc.data+"/"+name,
		map[string]any{"data": map[string]any{"v": "seed"}})
	require.NoError(t, err)
	return name
}

// kvOp is one of the operations (the six, and the history ones), done the way the SDK does it.
type kvOp struct {
	name string
	do   func(t *testing.T, c *api.Client, sc scope) error
}

var kvOps = []kvOp{
	{"list", func(t *testing.T, c *api.Client, sc scope) error {
		// LIST <mount>/metadata/<scope>; Vault checks the ACL on the path
		// with a trailing slash.
		seed(t, sc)
		s, err := c.Logical().ListWithContext(context.Background(), sc.meta)
		if err == nil && (s == nil || len(s.Data["keys"].([]any)) == 0) {
			return errors.New("list returned no keys")
		}
		return err
	}},
	{"read", func(t *testing.T, c *api.Client, sc scope) error {
		s, err := c.Logical().ReadWithContext(context.Background(), sc.data+"/"+seed(t, sc))
		if err == nil && (s == nil || s.Data["data"].(map[string]any)["v"] != "seed") {
			return errors.New("read returned no value")
		}
		return err
	}},
	{"wrap", func(t *testing.T, c *api.Client, sc scope) error {
		wc := c.WithRequestCallbacks(func(r *api.Request) { r.WrapTTL = "60s" })
		s, err := wc.Logical().ReadWithContext(context.Background(), sc.data+"/"+seed(t, sc))
		if err != nil {
			return err
		}
		if s == nil || s.WrapInfo == nil || s.WrapInfo.Token == "" || s.Data != nil {
			return errors.New("read was not wrapped")
		}
		// A receiver with only the default policy can unwrap it.
		receiver := sc.v.NewUser(t, edgetest.WithPolicies())
		u, err := newClient(t, sc.v, receiver.Token).Logical().UnwrapWithContext(context.Background(), s.WrapInfo.Token)
		require.NoError(t, err, "unwrapping with a default-policy token")
		require.NotNil(t, u)
		assert.Equal(t, "seed", u.Data["data"].(map[string]any)["v"])
		return nil
	}},
	{"create", func(t *testing.T, c *api.Client, sc scope) error {
		_, err := c.Logical().WriteWithContext(context.Background(), sc.data+"/"+edgetest.UniqueName("n"), map[string]any{
			"options": map[string]any{"cas": 0},
			"data":    map[string]any{"v": "new"},
		})
		return err
	}},
	{"update", func(t *testing.T, c *api.Client, sc scope) error {
		// GET the metadata for current_version, then PUT with cas.
		name := seed(t, sc)
		m, err := c.Logical().ReadWithContext(context.Background(), sc.meta+"/"+name)
		if err != nil {
			return err
		}
		if m == nil {
			return errors.New("no metadata")
		}
		version := m.Data["current_version"].(json.Number)
		_, err = c.Logical().WriteWithContext(context.Background(), sc.data+"/"+name, map[string]any{
			"options": map[string]any{"cas": version},
			"data":    map[string]any{"v": "updated"},
		})
		return err
	}},
	{"versions", func(t *testing.T, c *api.Client, sc scope) error {
		// GET the metadata: every version's number and times, no value.
		name := seed(t, sc)
		m, err := c.Logical().ReadWithContext(context.Background(), sc.meta+"/"+name)
		if err == nil && (m == nil || len(m.Data["versions"].(map[string]any)) != 1) {
			return errors.New("metadata without versions")
		}
		return err
	}},
	{"read-version", func(t *testing.T, c *api.Client, sc scope) error {
		// GET ?version=1 of a secret whose latest version is 2.
		name := seedTwice(t, sc)
		s, err := c.Logical().ReadWithDataWithContext(context.Background(), sc.data+"/"+name, map[string][]string{"version": {"1"}})
		if err == nil && (s == nil || s.Data["data"].(map[string]any)["v"] != "seed") {
			return errors.New("read of version 1 returned another value")
		}
		return err
	}},
	{"rollback", func(t *testing.T, c *api.Client, sc scope) error {
		// Read version 1, then write it as version 3 with cas=2, as
		// RollbackUserSecret does.
		name := seedTwice(t, sc)
		ctx := context.Background()
		m, err := c.Logical().ReadWithContext(ctx, sc.meta+"/"+name)
		if err != nil {
			return err
		}
		old, err := c.Logical().ReadWithDataWithContext(ctx, sc.data+"/"+name, map[string][]string{"version": {"1"}})
		if err != nil {
			return err
		}
		_, err = c.Logical().WriteWithContext(ctx, sc.data+"/"+name, map[string]any{
			"options": map[string]any{"cas": m.Data["current_version"]},
			"data":    old.Data["data"],
		})
		if err == nil {
			s, rerr := sc.v.RootClient(t).Logical().ReadWithContext(ctx, sc.data+"/"+name)
			require.NoError(t, rerr)
			assert.Equal(t, "seed", s.Data["data"].(map[string]any)["v"], "version 3 holds version 1's value")
			assert.Equal(t, json.Number("3"), s.Data["metadata"].(map[string]any)["version"])
		}
		return err
	}},
	{"delete", func(t *testing.T, c *api.Client, sc scope) error {
		// DELETE the metadata: every version goes.
		name := seed(t, sc)
		_, err := c.Logical().DeleteWithContext(context.Background(), sc.meta+"/"+name)
		if err == nil {
			s, rerr := sc.v.RootClient(t).Logical().ReadWithContext(context.Background(), sc.meta+"/"+name)
			require.NoError(t, rerr)
			assert.Nil(t, s, "the secret is gone after delete")
		}
		return err
	}},
}

// seedTwice writes a fresh secret in sc with the root token, "seed" then
// "rotated", and returns its name.
func seedTwice(t *testing.T, sc scope) string {
	t.Helper()
	name := seed(t, sc)
	_, err := sc.v.RootClient(t).Logical().WriteWithContext(context.Background(), sc.data+"/"+name,
		map[string]any{"data": map[string]any{"v": "rotated"}})
	require.NoError(t, err)
	return name
}

const (
	allOps = "list read wrap create update delete versions read-version rollback"
	// readOps: members list, read and wrap the latest version, and list
	// the versions (numbers and times), never an older value.
	readOps  = "list read wrap versions"
	noOps    = ""
	denied   = 403
	noStatus = 0
)

// checkOps runs every operation as c on sc and checks that exactly those
// in allowed (space separated names) succeed, and the others get 403.
func checkOps(t *testing.T, c *api.Client, sc scope, allowed string) {
	t.Helper()
	ok := map[string]bool{}
	for _, name := range strings.Fields(allowed) {
		ok[name] = true
	}
	for _, op := range kvOps {
		t.Run(op.name, func(t *testing.T) {
			err := op.do(t, c, sc)
			if ok[op.name] {
				assert.NoError(t, err)
			} else {
				assert.Equal(t, denied, status(err), "want 403, got %v", err)
			}
		})
	}
}

// status returns the HTTP status of a vault/api error, 0 for no error,
// -1 for an error without one.
func status(err error) int {
	if err == nil {
		return noStatus
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return -1
}

// entityless returns a token holding policies but no identity entity
// (made by the root token, which has none).
func entityless(t *testing.T, v *edgetest.Vault, policies ...string) string {
	t.Helper()
	s, err := v.RootClient(t).Auth().Token().CreateWithContext(context.Background(), &api.TokenCreateRequest{Policies: policies})
	require.NoError(t, err)
	return s.Auth.ClientToken
}

func TestEnforceUserSecrets(t *testing.T) {
	t.Parallel()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{})
	ctx := context.Background()
	org := edgetest.UniqueName("org")
	require.NoError(t, a.CreateOrg(ctx, org))

	// Users holding the Edge user policy: a's, of the default deployment.
	owner := v.NewUser(t)
	other := v.NewUser(t)
	orgAdmin := v.NewUser(t)
	require.NoError(t, a.AddAdmin(ctx, org, orgAdmin.EntityID))
	require.NoError(t, a.AddMember(ctx, org, orgAdmin.EntityID))

	tests := []struct {
		name    string
		token   string
		scope   scope
		allowed string
	}{
		{"owner on own secrets", owner.Token, userScope(v, owner.EntityID), allOps},
		{"other user on own secrets", other.Token, userScope(v, other.EntityID), allOps},
		{"other user on owner's secrets", other.Token, userScope(v, owner.EntityID), noOps},
		{"org admin on owner's secrets", orgAdmin.Token, userScope(v, owner.EntityID), noOps},
		{"owner on other user's secrets", owner.Token, userScope(v, other.EntityID), noOps},
		{"token without entity", entityless(t, v, a.UserPolicyName()), userScope(v, owner.EntityID), noOps},
		{"default policy only", v.NewUser(t, edgetest.WithPolicies()).Token, userScope(v, owner.EntityID), noOps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkOps(t, newClient(t, v, tt.token), tt.scope, tt.allowed)
		})
	}
}

// TestEnforceParentPaths checks that nobody can list who has secrets or
// which orgs exist, nor read a folder as a secret.
func TestEnforceParentPaths(t *testing.T) {
	t.Parallel()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{})
	ctx := context.Background()
	org := edgetest.UniqueName("org")
	require.NoError(t, a.CreateOrg(ctx, org))
	user := v.NewUser(t)
	require.NoError(t, a.AddAdmin(ctx, org, user.EntityID))
	require.NoError(t, a.AddMember(ctx, org, user.EntityID))
	// Something to list in each folder.
	seed(t, userScope(v, user.EntityID))
	seed(t, orgScope(v, org))

	m := v.Mount()
	tests := []struct {
		name string
		do   func(c *api.Client) error
	}{
		{"list users", func(c *api.Client) error { _, err := c.Logical().List(m + "/metadata/edge/users"); return err }},
		{"list users with slash", func(c *api.Client) error { _, err := c.Logical().List(m + "/metadata/edge/users/"); return err }},
		{"list orgs", func(c *api.Client) error { _, err := c.Logical().List(m + "/metadata/edge/orgs"); return err }},
		{"list prefix", func(c *api.Client) error { _, err := c.Logical().List(m + "/metadata/edge"); return err }},
		{"list mount", func(c *api.Client) error { _, err := c.Logical().List(m + "/metadata"); return err }},
		{"read own folder as data", func(c *api.Client) error {
			_, err := c.Logical().Read(m + "/data/edge/users/" + user.EntityID)
			return err
		}},
		{"read own folder metadata", func(c *api.Client) error {
			_, err := c.Logical().Read(m + "/metadata/edge/users/" + user.EntityID)
			return err
		}},
		{"read org folder metadata", func(c *api.Client) error { _, err := c.Logical().Read(m + "/metadata/edge/orgs/" + org); return err }},
		{"write nested user path", func(c *api.Client) error {
			_, err := c.Logical().Write(m+"/data/edge/users/"+user.EntityID+"/a/b", map[string]any{"data": map[string]any{"v": "1"}})
			return err
		}},
		{"list nested org path", func(c *api.Client) error {
			_, err := c.Logical().List(m + "/metadata/edge/orgs/" + org + "/a")
			return err
		}},
		{"soft delete own version", func(c *api.Client) error {
			_, err := c.Logical().Delete(m + "/data/edge/users/" + user.EntityID + "/x")
			return err
		}},
		{"destroy own versions", func(c *api.Client) error {
			_, err := c.Logical().Write(m+"/destroy/edge/users/"+user.EntityID+"/x", map[string]any{"versions": []int{1}})
			return err
		}},
	}
	c := newClient(t, v, user.Token)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do(c)
			assert.Equal(t, denied, status(err), "want 403, got %v", err)
		})
	}
}

func TestEnforceOrgSecrets(t *testing.T) {
	t.Parallel()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{})
	ctx := context.Background()
	org, otherOrg := edgetest.UniqueName("org"), edgetest.UniqueName("org")
	require.NoError(t, a.CreateOrg(ctx, org))
	require.NoError(t, a.CreateOrg(ctx, otherOrg))

	member, orgAdmin, both, outsider, otherMember := v.NewUser(t), v.NewUser(t), v.NewUser(t), v.NewUser(t), v.NewUser(t)
	require.NoError(t, a.AddMember(ctx, org, member.EntityID))
	require.NoError(t, a.AddAdmin(ctx, org, orgAdmin.EntityID))
	require.NoError(t, a.AddMember(ctx, org, both.EntityID))
	require.NoError(t, a.AddAdmin(ctx, org, both.EntityID))
	require.NoError(t, a.AddMember(ctx, otherOrg, otherMember.EntityID))
	require.NoError(t, a.AddAdmin(ctx, otherOrg, otherMember.EntityID))

	tests := []struct {
		name    string
		token   string
		allowed string
	}{
		{"member", member.Token, readOps},
		{"admin", orgAdmin.Token, allOps},
		{"member and admin", both.Token, allOps},
		{"user in no group", outsider.Token, noOps},
		{"admin of another org", otherMember.Token, noOps},
		{"token without entity", entityless(t, v, a.UserPolicyName()), noOps},
		{"default policy only", v.NewUser(t, edgetest.WithPolicies()).Token, noOps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkOps(t, newClient(t, v, tt.token), orgScope(v, org), tt.allowed)
		})
	}
}

// TestEnforceMembershipChanges checks that Vault applies membership
// changes from the next request on, with no new login.
func TestEnforceMembershipChanges(t *testing.T) {
	t.Parallel()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{})
	ctx := context.Background()
	org := edgetest.UniqueName("org")
	require.NoError(t, a.CreateOrg(ctx, org))
	sc := orgScope(v, org)
	name := seed(t, sc)

	u := v.NewUser(t) // logged in before any change
	c := newClient(t, v, u.Token)
	read := func() error { _, err := c.Logical().Read(sc.data + "/" + name); return err }
	list := func() error { _, err := c.Logical().List(sc.meta); return err }
	create := func() error {
		_, err := c.Logical().Write(sc.data+"/"+edgetest.UniqueName("n"), map[string]any{"options": map[string]any{"cas": 0}, "data": map[string]any{"v": "1"}})
		return err
	}

	steps := []struct {
		name              string
		change            func() error
		read, list, write int // wanted status: 0 (allowed) or 403
	}{
		{"before joining", func() error { return nil }, denied, denied, denied},
		{"added as member", func() error { return a.AddMember(ctx, org, u.EntityID) }, noStatus, noStatus, denied},
		{"added as admin", func() error { return a.AddAdmin(ctx, org, u.EntityID) }, noStatus, noStatus, noStatus},
		{"removed as member, still admin", func() error { return a.RemoveMember(ctx, org, u.EntityID) }, noStatus, noStatus, noStatus},
		{"removed as admin", func() error { return a.RemoveAdmin(ctx, org, u.EntityID) }, denied, denied, denied},
		{"member again", func() error { return a.AddMember(ctx, org, u.EntityID) }, noStatus, noStatus, denied},
		{"removed as member", func() error { return a.RemoveMember(ctx, org, u.EntityID) }, denied, denied, denied},
		{"member again before org deleted", func() error { return a.AddMember(ctx, org, u.EntityID) }, noStatus, noStatus, denied},
		{"org deleted", func() error { return a.DeleteOrg(ctx, org) }, denied, denied, denied},
	}
	// Steps build on each other: no subtests, stop at the first failed
	// change.
	for _, s := range steps {
		require.NoError(t, s.change(), s.name)
		// Straight after the change: no sleep, no retry.
		assert.Equal(t, s.read, status(read()), "%s: read", s.name)
		assert.Equal(t, s.list, status(list()), "%s: list", s.name)
		assert.Equal(t, s.write, status(create()), "%s: create", s.name)
	}
}

// TestEnforceCaseSensitiveOrgs checks that two orgs whose names differ in
// case only, which Vault's case-insensitive policy and group names could
// confuse, stay apart.
func TestEnforceCaseSensitiveOrgs(t *testing.T) {
	t.Parallel()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{})
	ctx := context.Background()
	upper := strings.ToUpper(edgetest.UniqueName("Org"))
	lower := strings.ToLower(upper)
	require.NoError(t, a.CreateOrg(ctx, upper))
	require.NoError(t, a.CreateOrg(ctx, lower))

	upperAdmin, lowerAdmin := v.NewUser(t), v.NewUser(t)
	require.NoError(t, a.AddAdmin(ctx, upper, upperAdmin.EntityID))
	require.NoError(t, a.AddAdmin(ctx, lower, lowerAdmin.EntityID))

	for _, org := range []string{upper, lower} {
		for _, r := range []func(string) (string, error){a.OrgMembersPolicyName, a.OrgAdminsPolicyName} {
			name, err := r(org)
			require.NoError(t, err)
			text, err := v.RootClient(t).Sys().GetPolicy(name)
			require.NoError(t, err)
			assert.Contains(t, text, "/orgs/"+org+"/", "policy %s is for org %s", name, org)
		}
	}
	tests := []struct {
		name    string
		token   string
		scope   scope
		allowed string
	}{
		{"upper admin on upper", upperAdmin.Token, orgScope(v, upper), allOps},
		{"upper admin on lower", upperAdmin.Token, orgScope(v, lower), noOps},
		{"lower admin on lower", lowerAdmin.Token, orgScope(v, lower), allOps},
		{"lower admin on upper", lowerAdmin.Token, orgScope(v, upper), noOps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkOps(t, newClient(t, v, tt.token), tt.scope, tt.allowed)
		})
	}
}

// TestEnforceOldVersions checks the members policy's rule on KV v2
// versions: members read, wrap and list the latest version as before, and
// Vault refuses them any read with the version parameter (any value, any
// spelling of the name), plain or wrapped; admins read and wrap older
// versions; so does an entity in both groups: the members' data rule is a
// glob ("<org>/*") and the admins' a "+" at the same position, which
// Vault prefers, applying the admins' rule alone (no version rule).
func TestEnforceOldVersions(t *testing.T) {
	t.Parallel()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{})
	ctx := context.Background()
	org := edgetest.UniqueName("org")
	require.NoError(t, a.CreateOrg(ctx, org))
	member, orgAdmin, both := v.NewUser(t), v.NewUser(t), v.NewUser(t)
	require.NoError(t, a.AddMember(ctx, org, member.EntityID))
	require.NoError(t, a.AddAdmin(ctx, org, orgAdmin.EntityID))
	require.NoError(t, a.AddMember(ctx, org, both.EntityID))
	require.NoError(t, a.AddAdmin(ctx, org, both.EntityID))

	sc := orgScope(v, org)
	name := seed(t, sc) // version 1: "seed"
	_, err := v.RootClient(t).Logical().WriteWithContext(ctx, sc.data+"/"+name, map[string]any{"data": map[string]any{"v": "rotated"}})
	require.NoError(t, err) // version 2
	path := sc.data + "/" + name
	// A receiver with only the default policy, for the wrapped reads.
	receiver := newClient(t, v, v.NewUser(t, edgetest.WithPolicies()).Token)

	// read reads path with query, wrapped or not, and returns the value
	// and version it got.
	read := func(c *api.Client, query map[string][]string, wrapped bool) (string, json.Number, error) {
		if wrapped {
			c = c.WithRequestCallbacks(func(r *api.Request) { r.WrapTTL = "60s" })
		}
		s, err := c.Logical().ReadWithDataWithContext(ctx, path, query)
		if err != nil {
			return "", "", err
		}
		if wrapped {
			if s == nil || s.WrapInfo == nil || s.Data != nil {
				return "", "", errors.New("read was not wrapped")
			}
			s, err = receiver.Logical().UnwrapWithContext(ctx, s.WrapInfo.Token)
			require.NoError(t, err, "unwrapping with a default-policy token")
		}
		if s == nil {
			return "", "", errors.New("no answer")
		}
		value, _ := s.Data["data"].(map[string]any)["v"].(string)
		version, _ := s.Data["metadata"].(map[string]any)["version"].(json.Number)
		return value, version, nil
	}
	versionQuery := func(n string) map[string][]string { return map[string][]string{"version": {n}} }
	tests := []struct {
		name    string
		query   map[string][]string
		wrapped bool
		value   string // what a principal allowed gets; "" for the latest
		// kvRefuses: KV v2 answers 400 to a principal Vault's ACL lets
		// through.
		kvRefuses bool
	}{
		{"latest", nil, false, "rotated", false},
		{"latest wrapped", nil, true, "rotated", false},
		{"version 1", versionQuery("1"), false, "seed", false},
		{"version 1 wrapped", versionQuery("1"), true, "seed", false},
		{"version 2 (the latest)", versionQuery("2"), false, "rotated", false},
		{"version 0 (the latest)", versionQuery("0"), false, "rotated", false},
		{"version empty", versionQuery(""), false, "rotated", false},
		{"Version 1", map[string][]string{"Version": {"1"}}, false, "", false},
		{"VERSION 1 wrapped", map[string][]string{"VERSION": {"1"}}, true, "", false},
		{"version twice", map[string][]string{"version": {"1", "1"}}, false, "", true},
		{"another parameter", map[string][]string{"other": {"1"}}, false, "rotated", false},
	}
	principals := []struct {
		name     string
		token    string
		versions bool // may use the version parameter
	}{
		{"member", member.Token, false},
		{"admin", orgAdmin.Token, true},
		{"member and admin", both.Token, true},
	}
	for _, pr := range principals {
		t.Run(pr.name, func(t *testing.T) {
			c := newClient(t, v, pr.token)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got, version, err := read(c, tt.query, tt.wrapped)
					hasVersion := false // Vault's ACL lower-cases names
					for k := range tt.query {
						hasVersion = hasVersion || strings.EqualFold(k, "version")
					}
					if hasVersion && !pr.versions {
						assert.Equal(t, denied, status(err), "want 403, got %v", err)
						return
					}
					if tt.kvRefuses {
						assert.Equal(t, 400, status(err), "want 400, got %v", err)
						return
					}
					require.NoError(t, err)
					if tt.value == "" {
						// KV v2 reads only "version": another spelling
						// passes Vault's ACL (which lower-cases) but
						// reads the latest.
						assert.Equal(t, "rotated", got)
						return
					}
					assert.Equal(t, tt.value, got)
					want := map[string]json.Number{"seed": "1", "rotated": "2"}[tt.value]
					assert.Equal(t, want, version)
				})
			}
			t.Run("list", func(t *testing.T) {
				s, err := c.Logical().ListWithContext(ctx, sc.meta)
				require.NoError(t, err)
				assert.Contains(t, s.Data["keys"], name)
			})
		})
	}
}

// TestOldVersionsMaxVersions shows the other way to close the exposure of
// old versions, which this package does not take: a max_versions of 1
// drops the history for everyone, admins included. It also shows that KV
// v2 (v0.15, Vault 1.14) keeps the larger of a secret's max_versions and
// its mount's, so a secret cannot keep fewer versions than its mount says.
func TestOldVersionsMaxVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := edgetest.Start(t).RootClient(t)
	// A mount of its own: the test changes the mount's configuration.
	mount := edgetest.UniqueName("kv")
	require.NoError(t, root.Sys().MountWithContext(ctx, mount, &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}))
	t.Cleanup(func() { _ = root.Sys().UnmountWithContext(context.Background(), mount) })
	require.Eventually(t, func() bool {
		_, err := root.Logical().WriteWithContext(ctx, mount+"/data/probe", map[string]any{"data": map[string]any{"v": "1"}})
		return err == nil
	}, 10*time.Second, 50*time.Millisecond, "the KV v2 mount serves writes")

	tests := []struct {
		name         string
		mountMax     int // 0: not set (KV v2 keeps 10)
		secretMax    int
		keepsVersion bool // version 1 is still there after version 2
	}{
		{"default", 0, 0, true},
		{"secret max_versions 1", 0, 1, false},
		{"mount max_versions 1", 1, 0, false},
		{"secret 1, mount 5: the mount wins", 5, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Subtests in order: the mount configuration is shared.
			_, err := root.Logical().WriteWithContext(ctx, mount+"/config", map[string]any{"max_versions": tt.mountMax})
			require.NoError(t, err)
			key := edgetest.UniqueName("s")
			if tt.secretMax > 0 {
				_, err := root.Logical().WriteWithContext(ctx, mount+"/metadata/"+key, map[string]any{"max_versions": tt.secretMax})
				require.NoError(t, err)
			}
			for _, v := range []string{"old", "new"} {
				_, err := root.Logical().WriteWithContext(ctx, mount+"/data/"+key, map[string]any{"data": map[string]any{"v": v}})
				require.NoError(t, err)
			}
			s, err := root.Logical().ReadWithDataWithContext(ctx, mount+"/data/"+key, map[string][]string{"version": {"1"}})
			require.NoError(t, err)
			if !tt.keepsVersion {
				assert.Nil(t, s, "version 1 is gone, for the root token too")
				return
			}
			require.NotNil(t, s)
			assert.Equal(t, "old", s.Data["data"].(map[string]any)["v"])
		})
	}
}

// TestEnforceNestedOrgPaths checks what the members' data glob
// ("<org>/*") reaches beyond one secret name: members (and admin-members)
// may read nested paths below the org's folder, but no edge policy lets
// anyone write there (the admins' rule is one "+" segment), so edge
// never has anything there to read; admins alone reach no nested path.
func TestEnforceNestedOrgPaths(t *testing.T) {
	t.Parallel()
	v := edgetest.Start(t)
	a := newAdmin(t, v, admin.Config{})
	ctx := context.Background()
	org := edgetest.UniqueName("org")
	require.NoError(t, a.CreateOrg(ctx, org))
	member, orgAdmin, both := v.NewUser(t), v.NewUser(t), v.NewUser(t)
	require.NoError(t, a.AddMember(ctx, org, member.EntityID))
	require.NoError(t, a.AddAdmin(ctx, org, orgAdmin.EntityID))
	require.NoError(t, a.AddMember(ctx, org, both.EntityID))
	require.NoError(t, a.AddAdmin(ctx, org, both.EntityID))
	nested := orgScope(v, org).data + "/" + edgetest.UniqueName("dir") + "/x"
	_, err := v.RootClient(t).Logical().WriteWithContext(ctx, nested, map[string]any{"data": map[string]any{"v": "root's"}})
	require.NoError(t, err)

	tests := []struct {
		name        string
		token       string
		read, write int // wanted status: 0 (allowed) or 403
	}{
		{"member", member.Token, noStatus, denied},
		{"admin", orgAdmin.Token, denied, denied},
		{"member and admin", both.Token, noStatus, denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, v, tt.token)
			_, err := c.Logical().ReadWithContext(ctx, nested)
			assert.Equal(t, tt.read, status(err), "read: %v", err)
			_, err = c.Logical().WriteWithContext(ctx, nested, map[string]any{"data": map[string]any{"v": "w"}})
			assert.Equal(t, tt.write, status(err), "write (update): %v", err)
			_, err = c.Logical().WriteWithContext(ctx, nested+"-new", map[string]any{"options": map[string]any{"cas": 0}, "data": map[string]any{"v": "w"}})
			assert.Equal(t, tt.write, status(err), "write (create): %v", err)
		})
	}
}
