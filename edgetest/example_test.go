package edgetest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/exampletb"
)

// A test of code that reads an org secret: an admin writes it, a member
// reads it, an outsider is refused.
func Example() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	ctx := context.Background()

	v := edgetest.Start(t)
	carol, alice, dave := v.NewUser(t), v.NewUser(t), v.NewUser(t)
	org := v.NewOrg(t, carol)
	v.AddMember(t, org, alice)

	err := v.Session(t, carol, org).Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "s3cret"})
	fmt.Println("carol (admin) creates team-db:", err)
	s, err := v.Session(t, alice, org).Secrets.ReadOrgSecret(ctx, "team-db")
	fmt.Println("alice (member) reads team-db:", s, err)
	_, err = v.Session(t, dave, org).Secrets.ReadOrgSecret(ctx, "team-db")
	fmt.Println("dave (outsider) is refused:", errors.Is(err, edge.ErrPermissionDenied))
	// Output:
	// carol (admin) creates team-db: <nil>
	// alice (member) reads team-db: edge.Secret{password:<redacted>} <nil>
	// dave (outsider) is refused: true
}

func ExampleStart() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()

	v := edgetest.Start(t)
	fmt.Println("the same Vault for every test:", v == edgetest.Start(t))
	// Output: the same Vault for every test: true
}

// In the package's main_test.go (an example that runs the tests cannot
// run itself).
func ExampleMain() {
	testMain := func(m *testing.M) {
		edgetest.Main(m) // runs the tests, stops the Vault, exits
	}
	_ = testMain
}

// A TestMain of one's own stops the shared Vault with Stop.
func ExampleStop() {
	testMain := func(m *testing.M) {
		// ... set up what the tests need
		code := m.Run()
		if err := edgetest.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(code)
	}
	_ = testMain
}

// A test against a Vault served over TLS, where vault/api speaks HTTP/2.
// (Not run as an example: with an external plain-HTTP Vault, StartTLS
// skips the test, which an example cannot do.)
func ExampleStartTLS() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	ctx := context.Background()

	v := edgetest.StartTLS(t)
	alice := v.NewUser(t)
	sess := v.Session(t, alice, "") // trusts the dev Vault's CA
	err := sess.Secrets.CreateUserSecret(ctx, "api-key", edge.Secret{"key": "k-123"})
	fmt.Println(strings.HasPrefix(v.Addr(), "https://"), err) // true <nil>
}

// A client edgetest does not make, such as the edge-secrets CLI run by a
// test, is pointed at the CA with VAULT_CACERT.
func ExampleVault_CACert() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()

	v := edgetest.StartTLS(t)
	env := []string{"VAULT_ADDR=" + v.Addr()}
	if v.CACert() != "" { // "" for an external Vault: its own settings apply
		env = append(env, "VAULT_CACERT="+v.CACert())
	}
	_ = env // cmd.Env = append(os.Environ(), env...)
}

// A test against a Vault that requires a client certificate, which
// every client edgetest makes presents. (Not run as an example: with an
// external Vault, StartMTLS skips the test, which an example cannot do.)
func ExampleStartMTLS() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	ctx := context.Background()

	v := edgetest.StartMTLS(t)
	alice := v.NewUser(t)
	sess := v.Session(t, alice, "") // presents the client certificate
	err := sess.Secrets.CreateUserSecret(ctx, "api-key", edge.Secret{"key": "k-123"})
	fmt.Println(err) // <nil>
}

// A client edgetest does not make is given the client certificate with
// VAULT_CLIENT_CERT and VAULT_CLIENT_KEY, next to VAULT_CACERT.
func ExampleVault_ClientCert() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()

	v := edgetest.StartMTLS(t)
	certFile, keyFile := v.ClientCert()
	env := []string{
		"VAULT_ADDR=" + v.Addr(),
		"VAULT_CACERT=" + v.CACert(),
		"VAULT_CLIENT_CERT=" + certFile,
		"VAULT_CLIENT_KEY=" + keyFile,
	}
	_ = env // cmd.Env = append(os.Environ(), env...)
}

func ExampleVault_Addr() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()

	v := edgetest.Start(t)
	fmt.Println(strings.HasPrefix(v.Addr(), "http://") || strings.HasPrefix(v.Addr(), "https://"))
	// Output: true
}

func ExampleVault_Mount() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()

	v := edgetest.Start(t)
	// For an edge.Origin, say, when verifying a wrapping token.
	want := edge.OrgSecretOrigin("acme", "team-db")
	want.Mount = v.Mount()
	fmt.Println(want.Mount)
	// Output: secret
}

func ExampleVault_External() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()

	v := edgetest.Start(t)
	if v.External() {
		fmt.Println("an external Vault: the users and orgs the tests make stay there")
	}
}

func ExampleVault_Admin() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	ctx := context.Background()

	v := edgetest.Start(t)
	carol, alice := v.NewUser(t), v.NewUser(t)
	org := v.NewOrg(t, carol, alice)
	// What the methods of Vault do not cover: here, RemoveAdmin.
	if err := v.Admin().RemoveAdmin(ctx, org, alice.EntityID); err != nil {
		t.Fatalf("%v", err)
	}
	admins, err := v.Admin().Admins(ctx, org)
	fmt.Println(len(admins), admins[0] == carol.EntityID, err)
	// Output: 1 true <nil>
}

func ExampleVault_NewUser() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	ctx := context.Background()

	v := edgetest.Start(t)
	alice := v.NewUser(t)
	sess := v.Session(t, alice, "")
	err := sess.Secrets.CreateUserSecret(ctx, "api-key", edge.Secret{"key": "k-123"})
	fmt.Println(err, sess.EntityID() == alice.EntityID)
	// Output: <nil> true
}

func ExampleVault_NewOrg() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	ctx := context.Background()

	v := edgetest.Start(t)
	carol := v.NewUser(t)
	org := v.NewOrg(t, carol) // carol administers it
	err := v.Session(t, carol, org).Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "s3cret"})
	fmt.Println(err)
	// Output: <nil>
}

func ExampleVault_AddMember() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	ctx := context.Background()

	v := edgetest.Start(t)
	carol, alice := v.NewUser(t), v.NewUser(t)
	org := v.NewOrg(t, carol)
	v.AddMember(t, org, alice)
	member := v.Session(t, alice, org)
	_, err := member.Secrets.ListOrgSecrets(ctx)
	fmt.Println("alice lists:", err)
	err = member.Secrets.CreateOrgSecret(ctx, "mine", edge.Secret{"x": "y"})
	fmt.Println("alice writes:", errors.Is(err, edge.ErrPermissionDenied))
	// Output:
	// alice lists: <nil>
	// alice writes: true
}

func ExampleVault_AddAdmin() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	ctx := context.Background()

	v := edgetest.Start(t)
	alice := v.NewUser(t)
	org := v.NewOrg(t) // no admin yet
	v.AddAdmin(t, org, alice)
	err := v.Session(t, alice, org).Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "s3cret"})
	fmt.Println(err)
	// Output: <nil>
}

func ExampleVault_RemoveMember() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	ctx := context.Background()

	v := edgetest.Start(t)
	alice := v.NewUser(t)
	org := v.NewOrg(t)
	v.AddMember(t, org, alice)
	member := v.Session(t, alice, org)
	v.RemoveMember(t, org, alice)
	_, err := member.Secrets.ListOrgSecrets(ctx)
	fmt.Println(errors.Is(err, edge.ErrPermissionDenied))
	// Output: true
}

// Code under test that makes its own session gets its configuration.
func ExampleVault_Config() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	ctx := context.Background()

	v := edgetest.Start(t)
	alice := v.NewUser(t)
	cfg := v.Config(alice, "")
	cfg.Logger = nil // ... and whatever the code under test sets
	sess, err := edge.NewSession(ctx, cfg)
	if err != nil {
		t.Fatalf("%v", err)
	}
	defer sess.Close()
	fmt.Println(cfg.Address == v.Addr(), cfg.Mount, sess.EntityID() == alice.EntityID)
	// Output: true secret true
}

func ExampleVault_Session() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	ctx := context.Background()

	v := edgetest.Start(t)
	carol := v.NewUser(t)
	org := v.NewOrg(t, carol)
	sess := v.Session(t, carol, org) // closed when the test ends
	fmt.Println(sess.Org() == org, sess.Secrets.CreateOrgSecret(ctx, "team-db", edge.Secret{"password": "s3cret"}))
	// Output: true <nil>
}

// A session with settings of its own: here a read cache.
func ExampleVault_NewSession() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	ctx := context.Background()

	v := edgetest.Start(t)
	alice := v.NewUser(t)
	cfg := v.Config(alice, "")
	cfg.CacheTTL = time.Minute
	sess := v.NewSession(t, cfg) // closed when the test ends
	fmt.Println(sess.Secrets.CreateUserSecret(ctx, "api-key", edge.Secret{"key": "k-123"}))
	// Output: <nil>
}

// A service logging in with AppRole, member of an org.
func ExampleVault_NewAppRole() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	ctx := context.Background()

	v := edgetest.Start(t)
	carol := v.NewUser(t)
	org := v.NewOrg(t, carol)
	role := v.NewAppRole(t)
	v.AddMember(t, org, role.User)
	if err := v.Session(t, carol, org).Secrets.CreateOrgSecret(ctx, "db", edge.Secret{"dsn": "postgres://db"}); err != nil {
		t.Fatalf("%v", err)
	}

	sess := v.NewSession(t, edge.Config{Auth: role.Auth(t), Org: org})
	s, err := sess.Secrets.ReadOrgSecret(ctx, "db")
	fmt.Println(s.Reveal()["dsn"], err, sess.EntityID() == role.EntityID)
	// Output: postgres://db <nil> true
}

func ExampleAppRole_Auth() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()

	v := edgetest.Start(t)
	role := v.NewAppRole(t)
	sess := v.NewSession(t, edge.Config{Auth: role.Auth(t)})
	fmt.Println(sess.EntityID() == role.EntityID)
	// Output: true
}

func ExampleAppRole_String() {
	role := edgetest.AppRole{
		User:     edgetest.User{Name: "billing", Token: "hvs.example", EntityID: "e-1"},
		RoleID:   "r-1",
		SecretID: "s-1",
	}
	fmt.Println(role)
	// Output: edgetest.AppRole{Name: "billing", RoleID: "r-1", EntityID: "e-1", SecretID: <redacted>, Token: <redacted>}
}

func ExampleAppRole_GoString() {
	role := edgetest.AppRole{User: edgetest.User{Name: "billing", Token: "hvs.example", EntityID: "e-1"}, RoleID: "r-1", SecretID: "s-1"}
	fmt.Printf("%#v\n", role)
	// Output: edgetest.AppRole{Name: "billing", RoleID: "r-1", EntityID: "e-1", SecretID: <redacted>, Token: <redacted>}
}

func ExampleUser_String() {
	u := edgetest.User{Name: "alice", Token: "hvs.example", EntityID: "e-1", Password: "pw"}
	fmt.Println(u)
	// Output: edgetest.User{Name: "alice", EntityID: "e-1", Token: <redacted>, Password: <redacted>}
}

func ExampleUser_GoString() {
	u := edgetest.User{Name: "alice", Token: "hvs.example", EntityID: "e-1", Password: "pw"}
	fmt.Printf("%#v\n", u)
	// Output: edgetest.User{Name: "alice", EntityID: "e-1", Token: <redacted>, Password: <redacted>}
}

// A TestMain that checks for leaked goroutines after the tests, and after
// the Vault has stopped.
func ExampleRun() {
	testMain := func(m *testing.M) {
		code := edgetest.Run(m) // runs the tests, stops the Vault
		if code == 0 {
			// ... goleak.Find(), or other checks of one's own
		}
		os.Exit(code)
	}
	_ = testMain
}

// Provision sets up a Vault that the test runs itself. Here it is the
// shared Vault again (its setup is idempotent); in a test of one's own,
// a Raft cluster, or a Vault behind a fault-injecting proxy.
func ExampleProvision() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	ctx := context.Background()

	shared := edgetest.Start(t)
	v := edgetest.Provision(t, shared.Addr(), shared.RootClient(t).Token())
	alice := v.NewUser(t)
	err := v.Session(t, alice, "").Secrets.CreateUserSecret(ctx, "api-key", edge.Secret{"key": "k-123"})
	fmt.Println(err)
	// Output: <nil>
}

func ExampleUniqueName() {
	a, b := edgetest.UniqueName("mount"), edgetest.UniqueName("mount")
	fmt.Println(strings.HasPrefix(a, "mount-"), a != b, edge.ValidName(a))
	// Output: true true true
}

// A user without the Edge user policy: Vault refuses it even its own
// user secrets.
func ExampleWithPolicies() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	ctx := context.Background()

	v := edgetest.Start(t)
	nobody := v.NewUser(t, edgetest.WithPolicies()) // only Vault's "default" policy
	_, err := v.Session(t, nobody, "").Secrets.ListUserSecrets(ctx)
	fmt.Println(errors.Is(err, edge.ErrPermissionDenied))
	// Output: true
}

// RootClient is for what edgetest and package admin do not cover, such
// as a policy of one's own.
func ExampleVault_RootClient() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	ctx := context.Background()

	v := edgetest.Start(t)
	root := v.RootClient(t)
	name := edgetest.UniqueName("read-health")
	err := root.Sys().PutPolicyWithContext(ctx, name, `path "sys/health" { capabilities = ["read"] }`)
	fmt.Println(err)
	u := v.NewUser(t, edgetest.WithPolicies(name))
	fmt.Println(u.Name != "")
	// Output:
	// <nil>
	// true
}
