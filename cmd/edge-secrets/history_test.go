package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge/internal/faultproxy"
)

// TestHistoryAndRollback runs history, read --version and rollback on
// user secrets and, with --org, on org secrets (as the org's admin):
// history lists every version newest first, as lines and as JSON;
// rollback writes an old value as a new version; and the failures have
// the exit codes of the table, among them the two the rollback help
// promises: a secret whose latest version is deleted is exit 3, a
// concurrent write exit 1.
func TestHistoryAndRollback(t *testing.T) {
	t.Parallel()
	for _, sc := range scopes {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			env := fx.env()
			cmd := func(name string, args ...string) []string { return with(with([]string{name}, sc.flags...), args...) }
			v1 := `{"password":"` + canary() + `"}`
			v2 := `{"password":"` + canary() + `"}`
			start := time.Now().Add(-time.Second)
			ok(t, env, v1, cmd("create", "db")...)
			ok(t, env, v2, cmd("update", "db")...)
			ok(t, env, v2, cmd("update", "db")...)

			lines := strings.Split(strings.TrimSuffix(ok(t, env, "", cmd("history", "db")...).stdout, "\n"), "\n")
			require.Len(t, lines, 3)
			for i, line := range lines {
				f := strings.Split(line, "\t")
				require.Len(t, f, 3, "version, created time, state: %q", line)
				assert.Equal(t, []string{"3", "2", "1"}[i], f[0], "newest first")
				created, err := time.Parse(time.RFC3339, f[1])
				require.NoError(t, err)
				assert.False(t, created.Before(start.Truncate(time.Second)), "created %v", created)
				assert.Equal(t, "live", f[2])
			}
			var js []struct {
				Version      int        `json:"version"`
				CreatedTime  time.Time  `json:"created_time"`
				DeletionTime *time.Time `json:"deletion_time"`
				Destroyed    bool       `json:"destroyed"`
			}
			out := ok(t, env, "", cmd("history", "--json", "db")...).stdout
			require.NoError(t, json.Unmarshal([]byte(out), &js), out)
			require.Len(t, js, 3)
			assert.Equal(t, 3, js[0].Version)
			assert.Nil(t, js[0].DeletionTime)
			assert.Contains(t, out, `"deletion_time":null`)
			assert.NotContains(t, out, "password", "history never shows a value")

			assert.Equal(t, v1+"\n", ok(t, env, "", cmd("read", "--version", "1", "db")...).stdout)
			r := ok(t, env, "", cmd("rollback", "db", "1")...)
			assert.Empty(t, r.stdout)
			assert.Contains(t, r.stderr, "rolled back "+sc.name+` secret "db"`)
			assert.Contains(t, r.stderr, ": version 1's value is now the latest version")
			assert.NotContains(t, r.stderr, "password")
			assert.Equal(t, v1+"\n", ok(t, env, "", cmd("read", "db")...).stdout)
			assert.Equal(t, v1+"\n", ok(t, env, "", cmd("read", "--version", "4", "db")...).stdout)
			assert.True(t, strings.HasPrefix(ok(t, env, "", cmd("history", "db")...).stdout, "4\t"))

			// A secret whose latest version was deleted by other tools
			// (the root token), and one that another writer updates
			// (straight to Vault) when the rollback's write reaches the
			// proxy in front of Vault.
			kvPath := fx.vault.Admin().Prefix() + "/users/" + fx.user.EntityID
			if sc.name == "org" {
				kvPath = fx.vault.Admin().Prefix() + "/orgs/" + fx.org
			}
			root := fx.vault.RootClient(t).KVv2(fx.vault.Mount())
			ok(t, env, v1, cmd("create", "gone")...)
			ok(t, env, v2, cmd("update", "gone")...)
			require.NoError(t, root.Delete(context.Background(), kvPath+"/gone"))
			ok(t, env, v1, cmd("create", "raced")...)
			proxy, err := faultproxy.New(fx.vault.Addr())
			require.NoError(t, err)
			t.Cleanup(func() { _ = proxy.Close() })
			var raced atomic.Bool
			proxy.SetRule(func(r faultproxy.Request) faultproxy.Fault {
				if r.Method != http.MethodGet && strings.HasSuffix(r.Path, "/data/"+kvPath+"/raced") && !raced.Swap(true) {
					if _, err := root.Put(context.Background(), kvPath+"/raced", map[string]any{"theirs": "1"}); err != nil {
						t.Errorf("the concurrent write: %v", err)
					}
				}
				return faultproxy.None
			})

			tests := []struct {
				name   string
				code   int
				args   []string
				stderr string
				env    []string // nil: env
			}{
				{"history of a missing secret", ExitNotFound, cmd("history", "missing"), "secret not found", nil},
				{"rollback of a missing secret", ExitNotFound, cmd("rollback", "missing", "1"), "secret not found", nil},
				{"rollback to a version never written", ExitNotFound, cmd("rollback", "db", "9"), "version 9 does not exist", nil},
				{"read a version never written", ExitNotFound, cmd("read", "--version", "9", "db"), "version 9 does not exist", nil},
				{"read version -1", ExitBadEntry, cmd("read", "--version", "-1", "db"), "invalid --version", nil},
				{"read version 0", ExitBadEntry, cmd("read", "--version", "0", "db"), "invalid --version", nil},
				{"read version 0 of a Vault never reached", ExitBadEntry, with(cmd("read", "--version", "0", "db"), "--addr", "http://127.0.0.1:1"), "nothing was sent", nil},
				{"rollback to version 0", ExitBadEntry, cmd("rollback", "db", "0"), "invalid VERSION (1 bytes)", nil},
				{"rollback to a version that is no number", ExitBadEntry, cmd("rollback", "db", "v1"), "invalid VERSION (2 bytes)", nil},
				{"rollback with an invalid name", ExitBadEntry, cmd("rollback", "a.b", "1"), "invalid secret name", nil},
				{"rollback without VERSION", ExitUsage, cmd("rollback", "db"), "takes a NAME and a VERSION, not 1 arguments", nil},
				{"rollback with three arguments", ExitUsage, cmd("rollback", "db", "1", "2"), "not 3 arguments", nil},
				{"history without NAME", ExitUsage, cmd("history"), "needs the secret's NAME", nil},
				{"rollback of a secret whose latest version is deleted", ExitNotFound, cmd("rollback", "gone", "1"), "secret not found", nil},
				{"rollback during another write", ExitError, cmd("rollback", "raced", "1"), "nothing was written", fx.env("VAULT_ADDR=" + proxy.URL())},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					e := env
					if tt.env != nil {
						e = tt.env
					}
					stderr := fails(t, tt.code, e, "", tt.args...)
					assert.Contains(t, stderr, tt.stderr)
					lines := 1
					if tt.code == ExitUsage {
						lines = 2 // and where to find help
					}
					assert.Equal(t, lines, strings.Count(stderr, "\n"), "%s", stderr)
				})
			}
			assert.True(t, raced.Load(), "the concurrent write was made")
		})
	}
}

// TestHistoryByOrgRole: an org member sees an org secret's history but
// reads no older value and rolls nothing back (exit 6); an admin who is
// also a member does both.
func TestHistoryByOrgRole(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	v1 := `{"password":"` + canary() + `"}`
	ok(t, fx.env(), v1, "create", "--org", "db")
	ok(t, fx.env(), `{"password":"`+canary()+`"}`, "update", "--org", "db")

	member, both := newUser(t, fx.vault), newUser(t, fx.vault)
	fx.vault.AddMember(t, fx.org, member)
	fx.vault.AddMember(t, fx.org, both)
	fx.vault.AddAdmin(t, fx.org, both)
	memberEnv := (&fixture{vault: fx.vault, user: member, org: fx.org}).env()
	bothEnv := (&fixture{vault: fx.vault, user: both, org: fx.org}).env()

	assert.True(t, strings.HasPrefix(ok(t, memberEnv, "", "history", "--org", "db").stdout, "2\t"))
	assert.Contains(t, fails(t, ExitPermissionDenied, memberEnv, "", "read", "--org", "--version", "1", "db"), "permission denied")
	assert.Contains(t, fails(t, ExitPermissionDenied, memberEnv, "", "rollback", "--org", "db", "1"), "permission denied")

	assert.Equal(t, v1+"\n", ok(t, bothEnv, "", "read", "--org", "--version", "1", "db").stdout)
	ok(t, bothEnv, "", "rollback", "--org", "db", "1")
	assert.Equal(t, v1+"\n", ok(t, memberEnv, "", "read", "--org", "db").stdout)
}
