package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOutputsNeverLeak runs every command, and their failures, in both
// scopes with a canary value, and scans both streams: standard error
// never holds a value or a token (cli checks every run of every test for
// that); standard output holds the value only for read and unwrap, the
// wrapping token only for wrap, and the session's token never.
func TestOutputsNeverLeak(t *testing.T) {
	t.Parallel()
	for _, sc := range scopes {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			env := fx.env()
			value, newValue := canary(), canary()
			var wrapToken string
			origin := []string{"--user-entity", fx.user.EntityID}
			if sc.name == "org" {
				origin = []string{"--org", fx.org}
			}
			steps := []struct {
				name  string
				code  int
				env   []string
				stdin func() string
				args  []string
				// what standard output may hold
				value, token bool
				// env, when set, is used as it is; otherwise the user's
				// environment, with the scope's flags after the args.
			}{
				{name: "create", stdin: func() string { return `{"v":"` + value + `"}` }, args: []string{"create", "s"}},
				{name: "create again", code: ExitAlreadyExists, stdin: func() string { return `{"v":"` + value + `"}` }, args: []string{"create", "s"}},
				{name: "create invalid JSON", code: ExitBadEntry, stdin: func() string { return `{"v":` + value + `}` }, args: []string{"create", "t"}},
				{name: "create a non-object", code: ExitBadEntry, stdin: func() string { return `["` + value + `"]` }, args: []string{"create", "t"}},
				{name: "create with the value as an argument", code: ExitUsage, args: []string{"create", "t", `{"v":"` + value + `"}`}},
				{name: "create with the value as the name", code: ExitBadEntry, stdin: func() string { return `{}` }, args: []string{"create", `{"v":"` + value + `"}`}},
				{name: "read with the token as the name", code: ExitBadEntry, args: []string{"read", fx.user.Token}},
				{name: "the token as the command", code: ExitUsage, env: env, args: []string{fx.user.Token}},
				{name: "update", stdin: func() string { return `{"v":"` + newValue + `"}` }, args: []string{"update", "s"}},
				{name: "update a missing secret", code: ExitNotFound, stdin: func() string { return `{"v":"` + value + `"}` }, args: []string{"update", "t"}},
				{name: "list", args: []string{"list"}},
				{name: "list --json", args: []string{"list", "--json"}},
				{name: "read", args: []string{"read", "s"}, value: true},
				{name: "read a missing secret", code: ExitNotFound, args: []string{"read", "t"}},
				{name: "wrap", args: []string{"wrap", "s"}, token: true},
				{name: "verify", env: fx.receiverEnv(), stdin: func() string { return wrapToken }, args: with([]string{"verify", "--name", "s"}, origin...)},
				{name: "verify the wrong secret", code: ExitWrongSecret, env: fx.receiverEnv(), stdin: func() string { return wrapToken }, args: []string{"verify", "--name", "t", "--org", fx.org}},
				{name: "unwrap with the token as an argument", code: ExitUsage, env: fx.receiverEnv(), stdin: func() string { return "" }, args: []string{"unwrap", "--with-version", "WRAPTOKEN"}},
				{name: "unwrap", env: fx.receiverEnv(), stdin: func() string { return wrapToken }, args: []string{"unwrap", "--with-version"}, value: true},
				{name: "unwrap again", code: ExitInvalidToken, env: fx.receiverEnv(), stdin: func() string { return wrapToken }, args: []string{"unwrap"}},
				{name: "whoami", env: env, args: []string{"whoami"}},
				{name: "delete", args: []string{"delete", "s"}},
			}
			for _, st := range steps {
				stdin := ""
				if st.stdin != nil {
					stdin = st.stdin()
				}
				args := append([]string(nil), st.args...)
				for i, a := range args {
					if a == "WRAPTOKEN" {
						args[i] = wrapToken
					}
				}
				e := st.env
				if e == nil {
					e = env
					args = append(args, sc.flags...)
				}
				r := cli(t, e, stdin, args...)
				require.Equal(t, st.code, r.code, "%s: %s", st.name, r.stderr)
				if st.name == "wrap" {
					w, _ := decodeWrapped(t, r.stdout)
					wrapToken = w.Token
				}
				if st.value {
					assert.True(t, strings.Contains(r.stdout, value) || strings.Contains(r.stdout, newValue), st.name)
				} else {
					assert.NotContains(t, r.stdout, value, st.name)
					assert.NotContains(t, r.stdout, newValue, st.name)
				}
				if wrapToken != "" && !st.token {
					assert.NotContains(t, r.stdout, wrapToken, st.name)
				}
				assert.NotContains(t, r.stdout, fx.user.Token, st.name)
				assert.NotContains(t, r.stderr, fx.user.Token, st.name)
			}
		})
	}
}
