package edgetest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/userpass"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/vaulttest"
)

func TestStartIsShared(t *testing.T) {
	t.Parallel()
	v := edgetest.Start(t)
	assert.Same(t, v, edgetest.Start(t))
	assert.True(t, strings.HasPrefix(v.Addr(), "http"), v.Addr())
	assert.Equal(t, "secret", v.Mount())
	assert.Equal(t, "secret", v.Admin().Mount())
}

// TestParallelTestsNeverCollide runs parallel tests that each make a
// user, an org and secrets of the same names: each sees only its own.
func TestParallelTestsNeverCollide(t *testing.T) {
	t.Parallel()
	v := edgetest.Start(t)
	var (
		mu       sync.Mutex
		names    = map[string]bool{}
		entities = map[string]bool{}
		orgs     = map[string]bool{}
	)
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			u := v.NewUser(t)
			org := v.NewOrg(t, u)
			mu.Lock()
			assert.False(t, names[u.Name] || entities[u.EntityID] || orgs[org], "a name was handed out twice")
			names[u.Name], entities[u.EntityID], orgs[org] = true, true, true
			mu.Unlock()

			sess := v.Session(t, u, org)
			assert.Equal(t, u.EntityID, sess.EntityID())
			assert.Equal(t, org, sess.Org())
			mine := edge.Secret{"i": fmt.Sprint(i)}
			require.NoError(t, sess.Secrets.CreateUserSecret(ctx, "same-name", mine))
			require.NoError(t, sess.Secrets.CreateOrgSecret(ctx, "same-name", mine))
			for _, read := range []func(context.Context, string) (edge.Secret, error){sess.Secrets.ReadUserSecret, sess.Secrets.ReadOrgSecret} {
				got, err := read(ctx, "same-name")
				require.NoError(t, err)
				assert.Equal(t, mine, got)
			}
			for _, list := range []func(context.Context) ([]string, error){sess.Secrets.ListUserSecrets, sess.Secrets.ListOrgSecrets} {
				got, err := list(ctx)
				require.NoError(t, err)
				assert.Equal(t, []string{"same-name"}, got)
			}
		})
	}
}

// TestAccessModel checks what the Vault enforces on the users and orgs
// edgetest makes: admins write, members read, outsiders get nothing.
func TestAccessModel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	carol, alice, dave := v.NewUser(t), v.NewUser(t), v.NewUser(t)
	org := v.NewOrg(t, carol)
	v.AddMember(t, org, alice)
	admin, member, outsider := v.Session(t, carol, org), v.Session(t, alice, org), v.Session(t, dave, org)

	require.NoError(t, admin.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "s3cret"}))
	require.NoError(t, admin.Secrets.UpdateOrgSecret(ctx, "team-db", edge.Secret{"password": "v2"}))

	got, err := member.Secrets.ReadOrgSecret(ctx, "team-db")
	require.NoError(t, err, "a member reads the org's secrets")
	assert.Equal(t, edge.Secret{"password": "v2"}, got)
	names, err := member.Secrets.ListOrgSecrets(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"team-db"}, names)
	_, err = member.Secrets.WrapOrgSecret(ctx, "team-db")
	require.NoError(t, err, "a member wraps the org's secrets")
	err = member.Secrets.UpdateOrgSecret(ctx, "team-db", edge.Secret{"password": "mine"})
	assert.ErrorIs(t, err, edge.ErrPermissionDenied, "a member may not write")
	err = member.Secrets.CreateOrgSecret(ctx, "other", edge.Secret{"x": "y"})
	assert.ErrorIs(t, err, edge.ErrPermissionDenied, "a member may not create")

	_, err = outsider.Secrets.ReadOrgSecret(ctx, "team-db")
	assert.ErrorIs(t, err, edge.ErrPermissionDenied, "an outsider may not read")
	_, err = outsider.Secrets.ListOrgSecrets(ctx)
	assert.ErrorIs(t, err, edge.ErrPermissionDenied, "an outsider may not list")

	// User secrets stay private, even from the org's admin.
	require.NoError(t, member.Secrets.CreateUserSecret(ctx, "diary", edge.Secret{"entry": "dear diary"}))
	_, err = admin.Secrets.ReadUserSecret(ctx, "diary")
	assert.ErrorIs(t, err, edge.ErrNotFound, "the admin's own scope has no diary")

	// A second admin writes; a removed member reads no more.
	v.AddAdmin(t, org, dave)
	require.NoError(t, outsider.Secrets.DeleteOrgSecret(ctx, "team-db"))
	v.RemoveMember(t, org, alice)
	_, err = member.Secrets.ListOrgSecrets(ctx)
	assert.ErrorIs(t, err, edge.ErrPermissionDenied, "a removed member may not list")
}

// TestSessionClosedAtCleanup shows that the session made in a subtest is
// closed when the subtest ends: Close drops a session's read cache, so a
// read after the cleanup reaches Vault and sees a newer value that the
// one-hour cache would otherwise have hidden.
func TestSessionClosedAtCleanup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	carol, alice := v.NewUser(t), v.NewUser(t)
	org := v.NewOrg(t, carol)
	v.AddMember(t, org, alice)
	admin := v.Session(t, carol, org)
	require.NoError(t, admin.Secrets.CreateOrgSecret(ctx, "flag", edge.Secret{"v": "1"}))

	var cached *edge.Session
	t.Run("sub", func(t *testing.T) {
		cfg := v.Config(alice, org)
		cfg.CacheTTL = time.Hour
		cached = v.NewSession(t, cfg)
		got, err := cached.Secrets.ReadOrgSecret(ctx, "flag")
		require.NoError(t, err)
		require.Equal(t, edge.Secret{"v": "1"}, got)
		// Another client's write is hidden by the cache while the
		// session is open.
		require.NoError(t, admin.Secrets.UpdateOrgSecret(ctx, "flag", edge.Secret{"v": "2"}))
		got, err = cached.Secrets.ReadOrgSecret(ctx, "flag")
		require.NoError(t, err)
		require.Equal(t, edge.Secret{"v": "1"}, got, "served from the cache")
	})
	got, err := cached.Secrets.ReadOrgSecret(ctx, "flag")
	require.NoError(t, err)
	assert.Equal(t, edge.Secret{"v": "2"}, got, "the subtest's cleanup closed the session, dropping its cache")
}

// TestAppRole logs in as a service would, with the role's credentials.
func TestAppRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	carol := v.NewUser(t)
	role := v.NewAppRole(t)
	assert.NotEmpty(t, role.RoleID)
	org := v.NewOrg(t, carol)
	v.AddMember(t, org, role.User)
	require.NoError(t, v.Session(t, carol, org).Secrets.CreateOrgSecret(ctx, "db", edge.Secret{"dsn": "postgres://db"}))

	sess := v.NewSession(t, edge.Config{Auth: role.Auth(t), Org: org})
	assert.Equal(t, role.EntityID, sess.EntityID(), "every login of the role is the same entity")
	got, err := sess.Secrets.ReadOrgSecret(ctx, "db")
	require.NoError(t, err)
	assert.Equal(t, edge.Secret{"dsn": "postgres://db"}, got)

	// The token of NewAppRole's own login works too.
	_, err = v.Session(t, role.User, org).Secrets.ReadOrgSecret(ctx, "db")
	require.NoError(t, err)
}

func TestStringsHideCredentials(t *testing.T) {
	t.Parallel()
	v := edgetest.Start(t)
	u, role := v.NewUser(t), v.NewAppRole(t)
	for _, s := range []string{
		u.String(), fmt.Sprintf("%v %+v %#v %s", u, u, u, u),
		role.String(), fmt.Sprintf("%v %+v %#v %s", role, role, role, role),
		fmt.Sprint([]edgetest.User{u}), fmt.Sprintf("%#v", []edgetest.AppRole{role}),
	} {
		assert.NotContains(t, s, u.Token)
		assert.NotContains(t, s, u.Password)
		assert.NotContains(t, s, role.Token)
		assert.NotContains(t, s, role.SecretID)
		assert.Contains(t, s, "<redacted>")
	}
}

// fatalTB records what a helper passes to Fatalf and ends the goroutine,
// as testing.T's Fatalf does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatalOf runs f with a fatalTB and returns the message it failed with.
func fatalOf(t *testing.T, f func(tb testing.TB)) string {
	t.Helper()
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(tb)
	}()
	<-done
	return tb.msg
}

// TestFailuresAreFatal: each failure ends the test with a message that
// says what failed, and never shows a token.
func TestFailuresAreFatal(t *testing.T) {
	t.Parallel()
	v := edgetest.Start(t)
	u := v.NewUser(t)

	msg := fatalOf(t, func(tb testing.TB) { v.AddMember(tb, "edgetest-no-such-org", u) })
	assert.Contains(t, msg, "edgetest: AddMember "+u.Name+", org edgetest-no-such-org")
	assert.NotContains(t, msg, u.Token)

	bad := u
	bad.Token = "hvs.not-a-token-at-all-0123456789"
	msg = fatalOf(t, func(tb testing.TB) { v.Session(tb, bad, "") })
	assert.Contains(t, msg, "edgetest: Session")
	assert.Contains(t, msg, "permission denied")
	assert.NotContains(t, msg, bad.Token)

	msg = fatalOf(t, func(tb testing.TB) { v.Session(tb, u, "not a valid org") })
	assert.Contains(t, msg, "edgetest: Session")
	assert.NotContains(t, msg, u.Token)

	msg = fatalOf(t, func(tb testing.TB) { v.NewOrg(tb, bad, edgetest.User{Name: "ghost", EntityID: "no-such-entity"}) })
	assert.Contains(t, msg, "edgetest: NewOrg: making ")
	assert.NotContains(t, msg, bad.Token)
}

// TestNewUserOptions checks the policies NewUser gives, and that the
// password logs the user in to the same identity.
func TestNewUserOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := edgetest.Start(t)
	policies := func(u edgetest.User) []string {
		c := v.RootClient(t)
		c.SetToken(u.Token)
		self, err := c.Auth().Token().LookupSelfWithContext(ctx)
		require.NoError(t, err)
		p, err := self.TokenPolicies()
		require.NoError(t, err)
		return p
	}
	assert.ElementsMatch(t, []string{"default", v.Admin().UserPolicyName()}, policies(v.NewUser(t)))
	assert.Equal(t, []string{"default"}, policies(v.NewUser(t, edgetest.WithPolicies())))
	name := edgetest.UniqueName("p")
	require.NoError(t, v.RootClient(t).Sys().PutPolicyWithContext(ctx, name, `path "sys/health" { capabilities = ["read"] }`))
	assert.ElementsMatch(t, []string{"default", name}, policies(v.NewUser(t, edgetest.WithPolicies(name))))

	u := v.NewUser(t)
	require.NotEmpty(t, u.Password)
	auth, err := userpass.NewUserpassAuth(u.Name, &userpass.Password{FromString: u.Password})
	require.NoError(t, err)
	sess := v.NewSession(t, edge.Config{Auth: auth})
	assert.Equal(t, u.EntityID, sess.EntityID(), "the password logs in to the user's identity")
}

// TestProvision sets up a second dev Vault, which the test runs: its
// users are its own.
func TestProvision(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv, err := vaulttest.Start(ctx, vaulttest.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })

	v := edgetest.Provision(t, srv.Addr, srv.RootToken)
	assert.Equal(t, srv.Addr, v.Addr())
	assert.True(t, v.External(), "nothing of edgetest's to stop")
	carol, alice := v.NewUser(t), v.NewUser(t)
	org := v.NewOrg(t, carol)
	v.AddMember(t, org, alice)
	require.NoError(t, v.Session(t, carol, org).Secrets.CreateOrgSecret(ctx, "db", edge.Secret{"v": 1}))
	_, err = v.Session(t, alice, org).Secrets.ReadOrgSecret(ctx, "db")
	assert.NoError(t, err)

	// The shared Vault knows nothing of alice.
	shared := edgetest.Start(t)
	msg := fatalOf(t, func(tb testing.TB) { shared.Session(tb, alice, "") })
	assert.Contains(t, msg, "permission denied")

	// A second Provision of the same Vault is fine: the setup is
	// idempotent.
	again := edgetest.Provision(t, srv.Addr, srv.RootToken)
	_, err = again.Session(t, alice, org).Secrets.ReadOrgSecret(ctx, "db")
	assert.NoError(t, err)

	msg = fatalOf(t, func(tb testing.TB) { edgetest.Provision(tb, srv.Addr, "hvs.not-a-token-at-all-0123456789") })
	assert.Contains(t, msg, "edgetest: Provision "+srv.Addr)
	assert.NotContains(t, msg, "hvs.not-a-token")
}

// TestRootClient checks that each call gives a client of its own, with
// the root token, untouched by a developer's VAULT_NAMESPACE and
// VAULT_WRAP_TTL.
func TestRootClient(t *testing.T) {
	t.Setenv("VAULT_NAMESPACE", "someone-elses")
	t.Setenv("VAULT_WRAP_TTL", "5m")
	ctx := context.Background()
	v := edgetest.Start(t)
	a, b := v.RootClient(t), v.RootClient(t)
	require.NotSame(t, a, b)
	a.SetToken("")
	assert.NotEmpty(t, b.Token(), "changing one client leaves the other")
	assert.Empty(t, b.Namespace())
	s, err := b.Logical().ReadWithContext(ctx, "auth/token/lookup-self")
	require.NoError(t, err)
	assert.True(t, s.WrapInfo == nil, "not wrapped (the wrapping token is not printed)")
	assert.Contains(t, s.Data["policies"], "root")
}

func TestUniqueName(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		n := edgetest.UniqueName("x")
		require.True(t, edge.ValidName(n), n)
		require.True(t, strings.HasPrefix(n, "x-"), n)
		require.False(t, seen[n], "repeated: %s", n)
		seen[n] = true
	}
}

// TestExternalVault runs this test binary again with EDGE_TEST_VAULT_ADDR
// and EDGE_TEST_VAULT_TOKEN naming a Vault this test runs (as a user's CI
// names a "vault server -dev" container): Start provisions that Vault,
// starts none, and Main leaves it running. One variable alone is an
// error that names both.
func TestExternalVault(t *testing.T) {
	if os.Getenv("EDGETEST_EXTERNAL_CHILD") == "1" {
		ctx := context.Background()
		v := edgetest.Start(t)
		require.True(t, v.External())
		require.Equal(t, os.Getenv(edgetest.EnvAddr), v.Addr())
		carol, alice := v.NewUser(t), v.NewUser(t)
		org := v.NewOrg(t, carol)
		v.AddMember(t, org, alice)
		require.NoError(t, v.Session(t, carol, org).Secrets.CreateOrgSecret(ctx, "db", edge.Secret{"v": 1}))
		_, err := v.Session(t, alice, org).Secrets.ReadOrgSecret(ctx, "db")
		require.NoError(t, err)
		return
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv, err := vaulttest.Start(ctx, vaulttest.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })

	child := func(env ...string) (string, error) {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestExternalVault$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), append([]string{"EDGETEST_EXTERNAL_CHILD=1", edgetest.EnvAddr + "=", edgetest.EnvToken + "="}, env...)...)
		out, err := cmd.CombinedOutput()
		assert.NotContains(t, string(out), srv.RootToken, "the token is never printed")
		return string(out), err
	}
	root, err := api.NewClient(&api.Config{Address: srv.Addr})
	require.NoError(t, err)
	root.SetToken(srv.RootToken)
	policy := func() string {
		p, err := root.Sys().GetPolicyWithContext(ctx, "edge-user")
		require.NoError(t, err, "the external Vault serves")
		return p
	}
	require.Empty(t, policy(), "the dev Vault has no Edge policy of its own")

	out, err := child(edgetest.EnvAddr+"="+srv.Addr, edgetest.EnvToken+"="+srv.RootToken)
	require.NoError(t, err, "%s", out)
	assert.Contains(t, out, "--- PASS: TestExternalVault")
	// Main left it running, and the child provisioned it.
	assert.NotEmpty(t, policy())

	out, err = child(edgetest.EnvAddr + "=" + srv.Addr)
	require.Error(t, err)
	assert.Contains(t, out, "set both EDGE_TEST_VAULT_ADDR and EDGE_TEST_VAULT_TOKEN")
}
