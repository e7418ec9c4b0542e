package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/faultproxy"
)

// verified is verify's output.
type verified struct {
	CreationPath string    `json:"creation_path"`
	CreationTime time.Time `json:"creation_time"`
	ExpiresAt    time.Time `json:"expires_at"`
	TTLSeconds   int64     `json:"ttl_seconds"`
}

// TestUnwrapAndVerify hands secrets of both scopes over: the receiver,
// with the Vault address alone, verifies the token without spending it
// and unwraps it, reading the token from standard input or from a file,
// alone or as wrap's JSON output.
func TestUnwrapAndVerify(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	env := fx.env()
	value := `{"n":12345678901234567890,"password":"` + canary() + `"}`
	ok(t, env, value, "create", "db")
	ok(t, env, value, "create", "--org", "db")

	origins := map[string][]string{
		"user": {"--user-entity", fx.user.EntityID, "--name", "db"},
		"org":  {"--org", fx.org, "--name", "db"},
	}
	// How the receiver gets the token: the input and the flags that
	// read it.
	inputs := []struct {
		name  string
		input func(t *testing.T, token, output string) (stdin string, args []string)
	}{
		{"token on stdin", func(_ *testing.T, token, _ string) (string, []string) { return token, nil }},
		{"token and newline on stdin", func(_ *testing.T, token, _ string) (string, []string) { return "  " + token + "\n", nil }},
		{"wrap's output on stdin", func(_ *testing.T, _, output string) (string, []string) { return output, nil }},
		{"token in a file", func(t *testing.T, token, _ string) (string, []string) {
			return "", []string{"--file", writeFile(t, token+"\n")}
		}},
		{"wrap's output in a file", func(t *testing.T, _, output string) (string, []string) {
			return "", []string{"--file", writeFile(t, output)}
		}},
	}
	for _, sc := range scopes {
		for _, in := range inputs {
			t.Run(sc.name+"/"+in.name, func(t *testing.T) {
				w, output := wrap(t, env, with(sc.flags, "db")...)

				stdin, args := in.input(t, w.Token, output)
				r := ok(t, fx.receiverEnv(), stdin, with(with([]string{"verify"}, origins[sc.name]...), args...)...)
				var v verified
				require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
				assert.Equal(t, w.CreationPath, v.CreationPath)
				assert.Equal(t, w.ExpiresAt, v.ExpiresAt)
				assert.Equal(t, int64(300), v.TTLSeconds)
				assert.Contains(t, r.stderr, "verified: the token holds "+sc.name+` secret "db"`)
				assert.NotContains(t, r.stdout, w.Token)

				// Verify did not spend the token.
				stdin, args = in.input(t, w.Token, output)
				assert.Equal(t, value+"\n", ok(t, fx.receiverEnv(), stdin, with([]string{"unwrap"}, args...)...).stdout)
				stdin, args = in.input(t, w.Token, output)
				fails(t, ExitInvalidToken, fx.receiverEnv(), stdin, with([]string{"unwrap"}, args...)...)
			})
		}
	}

	t.Run("with version", func(t *testing.T) {
		ok(t, env, value, "update", "--org", "db")
		w, _ := wrap(t, env, "--org", "db")
		r := ok(t, fx.receiverEnv(), w.Token, "unwrap", "--with-version")
		var got struct {
			Value       json.RawMessage `json:"value"`
			Version     int             `json:"version"`
			CreatedTime time.Time       `json:"created_time"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
		assert.JSONEq(t, value, string(got.Value))
		assert.Contains(t, r.stdout, "12345678901234567890", "numbers exact")
		assert.Equal(t, 2, got.Version)
		assert.WithinDuration(t, time.Now(), got.CreatedTime, time.Minute)
	})

	t.Run("wrong secret", func(t *testing.T) {
		w, _ := wrap(t, env, "--org", "db")
		wrong := map[string][]string{
			"another name":   {"--org", fx.org, "--name", "other"},
			"another org":    {"--org", edgetest.UniqueName("org"), "--name", "db"},
			"a user secret":  {"--user-entity", fx.user.EntityID, "--name", "db"},
			"another mount":  {"--org", fx.org, "--name", "db", "--mount", "kv"},
			"another prefix": {"--org", fx.org, "--name", "db", "--prefix", "other"},
		}
		for name, args := range wrong {
			stderr := fails(t, ExitWrongSecret, fx.receiverEnv(), w.Token, with([]string{"verify"}, args...)...)
			assert.Contains(t, stderr, "does not hold the expected secret", name)
		}
		// The token is unspent.
		assert.Equal(t, value+"\n", ok(t, fx.receiverEnv(), w.Token, "unwrap").stdout)
	})

	t.Run("origin from the environment and flags", func(t *testing.T) {
		w, _ := wrap(t, env, "db")
		// EDGE_KV_MOUNT names the mount verify expects, as a session's.
		fails(t, ExitWrongSecret, append(fx.receiverEnv(), "EDGE_KV_MOUNT=kv"), w.Token, "verify", "--user-entity", fx.user.EntityID, "--name", "db")
		ok(t, append(fx.receiverEnv(), "EDGE_KV_MOUNT=kv"), w.Token, "verify", "--mount", fx.vault.Mount(), "--user-entity", fx.user.EntityID, "--name", "db")
		ok(t, fx.receiverEnv(), w.Token, "--prefix", "edge", "verify", "--user-entity", fx.user.EntityID, "--name", "db")
	})

	t.Run("bad tokens and origins", func(t *testing.T) {
		w, _ := wrap(t, env, "db")
		tests := []struct {
			name   string
			code   int
			stdin  string
			args   []string
			stderr string
		}{
			{"unwrap empty input", ExitInvalidToken, "", []string{"unwrap"}, "no wrapping token: standard input is empty"},
			{"unwrap an empty file", ExitInvalidToken, "", []string{"unwrap", "--file", writeFile(t, "\n")}, "no wrapping token: file"},
			{"unwrap two words", ExitInvalidToken, w.Token + " " + w.Token, []string{"unwrap"}, "more than one word"},
			{"unwrap JSON without a token", ExitInvalidToken, `{"accessor":"x"}`, []string{"unwrap"}, `not wrap's output with a "token" string`},
			{"unwrap invalid JSON", ExitInvalidToken, `{"token":"` + w.Token, []string{"unwrap"}, `not wrap's output`},
			{"unwrap a token given as an argument", ExitUsage, "", []string{"unwrap", w.Token}, "never from the command line"},
			{"verify a token given as an argument", ExitUsage, "", []string{"verify", "--org", fx.org, "--name", "db", w.Token}, "never from the command line"},
			{"verify empty input", ExitInvalidToken, "", []string{"verify", "--org", fx.org, "--name", "db"}, "no wrapping token"},
			{"verify without an owner", ExitUsage, w.Token, []string{"verify", "--name", "db"}, "--user-entity ID or --org ORG"},
			{"verify without a name", ExitUsage, w.Token, []string{"verify", "--org", fx.org}, "--name NAME"},
			{"verify with two owners", ExitUsage, w.Token, []string{"verify", "--org", fx.org, "--user-entity", fx.user.EntityID, "--name", "db"}, "not both"},
			{"verify an invalid name", ExitBadEntry, w.Token, []string{"verify", "--org", fx.org, "--name", "a/b"}, "bad entry"},
			{"verify an invalid entity", ExitBadEntry, w.Token, []string{"verify", "--user-entity", "../x", "--name", "db"}, "bad entry"},
		}
		for _, tt := range tests {
			stderr := fails(t, tt.code, fx.receiverEnv(), tt.stdin, tt.args...)
			assert.Contains(t, stderr, tt.stderr, tt.name)
		}
		// None of them spent the token.
		assert.Equal(t, value+"\n", ok(t, fx.receiverEnv(), w.Token, "unwrap").stdout)
	})
}

// TestHandoverScript runs the README's handover: the sender, an org
// admin logged in with userpass (password in a file), creates an org
// secret from a file and wraps it into a file; the receiver, with the
// Vault address alone, verifies and unwraps it from that file, once.
func TestHandoverScript(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	sender := []string{
		"VAULT_ADDR=" + fx.vault.Addr(), "EDGE_ORG=" + fx.org, "EDGE_KV_MOUNT=" + fx.vault.Mount(),
		"VAULT_USERNAME=" + fx.user.Name, "VAULT_PASSWORD_FILE=" + writeFile(t, fx.user.Password+"\n"),
	}
	password := canary()
	file := writeFile(t, "{\n  \"user\": \"app\",\n  \"password\": \""+password+"\",\n  \"port\": 5432\n}\n")
	ok(t, sender, "", "create", "--org", "team-db", "--file", file)
	value := `{"password":"` + password + `","port":5432,"user":"app"}` // as read prints it
	_, output := wrap(t, sender, "--org", "--ttl", "10m", "team-db")
	wrapFile := writeFile(t, output)

	ok(t, fx.receiverEnv(), "", "verify", "--org", fx.org, "--name", "team-db", "--file", wrapFile)
	assert.Equal(t, value+"\n", ok(t, fx.receiverEnv(), "", "unwrap", "--file", wrapFile).stdout)
	fails(t, ExitInvalidToken, fx.receiverEnv(), "", "unwrap", "--file", wrapFile)
}

// TestWrapWithVersionByAdminAndMember: an org admin who is also a member
// of the org wraps an org secret --with-version, as any admin (the
// members policy's version rule does not reach admins, see package
// admin); a member who is no admin gets exit 6, permission denied, and
// still wraps the latest version without it.
func TestWrapWithVersionByAdminAndMember(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ok(t, fx.env(), `{"password":"`+canary()+`"}`, "create", "--org", "db")
	both, member := newUser(t, fx.vault), newUser(t, fx.vault)
	fx.vault.AddAdmin(t, fx.org, both)
	fx.vault.AddMember(t, fx.org, both)
	fx.vault.AddMember(t, fx.org, member)
	env := (&fixture{vault: fx.vault, user: both, org: fx.org}).env()
	memberEnv := (&fixture{vault: fx.vault, user: member, org: fx.org}).env()

	w, _ := wrap(t, env, "--org", "--with-version", "db")
	assert.Equal(t, 1, w.Version)
	wrap(t, memberEnv, "--org", "db") // the plain wrap works
	stderr := fails(t, ExitPermissionDenied, memberEnv, "", "wrap", "--org", "--with-version", "db")
	assert.Contains(t, stderr, "permission denied")
}

// TestControlByteInWrappingToken refuses a wrapping token with a control
// byte in it as an invalid token, exit 7, without quoting it and before
// any request, in every command that reads one: net/http would refuse it
// as a header value, which was exit 1.
func TestControlByteInWrappingToken(t *testing.T) {
	t.Parallel()
	v := edgetest.Start(t)
	p, err := faultproxy.New(v.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	env := []string{"VAULT_ADDR=" + p.URL()}

	var readers []*command
	for _, cmd := range commands {
		if cmd.reads == "wrapping token" {
			readers = append(readers, cmd)
		}
	}
	require.NotEmpty(t, readers)
	// What verify needs besides the token.
	extra := map[string][]string{"verify": {"--org", "acme", "--name", "s"}}
	for _, b := range []string{"\x00", "\x01", "\x1b", "\x7f"} {
		token := secret("hvs.CAES" + edgetest.UniqueName("a") + b + "def")
		inputs := map[string]func(t *testing.T) (string, []string){
			"stdin": func(*testing.T) (string, []string) { return token, nil },
			"wrap's JSON": func(*testing.T) (string, []string) {
				return `{"token":"` + strings.ReplaceAll(token, b, fmt.Sprintf(`\u%04x`, b[0])) + `"}`, nil
			},
			"a file": func(t *testing.T) (string, []string) { return "", []string{"--file", writeFile(t, token+"\n")} },
		}
		for _, cmd := range readers {
			for in, input := range inputs {
				t.Run(fmt.Sprintf("%s/%s/%#x", cmd.name, in, b[0]), func(t *testing.T) {
					before := p.Requests()
					stdin, args := input(t)
					stderr := fails(t, ExitInvalidToken, env, stdin, with(with([]string{cmd.name}, extra[cmd.name]...), args...)...)
					assert.NotContains(t, stderr, token[:len(token)-4])
					assert.Equal(t, before, p.Requests(), "a request was sent")
				})
			}
		}
	}
}
