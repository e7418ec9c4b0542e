package admin_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/admin"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/exampletb"
)

// The examples that talk to Vault use the shared test Vault of edgetest,
// with an exampletb.TB standing in for a test's t.

// operatorClient returns a vault/api client for v with a token allowed to
// provision it; a real program would use api.NewClient(api.DefaultConfig())
// with an operator's VAULT_TOKEN.
func operatorClient(t testing.TB, v *edgetest.Vault) *api.Client { return v.RootClient(t) }

// exampleEntityID makes a fresh Vault user holding the edge user policy
// and returns its identity entity id, what the user's session reports as
// edge.Session.EntityID (or "edge-secrets whoami").
func exampleEntityID(t testing.TB, v *edgetest.Vault) string { return v.NewUser(t).EntityID }

// exampleKVv1Mount mounts a KV version 1 secrets engine at a fresh path
// and returns the path.
func exampleKVv1Mount(t testing.TB, v *edgetest.Vault) string {
	path := edgetest.UniqueName("kvone")
	err := v.RootClient(t).Sys().Mount(path, &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}})
	if err != nil {
		t.Fatalf("mounting KV version 1 at %s: %v", path, err)
	}
	return path
}

// rules returns policy text without its comments and blank lines.
func rules(policy string) string {
	var b strings.Builder
	for _, line := range strings.Split(policy, "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(line + "\n")
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// exampleAdmin returns an Admin on v's mount, as New makes it.
func exampleAdmin(t testing.TB, v *edgetest.Vault) *admin.Admin {
	return newAdmin(t, v, admin.Config{}) // the root token, v's mount
}

func ExampleNew() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	v := edgetest.Start(t)
	client := operatorClient(t, v)
	a, err := admin.New(admin.Config{Client: client}) // mount "secret", prefix "edge"
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Mount(), a.Prefix(), a.UserPolicyName())

	_, err = admin.New(admin.Config{Client: client, Prefix: "../edge"})
	fmt.Println(errors.Is(err, edge.ErrBadEntry))
	// Output:
	// secret edge edge-user
	// true
}

func ExampleAdmin_Mount() {
	// A client from the environment (VAULT_ADDR, VAULT_TOKEN); no request.
	a, err := admin.New(admin.Config{Mount: "kv/teams"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Mount())
	// Output:
	// kv/teams
}

func ExampleAdmin_Prefix() {
	// A client from the environment (VAULT_ADDR, VAULT_TOKEN); no request.
	a, err := admin.New(admin.Config{Prefix: "apps/edge"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Prefix())
	// Output:
	// apps/edge
}

// Two deployments in one Vault need two name prefixes.
func ExampleAdmin_NamePrefix() {
	// A client from the environment (VAULT_ADDR, VAULT_TOKEN); no request.
	a, err := admin.New(admin.Config{Prefix: "apps/Edge"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.NamePrefix()) // DefaultNamePrefix("apps/Edge")
	b, err := admin.New(admin.Config{Prefix: "apps/Edge", NamePrefix: "apps-edge"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(b.NamePrefix())
	// Output:
	// apps_-_edge
	// apps-edge
}

func ExampleDefaultNamePrefix() {
	for _, prefix := range []string{"edge", "Team_A/edge"} {
		name, err := admin.DefaultNamePrefix(prefix)
		fmt.Println(name, err)
	}
	// Output:
	// edge <nil>
	// _team___a_-edge <nil>
}

// Attach the user policy to every edge user (their userpass users, auth
// roles, entities or a group of all users).
func ExampleAdmin_UserPolicyName() {
	// A client from the environment (VAULT_ADDR, VAULT_TOKEN); no request.
	a, err := admin.New(admin.Config{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.UserPolicyName())
	// Output:
	// edge-user
}

// Vault lower-cases policy and group names, so upper-case org names are
// escaped.
func ExampleAdmin_OrgMembersPolicyName() {
	// A client from the environment (VAULT_ADDR, VAULT_TOKEN); no request.
	a, err := admin.New(admin.Config{})
	if err != nil {
		log.Fatal(err)
	}
	for _, org := range []string{"acme", "Acme"} {
		name, err := a.OrgMembersPolicyName(org)
		fmt.Println(name, err)
	}
	_, err = a.OrgMembersPolicyName("a/b")
	fmt.Println(errors.Is(err, edge.ErrBadEntry))
	// Output:
	// edge-org-acme-members <nil>
	// edge-org-_acme-members <nil>
	// true
}

func ExampleAdmin_OrgAdminsPolicyName() {
	// A client from the environment (VAULT_ADDR, VAULT_TOKEN); no request.
	a, err := admin.New(admin.Config{})
	if err != nil {
		log.Fatal(err)
	}
	name, err := a.OrgAdminsPolicyName("acme")
	fmt.Println(name, err)
	// Output:
	// edge-org-acme-admins <nil>
}

// Each group carries the policy of the same name.
func ExampleAdmin_OrgMembersGroupName() {
	// A client from the environment (VAULT_ADDR, VAULT_TOKEN); no request.
	a, err := admin.New(admin.Config{})
	if err != nil {
		log.Fatal(err)
	}
	name, err := a.OrgMembersGroupName("acme")
	fmt.Println(name, err)
	// Output:
	// edge-org-acme-members <nil>
}

func ExampleAdmin_OrgAdminsGroupName() {
	// A client from the environment (VAULT_ADDR, VAULT_TOKEN); no request.
	a, err := admin.New(admin.Config{})
	if err != nil {
		log.Fatal(err)
	}
	name, err := a.OrgAdminsGroupName("acme")
	fmt.Println(name, err)
	// Output:
	// edge-org-acme-admins <nil>
}

// The rules of the user policy (the text also has a comment for every
// rule).
func ExampleUserPolicy() {
	text, err := admin.UserPolicy("secret", "edge")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rules(text))
	// Output:
	// path "secret/data/edge/users/{{identity.entity.id}}/+" {
	//   capabilities = ["create", "read", "update"]
	// }
	// path "secret/metadata/edge/users/{{identity.entity.id}}/" {
	//   capabilities = ["list"]
	// }
	// path "secret/metadata/edge/users/{{identity.entity.id}}/+" {
	//   capabilities = ["read", "delete"]
	// }
}

// Members list, read and wrap the latest version of the org's secrets,
// and read their metadata (version numbers and times, never a value).
func ExampleOrgMembersPolicy() {
	text, err := admin.OrgMembersPolicy("secret", "edge", "acme")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rules(text))
	// Output:
	// path "secret/data/edge/orgs/acme/+" {
	//   capabilities = ["read"]
	//   denied_parameters = {"version" = []}
	// }
	// path "secret/metadata/edge/orgs/acme/" {
	//   capabilities = ["list"]
	// }
	// path "secret/metadata/edge/orgs/acme/+" {
	//   capabilities = ["read"]
	// }
}

func ExampleOrgAdminsPolicy() {
	text, err := admin.OrgAdminsPolicy("secret", "edge", "acme")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rules(text))
	// Output:
	// path "secret/data/edge/orgs/acme/+" {
	//   capabilities = ["create", "read", "update"]
	// }
	// path "secret/metadata/edge/orgs/acme/" {
	//   capabilities = ["list"]
	// }
	// path "secret/metadata/edge/orgs/acme/+" {
	//   capabilities = ["read", "delete"]
	// }
}

// The least policy for an operator's token.
func ExampleAdmin_OperatorPolicy() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	v := edgetest.Start(t)
	a, err := admin.New(admin.Config{Client: operatorClient(t, v)})
	if err != nil {
		log.Fatal(err)
	}
	text, err := a.OperatorPolicy()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rules(text))
	// Output:
	// path "sys/mounts" {
	//   capabilities = ["read"]
	// }
	// path "sys/mounts/secret" {
	//   capabilities = ["update"]
	// }
	// path "secret/config" {
	//   capabilities = ["read"]
	// }
	// path "sys/policies/acl/edge-user" {
	//   capabilities = ["read", "update"]
	// }
	// path "sys/policies/acl/edge-org-*" {
	//   capabilities = ["read", "update", "delete"]
	// }
	// path "identity/group/name/edge-org-*" {
	//   capabilities = ["read", "update", "delete"]
	// }
	// path "identity/entity/id/*" {
	//   capabilities = ["read", "delete"]
	// }
	// path "auth/+/users/*" {
	//   capabilities = ["delete"]
	// }
	// path "sys/leases/lookup/auth/+/login/" {
	//   capabilities = ["list", "sudo"]
	// }
	// path "sys/leases/revoke-prefix/auth/+/login/*" {
	//   capabilities = ["update", "sudo"]
	// }
	// path "secret/metadata/edge/users/*" {
	//   capabilities = ["list", "delete"]
	// }
}

// Setup is idempotent: run it at every deployment.
func ExampleAdmin_Setup() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	v := edgetest.Start(t)
	ctx := context.Background()
	a, err := admin.New(admin.Config{Client: operatorClient(t, v), Mount: v.Mount()})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Setup(ctx))
	fmt.Println(a.Setup(ctx))
	// Output:
	// <nil>
	// <nil>
}

// A KV version 1 mount is ErrMountType, which matches edge.ErrBadEntry
// too: what edge.NewSession reports for the same mount.
func ExampleAdmin_Setup_kvVersion1() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	v := edgetest.Start(t)
	ctx := context.Background()
	kv1 := exampleKVv1Mount(t, v)
	// A second deployment in one Vault needs a name prefix of its own.
	a, err := admin.New(admin.Config{Client: operatorClient(t, v), Mount: kv1, NamePrefix: "legacy"})
	if err != nil {
		log.Fatal(err)
	}
	err = a.Setup(ctx)
	fmt.Println(errors.Is(err, admin.ErrMountType), errors.Is(err, edge.ErrBadEntry))
	// Output:
	// true true
}

// CreateOrg writes the org's two policies and groups; it is idempotent.
func ExampleAdmin_CreateOrg() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	v := edgetest.Start(t)
	ctx := context.Background()
	a := exampleAdmin(t, v)
	fmt.Println(a.CreateOrg(ctx, "acme"))
	fmt.Println(a.CreateOrg(ctx, "acme"))
	fmt.Println(errors.Is(a.CreateOrg(ctx, "../acme"), edge.ErrBadEntry))
	// Output:
	// <nil>
	// <nil>
	// true
}

func ExampleAdmin_DeleteOrg() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	v := edgetest.Start(t)
	ctx := context.Background()
	a := exampleAdmin(t, v)
	if err := a.CreateOrg(ctx, "acme"); err != nil {
		log.Fatal(err)
	}

	fmt.Println(a.DeleteOrg(ctx, "acme"))
	_, err := a.Members(ctx, "acme")
	fmt.Println(errors.Is(err, admin.ErrUnknownOrg), errors.Is(err, edge.ErrNotFound))
	// Output:
	// <nil>
	// true true
}

// A member lists, reads and wraps the org's secrets from their next
// request on, with no new login.
func ExampleAdmin_AddMember() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	v := edgetest.Start(t)
	ctx := context.Background()
	a := exampleAdmin(t, v)
	if err := a.CreateOrg(ctx, "acme"); err != nil {
		log.Fatal(err)
	}
	aliceEntityID := exampleEntityID(t, v)

	fmt.Println(a.AddMember(ctx, "acme", aliceEntityID))
	fmt.Println(a.AddMember(ctx, "acme", aliceEntityID)) // already one: no change
	err := a.AddMember(ctx, "acme", "0b5b3e1c-6f0a-4c33-9d27-5d6f5c7a0e11")
	fmt.Println(errors.Is(err, admin.ErrUnknownEntity))
	err = a.AddMember(ctx, "no-such-org", aliceEntityID)
	fmt.Println(errors.Is(err, admin.ErrUnknownOrg))
	// Output:
	// <nil>
	// <nil>
	// true
	// true
}

func ExampleAdmin_RemoveMember() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	v := edgetest.Start(t)
	ctx := context.Background()
	a := exampleAdmin(t, v)
	if err := a.CreateOrg(ctx, "acme"); err != nil {
		log.Fatal(err)
	}
	aliceEntityID := exampleEntityID(t, v)
	if err := a.AddMember(ctx, "acme", aliceEntityID); err != nil {
		log.Fatal(err)
	}

	fmt.Println(a.RemoveMember(ctx, "acme", aliceEntityID))
	members, err := a.Members(ctx, "acme")
	fmt.Println(slices.Contains(members, aliceEntityID), err)
	// Output:
	// <nil>
	// false <nil>
}

func ExampleAdmin_Members() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	v := edgetest.Start(t)
	ctx := context.Background()
	a := exampleAdmin(t, v)
	if err := a.CreateOrg(ctx, "acme"); err != nil {
		log.Fatal(err)
	}
	bobEntityID := exampleEntityID(t, v)
	if err := a.AddMember(ctx, "acme", bobEntityID); err != nil {
		log.Fatal(err)
	}

	members, err := a.Members(ctx, "acme") // entity ids
	fmt.Println(slices.Contains(members, bobEntityID), err)
	// Output:
	// true <nil>
}

// Admins create, update and delete the org's secrets, besides listing,
// reading and wrapping them.
func ExampleAdmin_AddAdmin() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	v := edgetest.Start(t)
	ctx := context.Background()
	a := exampleAdmin(t, v)
	if err := a.CreateOrg(ctx, "acme"); err != nil {
		log.Fatal(err)
	}
	carolEntityID := exampleEntityID(t, v)

	fmt.Println(a.AddAdmin(ctx, "acme", carolEntityID))
	admins, err := a.Admins(ctx, "acme")
	fmt.Println(slices.Contains(admins, carolEntityID), err)
	// Output:
	// <nil>
	// true <nil>
}

func ExampleAdmin_RemoveAdmin() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	v := edgetest.Start(t)
	ctx := context.Background()
	a := exampleAdmin(t, v)
	if err := a.CreateOrg(ctx, "acme"); err != nil {
		log.Fatal(err)
	}
	carolEntityID := exampleEntityID(t, v)
	if err := a.AddAdmin(ctx, "acme", carolEntityID); err != nil {
		log.Fatal(err)
	}

	fmt.Println(a.RemoveAdmin(ctx, "acme", carolEntityID))
	admins, err := a.Admins(ctx, "acme")
	fmt.Println(slices.Contains(admins, carolEntityID), err)
	// Output:
	// <nil>
	// false <nil>
}

func ExampleAdmin_Admins() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	v := edgetest.Start(t)
	ctx := context.Background()
	a := exampleAdmin(t, v)
	if err := a.CreateOrg(ctx, "acme"); err != nil {
		log.Fatal(err)
	}
	carolEntityID := exampleEntityID(t, v)
	if err := a.AddAdmin(ctx, "acme", carolEntityID); err != nil {
		log.Fatal(err)
	}

	admins, err := a.Admins(ctx, "acme") // entity ids
	fmt.Println(slices.Contains(admins, carolEntityID), err)
	// Output:
	// true <nil>
}

// Every error of the package is an *admin.Error: match its kind with
// errors.Is, reach its fields with errors.As.
// Alice leaves: her userpass user, her tokens and her entity go, and
// with the entity her org memberships.
func ExampleAdmin_OffboardUser() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	v := edgetest.Start(t)
	ctx := context.Background()
	a := exampleAdmin(t, v)
	if err := a.CreateOrg(ctx, "acme"); err != nil {
		log.Fatal(err)
	}
	alice := v.NewUser(t) // a userpass user, logged in
	if err := a.AddMember(ctx, "acme", alice.EntityID); err != nil {
		log.Fatal(err)
	}
	session := v.Session(t, alice, "acme")

	fmt.Println(a.OffboardUser(ctx, alice.EntityID))
	members, err := a.Members(ctx, "acme")
	fmt.Println(slices.Contains(members, alice.EntityID), err)
	_, err = session.Secrets.ListOrgSecrets(ctx) // her old token
	fmt.Println(errors.Is(err, edge.ErrPermissionDenied))
	fmt.Println(a.OffboardUser(ctx, alice.EntityID)) // idempotent
	// Output:
	// <nil>
	// false <nil>
	// true
	// <nil>
}

// Nothing of Bob's is to be kept: offboard him, then delete his private
// secrets, which offboarding leaves in place.
func ExampleAdmin_DeleteUserSecrets() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	v := edgetest.Start(t)
	ctx := context.Background()
	a := exampleAdmin(t, v)
	bob := v.NewUser(t)
	err := v.Session(t, bob, "").Secrets.CreateUserSecret(ctx, "ssh-key", edge.Secret{"key": "..."})
	if err != nil {
		log.Fatal(err)
	}

	fmt.Println(a.OffboardUser(ctx, bob.EntityID))
	fmt.Println(a.DeleteUserSecrets(ctx, bob.EntityID))
	left, err := operatorClient(t, v).Logical().List(a.Mount() + "/metadata/" + a.Prefix() + "/users/" + bob.EntityID)
	fmt.Println(left, err)
	// Output:
	// <nil>
	// <nil>
	// <nil> <nil>
}

func ExampleError() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	v := edgetest.Start(t)
	ctx := context.Background()
	a := exampleAdmin(t, v)
	err := a.AddMember(ctx, "no-such-org", exampleEntityID(t, v))
	var e *admin.Error
	if errors.As(err, &e) {
		fmt.Println(e.Op, e.Org, e.Kind == admin.ErrUnknownOrg)
	}
	// Output:
	// add member no-such-org true
}

// The printed form: the parts that are set, never a token, and never an
// org or entity id that is not valid.
func ExampleError_Error() {
	fmt.Println(&admin.Error{Op: "add member", Org: "acme", EntityID: "e1", Object: `group "edge-org-acme-members"`, Kind: admin.ErrUnknownOrg})
	fmt.Println(&admin.Error{Op: "add admin", Org: "acme", EntityID: "hvs.pasted/token", Kind: edge.ErrBadEntry})
	fmt.Println(&admin.Error{Op: "setup", Object: `mount "secret/"`, Kind: admin.ErrMountType})
	// Output:
	// edge admin: add member (org "acme", entity "e1"): group "edge-org-acme-members": org not found
	// edge admin: add admin (org "acme", entity (invalid)): bad entry
	// edge admin: setup: mount "secret/": mount is not a KV version 2 secrets engine
}

func ExampleError_GoString() {
	err := &admin.Error{Op: "create org", Org: "acme", Object: `policy "edge-org-acme-members"`, Kind: admin.ErrNotManaged}
	fmt.Printf("%#v\n", err)
	// Output:
	// &admin.Error{Op:"create org", Org:"acme", EntityID:"", Object:"policy \"edge-org-acme-members\"", Kind:"vault object exists but is not managed by edge admin for this mount, prefix and org", Err:""}
}

// Kinds of this package also match the edge sentinels they refine.
func ExampleError_Is() {
	var err error = &admin.Error{Op: "members", Org: "acme", Kind: admin.ErrUnknownOrg}
	fmt.Println(errors.Is(err, admin.ErrUnknownOrg), errors.Is(err, edge.ErrNotFound), errors.Is(err, edge.ErrBadEntry))
	err = &admin.Error{Op: "setup", Kind: admin.ErrMountType}
	fmt.Println(errors.Is(err, admin.ErrMountType), errors.Is(err, edge.ErrBadEntry))
	// Output:
	// true true false
	// true true
}

// Unwrap exposes Vault's answer: a token without the operator's
// capabilities gets 403, edge.ErrPermissionDenied.
func ExampleError_Unwrap() {
	t := exampletb.New() // in a test: the test's t
	defer t.Done()
	v := edgetest.Start(t)
	ctx := context.Background()
	noPolicy := v.NewUser(t, edgetest.WithPolicies()) // only the default policy
	client := newClient(t, v, noPolicy.Token)
	a, err := admin.New(admin.Config{Client: client, Mount: v.Mount()})
	if err != nil {
		log.Fatal(err)
	}
	err = a.CreateOrg(ctx, "acme")
	var re *api.ResponseError
	if errors.As(err, &re) {
		fmt.Println(re.StatusCode, errors.Is(err, edge.ErrPermissionDenied))
	}
	// Output:
	// 403 true
}
