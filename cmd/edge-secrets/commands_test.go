package main

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge/internal/faultproxy"
)

// TestSecretsInBothScopes runs the six operations on user secrets and,
// with --org, on org secrets: values from standard input and from a
// file, read back exactly as written (numbers keep every character), list
// as lines and as JSON, wrap and unwrap, delete.
func TestSecretsInBothScopes(t *testing.T) {
	t.Parallel()
	for _, sc := range scopes {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t)
			env := fx.env()
			c := canary()
			// Keys sorted and compact, as read prints them: the value is
			// printed back byte for byte.
			value := `{"big":1e21,"f":1.0,"html":"<&>","n":9223372036854775807,"nested":{"a":[1,2,{"b":null}],"u":18446744073709551615},"password":"` + c + `"}`
			created := ok(t, env, "  "+value+"\n", with(with([]string{"create"}, sc.flags...), "db")...)
			assert.Empty(t, created.stdout)
			assert.Contains(t, created.stderr, "created "+sc.name+` secret "db"`)

			fileValue := `{"token":"` + canary() + `"}`
			ok(t, env, "", with(with([]string{"create"}, sc.flags...), "--file", writeFile(t, fileValue+"\n"), "api")...)

			assert.Equal(t, "api\ndb\n", ok(t, env, "", with([]string{"list"}, sc.flags...)...).stdout)
			assert.Equal(t, `["api","db"]`+"\n", ok(t, env, "", with([]string{"list", "--json"}, sc.flags...)...).stdout)

			read := func(name string) string {
				return ok(t, env, "", with(with([]string{"read"}, sc.flags...), name)...).stdout
			}
			assert.Equal(t, value+"\n", read("db"))
			assert.Equal(t, fileValue+"\n", read("api"))

			updated := `{"password":"` + canary() + `","port":5432}`
			r := ok(t, env, "", with(with([]string{"update"}, sc.flags...), "db", "--file", writeFile(t, updated))...)
			assert.Contains(t, r.stderr, "updated "+sc.name+` secret "db"`)
			assert.Equal(t, updated+"\n", read("db"))
			updatedAgain := `{"password":"` + canary() + `"}`
			ok(t, env, updatedAgain, with(with([]string{"update"}, sc.flags...), "db")...)
			assert.Equal(t, updatedAgain+"\n", read("db"))

			w, _ := wrap(t, env, with(sc.flags, "db")...)
			assert.Equal(t, fx.vault.Addr()+"/v1/sys/wrapping/unwrap", w.UnwrapURL)
			assert.NotEmpty(t, w.Accessor)
			assert.Equal(t, int64(300), w.TTLSeconds, "the default wrap TTL")
			assert.Equal(t, 300*time.Second, w.ExpiresAt.Sub(w.CreationTime))
			assert.True(t, strings.HasSuffix(w.CreationPath, "/db"), w.CreationPath)
			assert.Zero(t, w.Version, "a plain wrap does not know its version")
			assert.Equal(t, updatedAgain+"\n", ok(t, fx.receiverEnv(), w.Token, "unwrap").stdout)

			w, _ = wrap(t, env, with(sc.flags, "--ttl", "2m", "--with-version", "db")...)
			assert.Equal(t, int64(120), w.TTLSeconds)
			assert.Equal(t, 3, w.Version, "created, then updated twice")

			r = ok(t, env, "", with(with([]string{"delete"}, sc.flags...), "db")...)
			assert.Empty(t, r.stdout)
			assert.Contains(t, r.stderr, "deleted "+sc.name+` secret "db"`)
			fails(t, ExitNotFound, env, "", with(with([]string{"read"}, sc.flags...), "db")...)
			ok(t, env, "", with(with([]string{"delete"}, sc.flags...), "db")...) // deleting a missing secret is no error
			assert.Equal(t, "api\n", ok(t, env, "", with([]string{"list"}, sc.flags...)...).stdout)
			// The token made before the delete still holds the value.
			assert.Equal(t, `{"value":`+updatedAgain+`,"version":3,"created_time":`,
				ok(t, fx.receiverEnv(), w.Token, "unwrap", "--with-version").stdout[:len(`{"value":`+updatedAgain+`,"version":3,"created_time":`)])
		})
	}
}

// TestEmptyList prints nothing, or an empty JSON array, for a scope with
// no secrets.
func TestEmptyList(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	for _, sc := range scopes {
		t.Run(sc.name, func(t *testing.T) {
			assert.Equal(t, "", ok(t, fx.env(), "", with([]string{"list"}, sc.flags...)...).stdout)
			assert.Equal(t, "[]\n", ok(t, fx.env(), "", with([]string{"list", "--json"}, sc.flags...)...).stdout)
		})
	}
}

// TestErrorExitCodes gets each exit code from the failure it stands for,
// through the real Vault (and a fault proxy for the unavailable and lost
// answers).
func TestErrorExitCodes(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	env := fx.env()
	value := `{"password":"` + canary() + `"}`
	ok(t, env, value, "create", "exists")
	ok(t, env, value, "create", "--org", "exists")

	member := newUser(t, fx.vault)
	fx.vault.AddMember(t, fx.org, member)
	memberEnv := (&fixture{vault: fx.vault, user: member, org: fx.org}).env()

	w, _ := wrap(t, env, "exists")
	ok(t, fx.receiverEnv(), w.Token, "unwrap")

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedAddr := "http://" + closed.Addr().String()
	require.NoError(t, closed.Close())

	sealed, err := faultproxy.New(fx.vault.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = sealed.Close() })
	sealed.SetRule(func(faultproxy.Request) faultproxy.Fault { return faultproxy.Sealed })

	// Every write of a secret's data, and every read of it, loses its
	// answer after Vault acted: the create may or may not have happened.
	lossy, err := faultproxy.New(fx.vault.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = lossy.Close() })
	lossy.SetRule(func(r faultproxy.Request) faultproxy.Fault {
		if strings.HasPrefix(r.Path, "/v1/"+fx.vault.Mount()+"/data/") || r.Path == "/v1/sys/wrapping/unwrap" {
			return faultproxy.Drop
		}
		return faultproxy.None
	})
	lossyEnv := fx.env("VAULT_ADDR="+lossy.URL(), "VAULT_MAX_RETRIES=0")
	lost, _ := wrap(t, env, "exists")
	other, _ := wrap(t, env, "exists")

	tests := []struct {
		name   string
		code   int
		env    []string
		stdin  string
		args   []string
		stderr string
	}{
		{"read a missing secret", ExitNotFound, env, "", []string{"read", "missing"}, "secret not found"},
		{"update a missing org secret", ExitNotFound, env, value, []string{"update", "--org", "missing"}, "secret not found"},
		{"wrap a missing secret", ExitNotFound, env, "", []string{"wrap", "missing"}, "secret not found"},
		{"create a secret that exists", ExitAlreadyExists, env, value, []string{"create", "exists"}, "already exists"},
		{"create an org secret that exists", ExitAlreadyExists, env, value, []string{"create", "-o", "exists"}, "already exists"},
		{"an invalid name", ExitBadEntry, env, "", []string{"read", "a.b"}, "invalid secret name (3 bytes)"},
		{"an invalid org name", ExitBadEntry, env, "", []string{"list", "--org", "--org-name", "a.b"}, "bad entry"},
		{"a wrap TTL that is not positive", ExitBadEntry, env, "", []string{"wrap", "--ttl", "-1s", "exists"}, "not positive"},
		{"an org member creates an org secret", ExitPermissionDenied, memberEnv, value, []string{"create", "--org", "new"}, "permission denied"},
		{"an org member wraps an old version", ExitPermissionDenied, memberEnv, "", []string{"wrap", "--org", "--with-version", "exists"}, "permission denied"},
		{"a user of another org lists its secrets", ExitPermissionDenied, memberEnv, "", []string{"list", "--org", "--org-name", newFixture(t).org}, "permission denied"},
		{"a token Vault does not know", ExitPermissionDenied, fx.env("VAULT_TOKEN=" + secret("hvs.not-a-token")), "", []string{"list"}, "permission denied"},
		{"no credentials", ExitPermissionDenied, []string{"VAULT_ADDR=" + fx.vault.Addr()}, "", []string{"list"}, "no Vault credentials"},
		{"unwrap a used token", ExitInvalidToken, fx.receiverEnv(), w.Token, []string{"unwrap"}, "not valid"},
		{"unwrap a token Vault never made", ExitInvalidToken, fx.receiverEnv(), secret("hvs.CAESIJunk"), []string{"unwrap"}, "not valid"},
		{"verify a used token", ExitInvalidToken, fx.receiverEnv(), w.Token, []string{"verify", "--user-entity", fx.user.EntityID, "--name", "exists"}, "not valid"},
		{"verify a token of another secret", ExitWrongSecret, fx.receiverEnv(), other.Token, []string{"verify", "--user-entity", fx.user.EntityID, "--name", "other"}, "does not hold the expected secret"},
		{"Vault unreachable", ExitUnavailable, fx.env("VAULT_ADDR="+closedAddr, "VAULT_MAX_RETRIES=0"), "", []string{"list"}, "unavailable"},
		{"Vault unreachable for the receiver", ExitUnavailable, []string{"VAULT_ADDR=" + closedAddr, "VAULT_MAX_RETRIES=0"}, lost.Token, []string{"unwrap"}, "unavailable"},
		{"Vault sealed", ExitUnavailable, fx.env("VAULT_ADDR="+sealed.URL(), "VAULT_MAX_RETRIES=0"), "", []string{"read", "exists"}, "sealed"},
		{"out of time", ExitUnavailable, env, "", []string{"read", "--timeout", "1ns", "exists"}, "deadline exceeded"},
		{"a create whose answer was lost", ExitUnknownOutcome, lossyEnv, value, []string{"create", "lost"}, "outcome unknown"},
		{"an unwrap whose answer was lost", ExitUnknownOutcome, lossyEnv, lost.Token, []string{"unwrap"}, "outcome unknown"},
		{"a user operation with a token without entity", ExitError, fx.env("VAULT_TOKEN=" + rootToken(t, fx.vault)), "", []string{"list"}, "no Vault identity entity"},
		{"a value file that does not exist", ExitError, env, "", []string{"create", "new", "--file", "/nonexistent/value.json"}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stderr := fails(t, tt.code, tt.env, tt.stdin, tt.args...)
			assert.Contains(t, stderr, tt.stderr)
			assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %s", stderr)
		})
	}
	// The lost answer to the unwrap spent the token.
	fails(t, ExitInvalidToken, fx.receiverEnv(), lost.Token, "unwrap")
}

// TestBadInput refuses values and tokens that are not what the command
// takes with a message that says why and quotes none of it, before any
// request: edge-secrets runs through a proxy that counts requests, and
// none reaches it, not even a login.
func TestBadInput(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	p, err := faultproxy.New(fx.vault.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	env := fx.env("VAULT_ADDR=" + p.URL())
	c := canary()
	big := `{"a":"` + strings.Repeat("x", maxValueInput) + `"}`
	emptyFile := writeFile(t, "")

	tests := []struct {
		name   string
		code   int
		stdin  string
		args   []string // after the command and its scope flag
		stderr string
	}{
		{"empty input", ExitBadEntry, "", []string{"s"}, "no value: standard input is empty"},
		{"blank input", ExitBadEntry, " \n\t\n", []string{"s"}, "standard input is empty"},
		{"an empty file", ExitBadEntry, "", []string{"s", "--file", emptyFile}, "no value: file " + emptyFile + " is empty"},
		{"invalid JSON", ExitBadEntry, `{"password": "` + c, []string{"s"}, "not valid JSON (it ends early"},
		{"invalid JSON in the middle", ExitBadEntry, `{"password": ` + c + `}`, []string{"s"}, "not valid JSON (syntax error at byte 14"},
		{"two objects", ExitBadEntry, `{"a":"` + c + `"} {}`, []string{"s"}, "not valid JSON"},
		{"trailing text", ExitBadEntry, `{"a":"b"} ` + c, []string{"s"}, "not valid JSON"},
		{"an array", ExitBadEntry, `["` + c + `"]`, []string{"s"}, "is a JSON array, not a JSON object"},
		{"a string", ExitBadEntry, `"` + c + `"`, []string{"s"}, "is a JSON string, not a JSON object"},
		{"a number", ExitBadEntry, "42", []string{"s"}, "is a JSON number, not a JSON object"},
		{"null", ExitBadEntry, "null", []string{"s"}, "is a JSON null, not a JSON object"},
		{"a boolean", ExitBadEntry, "true", []string{"s"}, "is a JSON boolean, not a JSON object"},
		{"a key twice", ExitBadEntry, `{"a":"` + c + `","a":"` + c + `2"}`, []string{"s"}, "cannot be stored as written"},
		{"a nested key twice", ExitBadEntry, `{"x":{"a":"` + c + `","a":1}}`, []string{"s"}, "cannot be stored as written"},
		{"invalid UTF-8", ExitBadEntry, "{\"a\":\"" + c + "\xff\"}", []string{"s"}, "not valid UTF-8"},
		{"an unpaired surrogate escape", ExitBadEntry, `{"a":"` + c + `\ud800"}`, []string{"s"}, "cannot be stored as written"},
		{"too large", ExitBadEntry, big, []string{"s"}, "larger than"},
		{"an invalid name", ExitBadEntry, `{"a":"` + c + `"}`, []string{"../s"}, "invalid secret name (4 bytes)"},
		{"a name that is a value", ExitBadEntry, `{"a":"b"}`, []string{c + "/x"}, "invalid secret name"},
		{"a value given as an argument", ExitUsage, "", []string{"s", `{"password":"` + c + `"}`}, "never from the command line"},
		{"a value given as an argument, and on stdin", ExitUsage, `{"a":"b"}`, []string{"s", c}, "the value comes from --file or standard input"},
		{"no name", ExitUsage, `{"a":"b"}`, nil, "needs the secret's NAME"},
	}
	for _, op := range []string{"create", "update"} {
		for _, sc := range scopes {
			for _, tt := range tests {
				t.Run(op+"/"+sc.name+"/"+tt.name, func(t *testing.T) {
					before := p.Requests()
					stderr := fails(t, tt.code, env, tt.stdin, with(with([]string{op}, sc.flags...), tt.args...)...)
					assert.Contains(t, stderr, tt.stderr)
					assert.NotContains(t, stderr, c)
					assert.Equal(t, before, p.Requests(), "a request was sent")
				})
			}
		}
	}
	// Nothing was stored; and the proxy does see the requests of a
	// valid value.
	for _, sc := range scopes {
		assert.Equal(t, "", ok(t, fx.env(), "", with([]string{"list"}, sc.flags...)...).stdout)
		before := p.Requests()
		ok(t, env, `{"a":"`+c+`"}`, with(with([]string{"create"}, sc.flags...), "s")...)
		assert.Greater(t, p.Requests(), before)
	}
}
