package vaulttest

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// getJSON sends a request that must answer wantStatus and decodes the body.
func getJSON(t *testing.T, s *Server, method, path, token string, body any, wantStatus int) map[string]any {
	t.Helper()
	status, resp, err := s.Do(testContext(t), method, path, token, body)
	require.NoError(t, err)
	require.Equal(t, wantStatus, status, "%s %s: %s", method, path, vaultErrors(resp))
	out := map[string]any{}
	if len(resp) > 0 {
		require.NoError(t, json.Unmarshal(resp, &out), "%s %s", method, path)
	}
	return out
}

func TestSharedServer(t *testing.T) {
	s := Shared(t)
	require.Equal(t, "secret", s.Mount)
	require.NotEmpty(t, s.Addr)
	require.NotEmpty(t, s.RootToken)
	require.NotEmpty(t, s.NoPolicyToken)
	require.Len(t, s.Users, len(SharedUsers))

	// Distinct users, tokens, entity ids, accessors; compared without ever
	// printing a token.
	tokens := map[string]string{}
	entities := map[string]string{}
	accessors := map[string]string{}
	for _, name := range SharedUsers {
		u, ok := s.Users[name]
		require.True(t, ok, "user %s missing", name)
		assert.Equal(t, name, u.Name)
		require.True(t, u.Token != "" && u.EntityID != "" && u.Password != "" && u.Accessor != "", "user %s has empty fields", name)
		if other, dup := tokens[u.Token]; dup {
			t.Errorf("users %s and %s share a token", other, name)
		}
		if other, dup := entities[u.EntityID]; dup {
			t.Errorf("users %s and %s share entity id %s", other, name, u.EntityID)
		}
		if other, dup := accessors[u.Accessor]; dup {
			t.Errorf("users %s and %s share an accessor", other, name)
		}
		tokens[u.Token], entities[u.EntityID], accessors[u.Accessor] = name, name, name
		assert.True(t, u.Token != s.RootToken && u.Token != s.NoPolicyToken, "user %s token reused", name)

		// The token is alive, belongs to the entity and has only the
		// edge user policy.
		self := getJSON(t, s, http.MethodGet, "/v1/auth/token/lookup-self", u.Token, nil, http.StatusOK)
		data := self["data"].(map[string]any)
		assert.Equal(t, u.EntityID, data["entity_id"], "user %s", name)
		assert.ElementsMatch(t, []any{"default", s.UserPolicy}, data["policies"], "user %s", name)
	}

	// KV v2 at the mount.
	mounts := getJSON(t, s, http.MethodGet, "/v1/sys/mounts", s.RootToken, nil, http.StatusOK)
	m, ok := mounts["data"].(map[string]any)[s.Mount+"/"].(map[string]any)
	require.True(t, ok, "mount %s/ not listed", s.Mount)
	assert.Equal(t, "kv", m["type"])
	require.IsType(t, map[string]any{}, m["options"])
	assert.Equal(t, "2", m["options"].(map[string]any)["version"])

	// userpass is enabled.
	auths := getJSON(t, s, http.MethodGet, "/v1/sys/auth", s.RootToken, nil, http.StatusOK)
	up, ok := auths["data"].(map[string]any)["userpass/"].(map[string]any)
	require.True(t, ok, "userpass/ not enabled")
	assert.Equal(t, "userpass", up["type"])

	// The demo layout.
	assert.Equal(t, map[string]Org{
		"acme":   {Admins: []string{"carol"}, Members: []string{"alice", "bob"}},
		"globex": {Admins: []string{}, Members: []string{"dave"}},
	}, s.Orgs)

	// The user policy lets alice write and read her own user secrets,
	// and bob not.
	alice := s.Users["alice"]
	key := "/v1/" + s.Mount + "/data/edge/users/" + alice.EntityID + "/" + UniqueName("shared")
	w := getJSON(t, s, http.MethodPost, key, alice.Token, map[string]any{"data": map[string]any{"v": "1"}}, http.StatusOK)
	assert.EqualValues(t, 1, w["data"].(map[string]any)["version"])
	r := getJSON(t, s, http.MethodGet, key, alice.Token, nil, http.StatusOK)
	assert.Equal(t, "1", r["data"].(map[string]any)["data"].(map[string]any)["v"])
	getJSON(t, s, http.MethodGet, key, s.Users["bob"].Token, nil, http.StatusForbidden)

	// The default-policy-only token works but cannot touch the mount.
	self := getJSON(t, s, http.MethodGet, "/v1/auth/token/lookup-self", s.NoPolicyToken, nil, http.StatusOK)
	assert.Equal(t, []any{"default"}, self["data"].(map[string]any)["policies"])
	getJSON(t, s, http.MethodGet, key, s.NoPolicyToken, nil, http.StatusForbidden)
	getJSON(t, s, http.MethodPost, key, s.NoPolicyToken, map[string]any{"data": map[string]any{"v": "2"}}, http.StatusForbidden)
}

func TestNewUser(t *testing.T) {
	s := Shared(t)
	ctx := testContext(t)

	a, err := s.NewUser(ctx, UniqueName("newuser"))
	require.NoError(t, err)
	b, err := s.NewUser(ctx, UniqueName("newuser"), s.UserPolicy)
	require.NoError(t, err)
	assert.NotEqual(t, a.EntityID, b.EntityID)
	assert.True(t, a.Token != b.Token, "tokens must differ")

	self := getJSON(t, s, http.MethodGet, "/v1/auth/token/lookup-self", a.Token, nil, http.StatusOK)
	assert.Equal(t, []any{"default"}, self["data"].(map[string]any)["policies"])
	assert.Equal(t, a.EntityID, self["data"].(map[string]any)["entity_id"])
	self = getJSON(t, s, http.MethodGet, "/v1/auth/token/lookup-self", b.Token, nil, http.StatusOK)
	assert.ElementsMatch(t, []any{"default", s.UserPolicy}, self["data"].(map[string]any)["policies"])

	_, err = s.NewUser(ctx, "Not/Valid")
	assert.Error(t, err)
}

func TestNoSecretsInStrings(t *testing.T) {
	s := Shared(t)
	u := s.Users["alice"]
	for _, str := range []string{
		fmt.Sprintf("%v %+v %#v %s", u, u, u, u),
		fmt.Sprintf("%v %+v %#v %s", s, s, s, s),
	} {
		assert.False(t, strings.Contains(str, u.Token), "token printed")
		assert.False(t, strings.Contains(str, u.Password), "password printed")
		assert.False(t, strings.Contains(str, s.RootToken), "root token printed")
	}
}

// TestDevvaultBinaryHasMuxGodebug checks that the built devvault carries
// httpmuxgo121=1 in its default GODEBUG (see the devvault package comment).
func TestDevvaultBinaryHasMuxGodebug(t *testing.T) {
	s := Shared(t)
	if s.External {
		t.Skip("external Vault")
	}
	info, err := buildinfo.ReadFile(s.bin)
	require.NoError(t, err)
	var godebug string
	for _, setting := range info.Settings {
		if setting.Key == "DefaultGODEBUG" {
			godebug = setting.Value
		}
	}
	assert.Contains(t, strings.Split(godebug, ","), "httpmuxgo121=1", "DefaultGODEBUG=%q", godebug)
}

// TestStartClose starts a private server and checks that Close stops it
// cleanly and is idempotent.
func TestStartClose(t *testing.T) {
	ctx := testContext(t)
	s, err := Start(ctx, Options{Users: []string{"erin"}})
	require.NoError(t, err)
	require.Contains(t, s.Users, "erin")
	getJSON(t, s, http.MethodGet, "/v1/auth/token/lookup-self", s.Users["erin"].Token, nil, http.StatusOK)

	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	if !s.External {
		select {
		case <-s.exited:
		default:
			t.Fatal("devvault still running after Close")
		}
		_, _, err = s.Do(ctx, http.MethodGet, "/v1/sys/health", "", nil)
		assert.Error(t, err, "server still answering after Close")
	}
}

func TestStartRejectsBadUser(t *testing.T) {
	_, err := Start(testContext(t), Options{Users: []string{"Bad,Name"}})
	assert.Error(t, err)
}
