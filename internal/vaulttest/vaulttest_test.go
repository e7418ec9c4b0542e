package vaulttest

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	code := m.Run()
	sharedSrv.mu.Lock()
	srv := sharedSrv.s
	sharedSrv.mu.Unlock()
	if err := srv.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the shared dev Vault:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// sharedSrv is the dev Vault most tests of this package share.
var sharedSrv struct {
	once sync.Once
	mu   sync.Mutex
	s    *Server
	err  error
}

// shared returns the shared dev Vault, starting it on first use.
func shared(t *testing.T) *Server {
	t.Helper()
	sharedSrv.once.Do(func() {
		// Covers a first build of the dev Vault (about four minutes).
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		s, err := Start(ctx, Options{})
		sharedSrv.mu.Lock()
		sharedSrv.s, sharedSrv.err = s, err
		sharedSrv.mu.Unlock()
	})
	sharedSrv.mu.Lock()
	defer sharedSrv.mu.Unlock()
	require.NoError(t, sharedSrv.err, "starting the shared dev Vault")
	return sharedSrv.s
}

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

// TestSharedServer checks what the dev Vault sets up: KV version 2 at
// "secret", userpass and AppRole, a working root token, and nothing of
// Edge (no edge policy: package edgetest provisions that).
func TestSharedServer(t *testing.T) {
	s := shared(t)
	require.Equal(t, "secret", s.Mount)
	require.NotEmpty(t, s.Addr)
	require.NotEmpty(t, s.RootToken)

	mounts := getJSON(t, s, http.MethodGet, "/v1/sys/mounts", s.RootToken, nil, http.StatusOK)
	m, ok := mounts["data"].(map[string]any)[s.Mount+"/"].(map[string]any)
	require.True(t, ok, "mount %s/ not listed", s.Mount)
	assert.Equal(t, "kv", m["type"])
	require.IsType(t, map[string]any{}, m["options"])
	assert.Equal(t, "2", m["options"].(map[string]any)["version"])

	auths := getJSON(t, s, http.MethodGet, "/v1/sys/auth", s.RootToken, nil, http.StatusOK)
	for _, kind := range []string{"userpass", "approle"} {
		a, ok := auths["data"].(map[string]any)[kind+"/"].(map[string]any)
		if assert.True(t, ok, "%s/ not enabled", kind) {
			assert.Equal(t, kind, a["type"])
		}
	}

	policies := getJSON(t, s, "LIST", "/v1/sys/policies/acl", s.RootToken, nil, http.StatusOK)
	// Other tests of this package write policies of their own (named
	// edge-canary-...); the dev Vault writes none, Edge's included.
	for _, p := range policies["data"].(map[string]any)["keys"].([]any) {
		assert.True(t, p == "default" || p == "root" || strings.HasPrefix(p.(string), "edge-canary-"), "policy %v", p)
	}

	// The mount serves requests at once (its KV v2 upgrade is done).
	key := "/v1/" + s.Mount + "/data/" + UniqueName("shared")
	w := getJSON(t, s, http.MethodPost, key, s.RootToken, map[string]any{"data": map[string]any{"v": "1"}}, http.StatusOK)
	assert.EqualValues(t, 1, w["data"].(map[string]any)["version"])
}

func TestNewUser(t *testing.T) {
	s := shared(t)
	ctx := testContext(t)
	policy := userPolicy(t, s)

	a, err := s.NewUser(ctx, UniqueName("newuser"))
	require.NoError(t, err)
	b, err := s.NewUser(ctx, UniqueName("newuser"), policy)
	require.NoError(t, err)
	assert.NotEqual(t, a.EntityID, b.EntityID)
	assert.True(t, a.Token != b.Token, "tokens must differ")

	self := getJSON(t, s, http.MethodGet, "/v1/auth/token/lookup-self", a.Token, nil, http.StatusOK)
	assert.Equal(t, []any{"default"}, self["data"].(map[string]any)["policies"])
	assert.Equal(t, a.EntityID, self["data"].(map[string]any)["entity_id"])
	self = getJSON(t, s, http.MethodGet, "/v1/auth/token/lookup-self", b.Token, nil, http.StatusOK)
	assert.ElementsMatch(t, []any{"default", policy}, self["data"].(map[string]any)["policies"])

	// The policy lets b write and read its own user secrets, and a not.
	key := "/v1/" + s.Mount + "/data/edge/users/" + b.EntityID + "/" + UniqueName("mine")
	getJSON(t, s, http.MethodPost, key, b.Token, map[string]any{"data": map[string]any{"v": "1"}}, http.StatusOK)
	r := getJSON(t, s, http.MethodGet, key, b.Token, nil, http.StatusOK)
	assert.Equal(t, "1", r["data"].(map[string]any)["data"].(map[string]any)["v"])
	getJSON(t, s, http.MethodGet, key, a.Token, nil, http.StatusForbidden)

	_, err = s.NewUser(ctx, "Not/Valid")
	assert.Error(t, err)
}

func TestNoSecretsInStrings(t *testing.T) {
	s := shared(t)
	u, err := s.NewUser(testContext(t), UniqueName("strings"))
	require.NoError(t, err)
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
	s := shared(t)
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
	s, err := Start(ctx, Options{})
	require.NoError(t, err)
	u, err := s.NewUser(ctx, UniqueName("erin"))
	require.NoError(t, err)
	getJSON(t, s, http.MethodGet, "/v1/auth/token/lookup-self", u.Token, nil, http.StatusOK)

	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	select {
	case <-s.exited:
	default:
		t.Fatal("devvault still running after Close")
	}
	_, _, err = s.Do(ctx, http.MethodGet, "/v1/sys/health", "", nil)
	assert.Error(t, err, "server still answering after Close")
}
