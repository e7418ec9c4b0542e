package edge_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/hashicorp/vault/api/auth/approle"
	"github.com/hashicorp/vault/api/auth/userpass"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/exampletb"
)

// exampleEnv stands for what a program finds in its environment
// (VAULT_ADDR, VAULT_TOKEN, EDGE_ORG, EDGE_KV_MOUNT): the test Vault's
// address and KV mount, and the token of a fresh user who is admin of a
// fresh org.
func exampleEnv() (addr, token, org, mount string) {
	cfg := exampleConfig()
	return cfg.Address, cfg.Token, cfg.Org, cfg.Mount
}

// exampleMemberOf makes a fresh org with the session's user as a member
// (not an admin), as an operator would with package admin, and returns
// its name.
func exampleMemberOf(sess *edge.Session) string {
	t := exampletb.New()
	defer t.Done()
	vault := edgetest.Start(t)
	org := vault.NewOrg(t)
	if err := vault.Admin().AddMember(context.Background(), org, sess.EntityID()); err != nil {
		t.Fatal(err)
	}
	return org
}

func ExampleNewSession() {
	ctx := context.Background()
	// Left empty, every field comes from the environment:
	// edge.NewSession(ctx, edge.Config{}) uses VAULT_ADDR, VAULT_TOKEN,
	// EDGE_ORG and EDGE_KV_MOUNT.
	addr, token, org, mount := exampleEnv()
	sess, err := edge.NewSession(ctx, edge.Config{
		Address: addr,
		Token:   token,
		Org:     org,
		Mount:   mount,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()

	if err := sess.Secrets.CreateUserSecret(ctx, "api-key", edge.Secret{"key": "k-123"}); err != nil {
		log.Fatal(err)
	}
	names, err := sess.Secrets.ListUserSecrets(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(names)
	// Output:
	// [api-key]
}

// A token Vault does not know fails at once, with ErrPermissionDenied.
func ExampleNewSession_badToken() {
	ctx := context.Background()
	addr, _, _, mount := exampleEnv()
	_, err := edge.NewSession(ctx, edge.Config{Address: addr, Token: "hvs.not-a-real-token", Mount: mount})
	fmt.Println(errors.Is(err, edge.ErrPermissionDenied))
	// Output:
	// true
}

// A service logs in with an auth method and lets the session keep its
// token alive: here userpass, the user's name and password.
func ExampleConfig_auth() {
	ctx := context.Background()
	addr, username, password, mount := exampleLogin()
	auth, err := userpass.NewUserpassAuth(username, &userpass.Password{FromString: password})
	if err != nil {
		log.Fatal(err)
	}
	sess, err := edge.NewSession(ctx, edge.Config{Address: addr, Auth: auth, Mount: mount})
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close() // stops the renewal

	names, err := sess.Secrets.ListUserSecrets(ctx)
	fmt.Println(names, err)
	// Output:
	// [] <nil>
}

// exampleLogin returns the test Vault's address and KV mount, and the
// name and password of a fresh userpass user.
func exampleLogin() (addr, username, password, mount string) {
	t := exampletb.New()
	defer t.Done()
	vault := edgetest.Start(t)
	u := vault.NewUser(t)
	return vault.Addr(), u.Name, u.Password, vault.Mount()
}

// AppRole: the role id is configuration, the secret id is delivered to
// the service (here in a file), never on its command line. (Not run: it
// needs an AppRole role.)
func ExampleConfig_appRole() {
	ctx := context.Background()
	auth, err := approle.NewAppRoleAuth(os.Getenv("APPROLE_ROLE_ID"),
		&approle.SecretID{FromFile: "/run/secrets/approle-secret-id"})
	if err != nil {
		log.Fatal(err)
	}
	sess, err := edge.NewSession(ctx, edge.Config{Auth: auth, Org: "acme"})
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()

	s, err := sess.Secrets.ReadOrgSecret(ctx, "team-db")
	if err != nil {
		log.Fatal(err)
	}
	_ = s["password"]
}

// WithOrg gives a session on another org, sharing the login and making no
// request. Here the user is only a member of that org: they may list and
// read its secrets, not write them.
func ExampleSession_WithOrg() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	other := exampleMemberOf(sess)

	globex, err := sess.WithOrg(other)
	if err != nil {
		log.Fatal(err)
	}
	names, err := globex.Secrets.ListOrgSecrets(ctx)
	fmt.Println(names, err)
	err = globex.Secrets.CreateOrgSecret(ctx, "db", edge.Secret{"password": "s3cret"})
	fmt.Println(errors.Is(err, edge.ErrPermissionDenied))
	// Output:
	// [] <nil>
	// true
}

func ExampleSession_Org() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	acme, err := sess.WithOrg("acme")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(acme.Org())
	// Output:
	// acme
}

// The entity id is what a receiver needs to verify a wrapped user secret
// (edge.UserSecretOrigin); a token without one (a root token) has no user
// secrets.
func ExampleSession_EntityID() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()
	fmt.Println(sess.EntityID() != "")
	// Output:
	// true
}

func ExampleSession_Close() {
	ctx := context.Background()
	sess, err := edge.NewSession(ctx, exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	// Close stops the token's renewal (with Config.Auth) and releases the
	// session's connections; it always returns nil.
	defer sess.Close()

	_, err = sess.Secrets.ListUserSecrets(ctx)
	fmt.Println(err)
	// Output:
	// <nil>
}
