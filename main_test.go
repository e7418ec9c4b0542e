package edge_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/admin"
	"github.com/edgesdk/edge/internal/vaulttest"
)

// vault is the real Vault every test in this package talks to: the
// embedded dev Vault, or the external one EDGE_TEST_VAULT_ADDR names.
var vault *vaulttest.Server

// operator provisions Vault for the tests with the root token, through
// the admin package: the KV v2 mount, the user policy, orgs.
var operator *admin.Admin

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		// A fuzzing worker runs only the fuzz targets, which need no
		// Vault.
		return m.Run()
	}
	ctx := context.Background()
	before := goleak.IgnoreCurrent()
	// The demo layout's users and orgs (acme, globex) are what the access
	// matrix runs on; every other test makes users and orgs of its own.
	srv, err := vaulttest.Start(ctx, vaulttest.Options{Demo: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting Vault for the tests:", err)
		return 1
	}
	vault = srv
	root, err := api.NewClient(&api.Config{Address: srv.Addr})
	if err == nil {
		root.SetToken(srv.RootToken)
		operator, err = admin.New(admin.Config{Client: root, Mount: srv.Mount})
	}
	if err == nil {
		err = operator.Setup(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "setting up Vault for Edge:", err)
		_ = srv.Close()
		return 1
	}
	code := m.Run()
	if err := srv.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping Vault:", err)
	}
	if code != 0 {
		return code
	}
	// With the embedded Vault gone, every connection to it is closed, so
	// an HTTP client's connection goroutines end; an external Vault keeps
	// idle connections (and their goroutines) open.
	opts := []goleak.Option{before}
	if srv.External {
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

// unique returns prefix followed by random hex, for names no other test
// uses.
func unique(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// newUser makes a fresh Vault user with its own identity entity and the
// Edge user policy, as an operator would.
func newUser(t testing.TB) vaulttest.User {
	t.Helper()
	u, err := vault.NewUser(context.Background(), unique("u"), operator.UserPolicyName())
	require.NoError(t, err)
	return u
}

// newOrg makes a fresh org with the given admins.
func newOrg(t testing.TB, admins ...vaulttest.User) string {
	t.Helper()
	ctx := context.Background()
	org := unique("org")
	require.NoError(t, operator.CreateOrg(ctx, org))
	for _, a := range admins {
		require.NoError(t, operator.AddAdmin(ctx, org, a.EntityID))
	}
	return org
}

// newSession returns a session for a fresh user, admin of a fresh org.
func newSession(t testing.TB) *edge.Session {
	t.Helper()
	u := newUser(t)
	return sessionFor(t, u.Token, newOrg(t, u))
}

func sessionFor(t testing.TB, token, org string) *edge.Session {
	t.Helper()
	sess, err := edge.NewSession(context.Background(), edge.Config{
		Address: vault.Addr,
		Token:   token,
		Org:     org,
		Mount:   vault.Mount,
	})
	require.NoError(t, err)
	return sess
}

// scopeOps is one scope's six operations, so that a test runs the same
// steps on user and org secrets.
type scopeOps struct {
	name   string
	list   func(context.Context) ([]string, error)
	read   func(context.Context, string) (edge.Secret, error)
	create func(context.Context, string, edge.Secret) error
	update func(context.Context, string, edge.Secret) error
	delete func(context.Context, string) error
	wrap   func(context.Context, string, ...edge.WrapOption) (*edge.WrappedSecret, error)
}

func userOps(s *edge.Session) scopeOps {
	x := s.Secrets
	return scopeOps{"user", x.ListUserSecrets, x.ReadUserSecret, x.CreateUserSecret, x.UpdateUserSecret, x.DeleteUserSecret, x.WrapUserSecret}
}

func orgOps(s *edge.Session) scopeOps {
	x := s.Secrets
	return scopeOps{"org", x.ListOrgSecrets, x.ReadOrgSecret, x.CreateOrgSecret, x.UpdateOrgSecret, x.DeleteOrgSecret, x.WrapOrgSecret}
}

// forEachScope runs f as a subtest for user secrets and for org secrets,
// each on a fresh session (fresh user, fresh org).
func forEachScope(t *testing.T, f func(t *testing.T, sess *edge.Session, ops scopeOps)) {
	for _, pick := range []func(*edge.Session) scopeOps{userOps, orgOps} {
		sess := newSession(t)
		ops := pick(sess)
		t.Run(ops.name, func(t *testing.T) {
			t.Parallel()
			f(t, sess, ops)
		})
	}
}
