package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"testing"

	"go.uber.org/goleak"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/scopes"
)

// The tests of this package talk to a real Vault: the one edgetest.Start
// returns (the embedded dev Vault, or the external one
// EDGE_TEST_VAULT_ADDR names), started by the first test that asks for
// it, with fresh users and orgs per test.

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		// A fuzzing worker runs only the fuzz targets, which never call
		// edgetest.Start: no Vault is started.
		return edgetest.Run(m)
	}
	raiseParallel()
	before := goleak.IgnoreCurrent()
	if code := edgetest.Run(m); code != 0 {
		return code
	}
	// With the embedded Vault gone, every connection to it is closed, so
	// an HTTP client's connection goroutines end; an external Vault keeps
	// idle connections (and their goroutines) open.
	opts := []goleak.Option{before}
	if os.Getenv(edgetest.EnvAddr) != "" {
		opts = append(opts,
			goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
	}
	if err := goleak.Find(opts...); err != nil {
		fmt.Fprintln(os.Stderr, "goroutines leaked by the tests:", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "goleak: no goroutine leaked")
	return 0
}

// newSession returns a session for a fresh user, admin of a fresh org.
func newSession(t testing.TB) *edge.Session {
	t.Helper()
	vault := edgetest.Start(t)
	u := tokenUser(t, vault)
	return vault.Session(t, u, vault.NewOrg(t, u))
}

// forEachScope runs f as a subtest for user secrets and for org secrets,
// each on a fresh session (fresh user, fresh org).
func forEachScope(t *testing.T, f func(t *testing.T, sess *edge.Session, ops scopes.Ops)) {
	for _, pick := range []func(*edge.Session) scopes.Ops{scopes.User, scopes.Org} {
		sess := newSession(t)
		ops := pick(sess)
		t.Run(ops.Name, func(t *testing.T) {
			t.Parallel()
			f(t, sess, ops)
		})
	}
}

// rawDo sends one request to the Vault at addr with net/http, for what
// vault/api would not send as the test means it, and returns the status
// code and the body. path is the request path with any query, such as
// "/v1/sys/mounts/x", sent as given; token, unless empty, goes in
// X-Vault-Token; body, unless nil, is sent as JSON.
func rawDo(ctx context.Context, addr, method, path, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, addr+path, r)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	req.Header.Set("X-Vault-Request", "true")
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// testParallel is how many tests of this package run at once unless
// -parallel says otherwise. Most of a test's time here is spent waiting
// for Vault (another process), for a fault proxy's delay, or for a token
// to reach its TTL, not on the CPU: go test's default, GOMAXPROCS (2 on
// CI's machine), left the CPU half idle (158 s of CPU in 176 s on 2
// cores). The tests that count goroutines or connections, or time a
// deadline, are not parallel and run alone first.
const testParallel = 6

// raiseParallel sets -test.parallel to testParallel when the command line
// did not set it.
func raiseParallel() {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set && runtime.GOMAXPROCS(0) < testParallel {
		_ = flag.Set("test.parallel", strconv.Itoa(testParallel))
	}
}
