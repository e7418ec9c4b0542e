package admin_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/admin"
)

// rule is one path block of a policy.
type rule struct {
	caps      []string
	denied    string // the denied_parameters line's value, "" if none
	commented bool   // a comment line comes right before the block
}

// parsePolicy is a tiny parser for the policies of this package: comment
// lines, blank lines and blocks of exactly the form
//
//	path "P" {
//	  capabilities = ["a", "b"]
//	  denied_parameters = {...}   (optional, one line)
//	}
//
// Anything else is an error, so a rendered policy holds exactly the rules
// the result shows.
func parsePolicy(text string) (map[string]rule, error) {
	rules := map[string]rule{}
	lines := strings.Split(text, "\n")
	commented := false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case strings.TrimSpace(line) == "":
			commented = false
		case strings.HasPrefix(line, "#"):
			commented = true
		case strings.HasPrefix(line, "path "):
			if i+2 >= len(lines) {
				return nil, fmt.Errorf("line %d: unterminated block", i+1)
			}
			path, ok := strings.CutPrefix(line, "path ")
			path, ok2 := strings.CutSuffix(path, " {")
			if !ok || !ok2 {
				return nil, fmt.Errorf("line %d: bad block start %q", i+1, line)
			}
			p, err := strconv.Unquote(path)
			if err != nil {
				return nil, fmt.Errorf("line %d: path %s: %v", i+1, path, err)
			}
			list, ok := strings.CutPrefix(lines[i+1], `  capabilities = [`)
			list, ok2 = strings.CutSuffix(list, `]`)
			end := i + 2
			denied, hasDenied := strings.CutPrefix(lines[i+2], `  denied_parameters = `)
			if hasDenied {
				end++
			} else {
				denied = ""
			}
			if !ok || !ok2 || end >= len(lines) || lines[end] != "}" {
				return nil, fmt.Errorf("line %d: block body is not one capabilities list and at most one denied_parameters", i+2)
			}
			var caps []string
			for _, c := range strings.Split(list, ", ") {
				c, err := strconv.Unquote(c)
				if err != nil {
					return nil, fmt.Errorf("line %d: capability: %v", i+2, err)
				}
				caps = append(caps, c)
			}
			if _, dup := rules[p]; dup {
				return nil, fmt.Errorf("line %d: path %q twice", i+1, p)
			}
			rules[p] = rule{caps: caps, denied: denied, commented: commented}
			commented = false
			i = end
		default:
			return nil, fmt.Errorf("line %d: unexpected %q", i+1, line)
		}
	}
	return rules, nil
}

func TestPolicies(t *testing.T) {
	const entity = "{{identity.entity.id}}"
	tests := []struct {
		name   string
		render func() (string, error)
		marker string
		want   map[string][]string
		// denied is the denied_parameters of each path that has them.
		denied map[string]string
		// scope is what every path must start with (after the mount's
		// data/ or metadata/).
		scope string
	}{
		{
			name:   "user default",
			render: func() (string, error) { return admin.UserPolicy("secret", "edge") },
			marker: "# Managed by github.com/edgesdk/edge/admin: kind=user mount=secret prefix=edge",
			scope:  "edge/users/" + entity + "/",
			want: map[string][]string{
				"secret/data/edge/users/" + entity + "/+":     {"create", "read", "update"},
				"secret/metadata/edge/users/" + entity + "/":  {"list"},
				"secret/metadata/edge/users/" + entity + "/+": {"read", "delete"},
			},
		},
		{
			name:   "user nested mount and prefix",
			render: func() (string, error) { return admin.UserPolicy("kv/team", "apps/Edge_1") },
			marker: "# Managed by github.com/edgesdk/edge/admin: kind=user mount=kv/team prefix=apps/Edge_1",
			scope:  "apps/Edge_1/users/" + entity + "/",
			want: map[string][]string{
				"kv/team/data/apps/Edge_1/users/" + entity + "/+":     {"create", "read", "update"},
				"kv/team/metadata/apps/Edge_1/users/" + entity + "/":  {"list"},
				"kv/team/metadata/apps/Edge_1/users/" + entity + "/+": {"read", "delete"},
			},
		},
		{
			name:   "org members",
			render: func() (string, error) { return admin.OrgMembersPolicy("secret", "edge", "acme") },
			marker: "# Managed by github.com/edgesdk/edge/admin: kind=org-members mount=secret prefix=edge org=acme",
			scope:  "edge/orgs/acme/",
			want: map[string][]string{
				"secret/data/edge/orgs/acme/+":     {"read"},
				"secret/metadata/edge/orgs/acme/":  {"list"},
				"secret/metadata/edge/orgs/acme/+": {"read"},
			},
			denied: map[string]string{
				"secret/data/edge/orgs/acme/+": `{"version" = []}`,
			},
		},
		{
			name:   "org admins",
			render: func() (string, error) { return admin.OrgAdminsPolicy("secret", "edge", "acme") },
			marker: "# Managed by github.com/edgesdk/edge/admin: kind=org-admins mount=secret prefix=edge org=acme",
			scope:  "edge/orgs/acme/",
			want: map[string][]string{
				"secret/data/edge/orgs/acme/+":     {"create", "read", "update"},
				"secret/metadata/edge/orgs/acme/":  {"list"},
				"secret/metadata/edge/orgs/acme/+": {"read", "delete"},
			},
		},
		{
			name:   "org admins upper case org",
			render: func() (string, error) { return admin.OrgAdminsPolicy("kv2", "p", "Big_Co-1") },
			marker: "# Managed by github.com/edgesdk/edge/admin: kind=org-admins mount=kv2 prefix=p org=Big_Co-1",
			scope:  "p/orgs/Big_Co-1/",
			want: map[string][]string{
				"kv2/data/p/orgs/Big_Co-1/+":     {"create", "read", "update"},
				"kv2/metadata/p/orgs/Big_Co-1/":  {"list"},
				"kv2/metadata/p/orgs/Big_Co-1/+": {"read", "delete"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, err := tt.render()
			require.NoError(t, err)
			rules, err := parsePolicy(text)
			require.NoError(t, err, "policy:\n%s", text)

			assert.Equal(t, tt.marker, strings.SplitN(text, "\n", 2)[0], "first line is the marker")
			got := map[string][]string{}
			var denied map[string]string
			for p, r := range rules {
				got[p] = r.caps
				if r.denied != "" {
					if denied == nil {
						denied = map[string]string{}
					}
					denied[p] = r.denied
				}
				assert.True(t, r.commented, "path %q has no comment right above it", p)
				assert.NotContains(t, p, "*", "path %q has a glob", p)
				_, rest, ok := strings.Cut(p, "/data/")
				if !ok {
					_, rest, ok = strings.Cut(p, "/metadata/")
				}
				if assert.True(t, ok, "path %q is neither data nor metadata", p) {
					assert.True(t, strings.HasPrefix(rest, tt.scope), "path %q is outside the scope %q", p, tt.scope)
				}
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.denied, denied, "denied_parameters")
		})
	}
}

// TestOrgPolicyPathsMatch checks that the members and admins policies use
// the same path strings wherever both grant something: Vault merges the
// capabilities of identical paths only, so an entity in both groups gets
// the union. Only the members' data rule denies a parameter (the version):
// admins keep the secrets' history.
func TestOrgPolicyPathsMatch(t *testing.T) {
	members, err := admin.OrgMembersPolicy("secret", "edge", "acme")
	require.NoError(t, err)
	admins, err := admin.OrgAdminsPolicy("secret", "edge", "acme")
	require.NoError(t, err)
	m, err := parsePolicy(members)
	require.NoError(t, err)
	a, err := parsePolicy(admins)
	require.NoError(t, err)
	for p, r := range m {
		if assert.Contains(t, a, p) {
			assert.Subset(t, a[p].caps, r.caps, "admins have at least what members have on %q", p)
		}
	}
	for p, r := range a {
		assert.Empty(t, r.denied, "the admins policy denies no parameter on %q", p)
	}
}

func TestPolicyBadInput(t *testing.T) {
	tests := []struct {
		name   string
		render func() (string, error)
	}{
		{"empty mount", func() (string, error) { return admin.UserPolicy("", "edge") }},
		{"mount with dot segment", func() (string, error) { return admin.UserPolicy("secret/..", "edge") }},
		{"mount with glob", func() (string, error) { return admin.UserPolicy("secret*", "edge") }},
		{"prefix with quote", func() (string, error) { return admin.UserPolicy("secret", `edge"`) }},
		{"prefix with newline", func() (string, error) { return admin.UserPolicy("secret", "edge\npath") }},
		{"prefix with trailing slash", func() (string, error) { return admin.UserPolicy("secret", "edge/") }},
		{"prefix too long", func() (string, error) { return admin.UserPolicy("secret", strings.Repeat("a/", 200)+"a") }},
		{"org empty", func() (string, error) { return admin.OrgMembersPolicy("secret", "edge", "") }},
		{"org with slash", func() (string, error) { return admin.OrgMembersPolicy("secret", "edge", "a/b") }},
		{"org with plus", func() (string, error) { return admin.OrgAdminsPolicy("secret", "edge", "+") }},
		{"org dot dot", func() (string, error) { return admin.OrgAdminsPolicy("secret", "edge", "..") }},
		{"org template", func() (string, error) { return admin.OrgAdminsPolicy("secret", "edge", "{{identity.entity.id}}") }},
		{"org too long", func() (string, error) { return admin.OrgAdminsPolicy("secret", "edge", strings.Repeat("x", 257)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, err := tt.render()
			assert.ErrorIs(t, err, edge.ErrBadEntry)
			var ae *admin.Error
			assert.True(t, errors.As(err, &ae), "error is an *admin.Error: %T", err)
			assert.Empty(t, text)
		})
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name       string
		cfg        admin.Config
		org        string
		wantPrefix string
		wantUser   string
		wantMember string
		wantAdmin  string
	}{
		{"defaults", admin.Config{}, "acme", "edge", "edge-user", "edge-org-acme-members", "edge-org-acme-admins"},
		{"upper case org", admin.Config{}, "Acme", "edge", "edge-user", "edge-org-_acme-members", "edge-org-_acme-admins"},
		{"underscore org", admin.Config{}, "a_b", "edge", "edge-user", "edge-org-a__b-members", "edge-org-a__b-admins"},
		{"nested prefix", admin.Config{Prefix: "Team_A/edge"}, "x-1", "_team___a_-edge", "_team___a_-edge-user", "_team___a_-edge-org-x-1-members", "_team___a_-edge-org-x-1-admins"},
		{"name prefix", admin.Config{Prefix: "apps/edge", NamePrefix: "apps-edge"}, "acme", "apps-edge", "apps-edge-user", "apps-edge-org-acme-members", "apps-edge-org-acme-admins"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := admin.New(tt.cfg)
			require.NoError(t, err)
			assert.Equal(t, tt.wantPrefix, a.NamePrefix())
			assert.Equal(t, tt.wantUser, a.UserPolicyName())
			for _, c := range []struct {
				f    func(string) (string, error)
				want string
			}{
				{a.OrgMembersPolicyName, tt.wantMember},
				{a.OrgMembersGroupName, tt.wantMember},
				{a.OrgAdminsPolicyName, tt.wantAdmin},
				{a.OrgAdminsGroupName, tt.wantAdmin},
			} {
				got, err := c.f(tt.org)
				require.NoError(t, err)
				assert.Equal(t, c.want, got)
			}
		})
	}
}

// TestNamesDistinct checks that orgs Vault's case-insensitive names could
// confuse get distinct policy and group names.
func TestNamesDistinct(t *testing.T) {
	a, err := admin.New(admin.Config{})
	require.NoError(t, err)
	orgs := []string{"acme", "Acme", "ACME", "aCME", "_acme", "__acme", "a_cme", "a-cme", "acme-members", "acme-admins", "acme_members", "x", "X", "_x", "__x", "x_", "x__"}
	seen := map[string]string{}
	for _, org := range orgs {
		m, err := a.OrgMembersPolicyName(org)
		require.NoError(t, err)
		ad, err := a.OrgAdminsPolicyName(org)
		require.NoError(t, err)
		for _, name := range []string{m, ad} {
			assert.Equal(t, strings.ToLower(name), name, "names are lower case")
			lower := strings.ToLower(name)
			if prev, dup := seen[lower]; dup {
				t.Errorf("orgs %q and %q share the name %q", prev, org, name)
			}
			seen[lower] = org
		}
	}
	assert.NotContains(t, seen, a.UserPolicyName())
}

func TestNewBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  admin.Config
	}{
		{"mount with space", admin.Config{Mount: "my secret"}},
		{"mount with leading slash", admin.Config{Mount: "/secret"}},
		{"prefix with dot", admin.Config{Prefix: "edge.v2"}},
		{"prefix starting with dash", admin.Config{Prefix: "-edge"}},
		{"name prefix upper case", admin.Config{NamePrefix: "Edge"}},
		{"name prefix with slash", admin.Config{NamePrefix: "a/b"}},
		{"name prefix starting with dash", admin.Config{NamePrefix: "-edge"}},
		{"name prefix too long", admin.Config{NamePrefix: strings.Repeat("e", 129)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := admin.New(tt.cfg)
			assert.ErrorIs(t, err, edge.ErrBadEntry)
			var ae *admin.Error
			if assert.True(t, errors.As(err, &ae)) {
				assert.Equal(t, "new", ae.Op)
			}
			assert.Nil(t, a)
		})
	}

	// A prefix starting with '-' is fine with an explicit name prefix.
	a, err := admin.New(admin.Config{Prefix: "-edge", NamePrefix: "dash-edge"})
	require.NoError(t, err)
	assert.Equal(t, "dash-edge-user", a.UserPolicyName())
}

func TestOperatorPolicy(t *testing.T) {
	a, err := admin.New(admin.Config{Mount: "kv", NamePrefix: "team"})
	require.NoError(t, err)
	text, err := a.OperatorPolicy()
	require.NoError(t, err)
	rules, err := parsePolicy(text)
	require.NoError(t, err, "policy:\n%s", text)
	got := map[string][]string{}
	for p, r := range rules {
		got[p] = r.caps
		assert.True(t, r.commented, "path %q has no comment right above it", p)
	}
	assert.Equal(t, map[string][]string{
		"sys/mounts":                              {"read"},
		"sys/mounts/kv":                           {"update"},
		"kv/config":                               {"read"},
		"sys/policies/acl/team-user":              {"read", "update"},
		"sys/policies/acl/team-org-*":             {"read", "update", "delete"},
		"identity/group/name/team-org-*":          {"read", "update", "delete"},
		"identity/entity/id/*":                    {"read", "delete"},
		"auth/+/users/*":                          {"delete"},
		"sys/leases/lookup/auth/+/login/":         {"list", "sudo"},
		"sys/leases/revoke-prefix/auth/+/login/*": {"update", "sudo"},
		"kv/metadata/edge/users/*":                {"list", "delete"},
	}, got)
}

// TestPathRuleIsEdges checks that Admin applies the edge SDK's own path
// rule (edge.ValidPath) to Mount and Prefix: every path one accepts the
// other accepts, 256 bytes at most.
func TestPathRuleIsEdges(t *testing.T) {
	paths := []string{
		"secret",
		"kv/team-a/edge_2",
		strings.Repeat("a", edge.MaxPathLength),
		strings.Repeat("a/", edge.MaxPathLength/2-1) + "ab",
		strings.Repeat("a", edge.MaxPathLength+1),
		strings.Repeat("ab/", 100) + "c", // 301 bytes of valid segments: NewSession used to accept it
		"",
		"/secret",
		"secret/",
		"a//b",
		"a/../b",
		"a b",
		"a%2fb",
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			want := edge.ValidPath(p)
			assert.Equal(t, want, edge.CheckPath(p) == nil)

			_, err := admin.UserPolicy(p, p)
			assert.Equal(t, want, err == nil, "UserPolicy: %v", err)
			_, err = admin.OrgMembersPolicy(p, p, "acme")
			assert.Equal(t, want, err == nil, "OrgMembersPolicy: %v", err)
			_, err = admin.New(admin.Config{Mount: p, Prefix: "edge"})
			assert.Equal(t, want || p == "", err == nil, "New with Mount: %v", err) // "" is the default mount
			_, err = admin.New(admin.Config{Mount: "secret", Prefix: p, NamePrefix: "edge"})
			assert.Equal(t, want || p == "", err == nil, "New with Prefix: %v", err)
			if !want && p != "" {
				assert.ErrorIs(t, err, edge.ErrBadEntry)
			}
		})
	}
}
