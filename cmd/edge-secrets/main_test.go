package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge/edgetest"
)

// The tests build edge-secrets once and run the binary, with os/exec,
// against a real Vault: the one edgetest.Start shares between the tests
// (the embedded dev Vault, or the external one EDGE_TEST_VAULT_ADDR
// names).
var binary string // the edge-secrets binary under test

// buildFlags are added to the go build of the binary, and childEnv to
// the environment of its every run: -race and its settings when the
// tests run with -race (race_test.go).
var buildFlags, childEnv []string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

// testMain builds the binary, then runs the tests with edgetest.Run,
// which stops the shared Vault at the end.
func testMain(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "edge-secrets-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "edge-secrets")
	build := exec.CommandContext(ctx, "go", append(append([]string{"build"}, buildFlags...), "-o", binary, ".")...)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building edge-secrets: %v\n%s", err, out)
		return 1
	}
	return edgetest.Run(m)
}

// secrets holds every value and token the tests hand to edge-secrets:
// none may ever appear on its standard error.
var secrets struct {
	mu  sync.Mutex
	all []string
}

// secret registers s as a string edge-secrets must never print on
// standard error, and returns it.
func secret(s string) string {
	secrets.mu.Lock()
	defer secrets.mu.Unlock()
	secrets.all = append(secrets.all, s)
	return s
}

// canary returns a fresh secret value to put in a test's values.
func canary() string { return secret(edgetest.UniqueName("CANARY")) }

// result is what one run of edge-secrets did.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs edge-secrets with env as its whole environment (the
// developer's VAULT_* settings never reach it) and stdin as its standard
// input. It checks that standard error holds no registered secret.
func cli(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(append([]string(nil), env...), childEnv...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		require.NoError(t, err, "running edge-secrets %q", args)
	}
	secrets.mu.Lock()
	all := append([]string(nil), secrets.all...)
	secrets.mu.Unlock()
	for _, s := range all {
		require.NotContains(t, r.stderr, s, "edge-secrets %q printed a value or token on standard error", args)
	}
	return r
}

// ok runs edge-secrets and requires exit code 0.
func ok(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	r := cli(t, env, stdin, args...)
	require.Equal(t, 0, r.code, "edge-secrets %q: stderr: %s", args, r.stderr)
	return r
}

// fails runs edge-secrets, requires exit code code and nothing on
// standard output, and returns standard error.
func fails(t *testing.T, code int, env []string, stdin string, args ...string) string {
	t.Helper()
	r := cli(t, env, stdin, args...)
	require.Equal(t, code, r.code, "edge-secrets %q: stderr: %s", args, r.stderr)
	assert.Empty(t, r.stdout, "edge-secrets %q failed and printed on standard output", args)
	assert.NotEmpty(t, r.stderr, "edge-secrets %q failed without a message", args)
	return r.stderr
}

// fixture is a fresh Vault user, admin of a fresh org, on the shared
// Vault.
type fixture struct {
	vault *edgetest.Vault
	user  edgetest.User
	org   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	v := edgetest.Start(t)
	u := newUser(t, v)
	return &fixture{vault: v, user: u, org: v.NewOrg(t, u)}
}

// newUser makes a fresh userpass user with the Edge user policy, and
// registers its token and password as secrets.
func newUser(t *testing.T, v *edgetest.Vault) edgetest.User {
	t.Helper()
	u := v.NewUser(t)
	secret(u.Token)
	secret(u.Password)
	return u
}

// rootToken returns v's root token, registered as a secret.
func rootToken(t *testing.T, v *edgetest.Vault) string {
	t.Helper()
	return secret(v.RootClient(t).Token())
}

// env is the environment of the fixture's user: VAULT_ADDR, VAULT_TOKEN,
// EDGE_ORG and EDGE_KV_MOUNT, then extra.
func (f *fixture) env(extra ...string) []string {
	return append([]string{
		"VAULT_ADDR=" + f.vault.Addr(),
		"VAULT_TOKEN=" + f.user.Token,
		"EDGE_ORG=" + f.org,
		"EDGE_KV_MOUNT=" + f.vault.Mount(),
	}, extra...)
}

// receiverEnv is the environment of a receiver of a wrapped secret: the
// Vault address alone.
func (f *fixture) receiverEnv() []string { return []string{"VAULT_ADDR=" + f.vault.Addr()} }

// writeFile writes content to a new file in the test's directory.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "input")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// wrapped is wrap's output.
type wrapped struct {
	Token        string    `json:"token"`
	Accessor     string    `json:"accessor"`
	UnwrapURL    string    `json:"unwrap_url"`
	CreationPath string    `json:"creation_path"`
	CreationTime time.Time `json:"creation_time"`
	ExpiresAt    time.Time `json:"expires_at"`
	TTLSeconds   int64     `json:"ttl_seconds"`
	Version      int       `json:"version"`
}

// wrap runs edge-secrets wrap with args, registers the token as a
// secret and returns the output, and its raw text.
func wrap(t *testing.T, env []string, args ...string) (wrapped, string) {
	t.Helper()
	r := ok(t, env, "", append([]string{"wrap"}, args...)...)
	return decodeWrapped(t, r.stdout)
}

// decodeWrapped decodes wrap's output and registers its token as a
// secret.
func decodeWrapped(t *testing.T, output string) (wrapped, string) {
	t.Helper()
	var w wrapped
	require.NoError(t, json.Unmarshal([]byte(output), &w), "wrap's output: %s", output)
	require.NotEmpty(t, w.Token)
	secret(w.Token)
	return w, output
}

// scopes are the two scopes, as the flags that pick them.
var scopes = []struct {
	name  string
	flags []string
}{
	{"user", nil},
	{"org", []string{"--org"}},
}

// with returns args followed by more.
func with(args []string, more ...string) []string {
	return append(append([]string(nil), args...), more...)
}
