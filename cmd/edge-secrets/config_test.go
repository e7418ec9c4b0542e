package main

import (
	"encoding/json"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge/edgetest"
)

// me is whoami's output.
type me struct {
	EntityID   string `json:"entity_id"`
	Org        string `json:"org"`
	TTLSeconds int64  `json:"ttl_seconds"`
}

func whoami(t *testing.T, env []string, args ...string) me {
	t.Helper()
	r := ok(t, env, "", append([]string{"whoami"}, args...)...)
	var m me
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &m), r.stdout)
	return m
}

// TestWhoami prints the token's entity id, the org and the TTL left, from
// lookup-self, never the token.
func TestWhoami(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)

	m := whoami(t, fx.env())
	assert.Equal(t, fx.user.EntityID, m.EntityID)
	assert.Equal(t, fx.org, m.Org)
	assert.Positive(t, m.TTLSeconds)
	assert.LessOrEqual(t, m.TTLSeconds, int64(32*24*3600), "the dev Vault's default max TTL")

	assert.Equal(t, "other", whoami(t, fx.env(), "--org-name", "other").Org)
	assert.Equal(t, "other", whoami(t, fx.env(), "--org-name=other").Org)
	assert.Empty(t, whoami(t, fx.env("EDGE_ORG=")).Org)
	assert.Equal(t, "api-org", whoami(t, fx.env("EDGE_ORG=", "EDGE_API_ORG=api-org")).Org)
	// VAULT_WRAP_TTL, which would wrap every vault/api request, is
	// ignored.
	assert.Equal(t, fx.user.EntityID, whoami(t, fx.env("VAULT_WRAP_TTL=5m")).EntityID)

	root := whoami(t, fx.env("VAULT_TOKEN="+rootToken(t, fx.vault)))
	assert.Empty(t, root.EntityID, "a root token has no entity")
	assert.Zero(t, root.TTLSeconds, "a root token never expires")
}

// TestLogin logs in with AppRole and userpass from the environment
// (credentials in variables and in files), through edge.Config.Auth.
func TestLogin(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	base := []string{"VAULT_ADDR=" + fx.vault.Addr(), "EDGE_KV_MOUNT=" + fx.vault.Mount(), "EDGE_ORG=" + fx.org}

	// An AppRole role with the Edge user policy, and a secret id
	// (NewAppRole logs in with it once; the logins below are the CLI's).
	role := fx.vault.NewAppRole(t)
	secret(role.Token)
	rid, sid := role.RoleID, secret(role.SecretID)

	// A userpass user (newUser) made admin of the fixture's org.
	up := newUser(t, fx.vault)
	fx.vault.AddAdmin(t, fx.org, up)

	logins := []struct {
		name string
		env  []string
	}{
		{"approle, secret id in the environment", []string{"VAULT_ROLE_ID=" + rid, "VAULT_SECRET_ID=" + sid}},
		{"approle, secret id in a file", []string{"VAULT_ROLE_ID=" + rid, "VAULT_SECRET_ID_FILE=" + writeFile(t, sid+"\n")}},
		{"userpass, password in the environment", []string{"VAULT_USERNAME=" + up.Name, "VAULT_PASSWORD=" + up.Password}},
		{"userpass, password in a file", []string{"VAULT_USERNAME=" + up.Name, "VAULT_PASSWORD_FILE=" + writeFile(t, up.Password+"\n")}},
		{"userpass at its mount, over a token", []string{"VAULT_USERNAME=" + up.Name, "VAULT_PASSWORD=" + up.Password, "VAULT_USERPASS_MOUNT=userpass", "VAULT_TOKEN=" + secret("hvs.ignored")}},
	}
	for _, l := range logins {
		t.Run(l.name, func(t *testing.T) {
			env := append(append([]string(nil), base...), l.env...)
			m := whoami(t, env)
			assert.NotEmpty(t, m.EntityID)
			assert.Positive(t, m.TTLSeconds)
			if l.env[0] == "VAULT_USERNAME="+up.Name {
				assert.Equal(t, up.EntityID, m.EntityID)
			}
			value := `{"k":"` + canary() + `"}`
			ok(t, env, value, "create", edgetest.UniqueName("s"))
			names := ok(t, env, "", "list").stdout
			assert.NotEmpty(t, names)
		})
	}
	// userpass: the same user writes org secrets.
	upEnv := append(append([]string(nil), base...), "VAULT_USERNAME="+up.Name, "VAULT_PASSWORD="+up.Password)
	value := `{"k":"` + canary() + `"}`
	ok(t, upEnv, value, "create", "--org", "team")
	assert.Equal(t, value+"\n", ok(t, upEnv, "", "read", "--org", "team").stdout)

	failures := []struct {
		name   string
		code   int
		env    []string
		stderr string
	}{
		{"a wrong secret id", ExitPermissionDenied, []string{"VAULT_ROLE_ID=" + rid, "VAULT_SECRET_ID=" + secret(edgetest.UniqueName("sid"))}, "permission denied"},
		{"an unknown role id", ExitPermissionDenied, []string{"VAULT_ROLE_ID=" + edgetest.UniqueName("r"), "VAULT_SECRET_ID=" + sid}, "permission denied"},
		{"a role id without secret id", ExitUsage, []string{"VAULT_ROLE_ID=" + rid}, "no AppRole secret id: set VAULT_SECRET_ID, or VAULT_SECRET_ID_FILE"},
		{"a username without password", ExitUsage, []string{"VAULT_USERNAME=" + up.Name}, "no userpass password"},
		{"a secret id twice", ExitUsage, []string{"VAULT_ROLE_ID=" + rid, "VAULT_SECRET_ID=" + sid, "VAULT_SECRET_ID_FILE=/x"}, "both VAULT_SECRET_ID and VAULT_SECRET_ID_FILE"},
		{"two login methods", ExitUsage, []string{"VAULT_ROLE_ID=" + rid, "VAULT_SECRET_ID=" + sid, "VAULT_USERNAME=" + up.Name, "VAULT_PASSWORD=" + up.Password}, "set one"},
		{"a secret id file that does not exist", ExitError, []string{"VAULT_ROLE_ID=" + rid, "VAULT_SECRET_ID_FILE=/nonexistent/sid"}, "VAULT_SECRET_ID_FILE: open /nonexistent/sid: no such file"},
		{"a password file that does not exist", ExitError, []string{"VAULT_USERNAME=" + up.Name, "VAULT_PASSWORD_FILE=/nonexistent/pw"}, "VAULT_PASSWORD_FILE: open /nonexistent/pw: no such file"},
	}
	t.Run("a wrong password", func(t *testing.T) {
		// No retries: vault/api retries a 500.
		env := append(append([]string(nil), base...), "VAULT_USERNAME="+up.Name, "VAULT_PASSWORD="+secret(edgetest.UniqueName("pw")), "VAULT_MAX_RETRIES=0")
		r := cli(t, env, "", "list")
		assert.Empty(t, r.stdout)
		assert.Contains(t, r.stderr, "invalid username or password")
		// Vault 1.14's userpass answers a wrong password with a 500, which
		// the SDK (vaulterr.IsLoginRefused) reads as the refusal it is.
		assert.Equal(t, ExitPermissionDenied, r.code, r.stderr)
	})
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			stderr := fails(t, f.code, append(append([]string(nil), base...), f.env...), "", "list")
			assert.Contains(t, stderr, f.stderr)
		})
	}
}

// TestFlagsOverrideEnvironment gives each connection flag before and
// after the command, over an environment that says otherwise.
func TestFlagsOverrideEnvironment(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	value := `{"k":"` + canary() + `"}`
	ok(t, fx.env(), value, "create", "--org", "s")

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	badAddr := "http://" + closed.Addr().String()
	require.NoError(t, closed.Close())

	tests := []struct {
		name string
		env  []string
		args []string
	}{
		{"--addr before", fx.env("VAULT_ADDR=" + badAddr), []string{"--addr", fx.vault.Addr(), "read", "--org", "s"}},
		{"--addr after", fx.env("VAULT_ADDR=" + badAddr), []string{"read", "--org", "s", "--addr=" + fx.vault.Addr()}},
		{"--org-name before", fx.env("EDGE_ORG=" + edgetest.UniqueName("org")), []string{"--org-name", fx.org, "read", "--org", "s"}},
		{"--org-name after", fx.env("EDGE_ORG="), []string{"read", "-o", "--org-name", fx.org, "s"}},
		{"EDGE_API_ORG", fx.env("EDGE_ORG=", "EDGE_API_ORG="+fx.org), []string{"read", "s", "--org"}},
		{"--mount", fx.env("EDGE_KV_MOUNT=nokv"), []string{"read", "--org", "--mount", fx.vault.Mount(), "s"}},
		{"--prefix", fx.env(), []string{"--prefix", "edge", "read", "--org", "s"}},
		{"--timeout", fx.env(), []string{"--timeout", "30s", "read", "--org", "s"}},
		{"the command's flag wins", fx.env(), []string{"--addr", badAddr, "read", "--org", "--addr", fx.vault.Addr(), "s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, value+"\n", ok(t, tt.env, "", tt.args...).stdout)
		})
	}
	// And the environment is used when no flag says otherwise.
	fails(t, ExitUnavailable, fx.env("VAULT_ADDR="+badAddr, "VAULT_MAX_RETRIES=0"), "", "read", "--org", "s")
	fails(t, ExitPermissionDenied, fx.env("EDGE_ORG="+edgetest.UniqueName("org")), "", "read", "--org", "s")
	fails(t, ExitPermissionDenied, fx.env(), "", "--prefix", "other", "read", "--org", "s") // the policies cover edge/ only
	fails(t, ExitPermissionDenied, fx.env("EDGE_KV_MOUNT=nokv"), "", "read", "--org", "s")

	// A name that starts with a dash, after "--".
	ok(t, fx.env(), value, "create", "--", "-dash")
	assert.Equal(t, value+"\n", ok(t, fx.env(), "", "read", "--", "-dash").stdout)
	assert.Equal(t, "-dash\n", ok(t, fx.env(), "", "list").stdout)
}
