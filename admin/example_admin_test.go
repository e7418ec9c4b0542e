package admin_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/admin"
	"github.com/edgesdk/edge/internal/vaulttest"
)

// operatorClient returns a vault/api client for the test Vault with a
// token allowed to provision it; a real program would use
// api.NewClient(api.DefaultConfig()) with an operator's VAULT_TOKEN.
func operatorClient() *api.Client { return rootClient() }

// exampleEntityID makes a fresh Vault user holding the edge user policy
// and returns its identity entity id, what the user's session reports as
// edge.Session.EntityID (or "edge-secrets whoami").
func exampleEntityID() string {
	u, err := vault.NewUser(context.Background(), vaulttest.UniqueName("u"), "edge-user")
	if err != nil {
		log.Fatal(err)
	}
	return u.EntityID
}

// exampleKVv1Mount mounts a KV version 1 secrets engine at a fresh path
// and returns the path.
func exampleKVv1Mount() string {
	path := vaulttest.UniqueName("kvone")
	err := rootClient().Sys().Mount(path, &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}})
	if err != nil {
		log.Fatal(err)
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

// exampleAdmin returns an Admin on the test Vault's mount, as New makes
// it.
func exampleAdmin() *admin.Admin {
	a, err := admin.New(admin.Config{Client: operatorClient(), Mount: vault.Mount})
	if err != nil {
		log.Fatal(err)
	}
	return a
}

func ExampleNew() {
	client := operatorClient()
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
	a, err := admin.New(admin.Config{Client: operatorClient(), Mount: "kv/teams"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Mount())
	// Output:
	// kv/teams
}

func ExampleAdmin_Prefix() {
	a, err := admin.New(admin.Config{Client: operatorClient(), Prefix: "apps/edge"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Prefix())
	// Output:
	// apps/edge
}

// Two deployments in one Vault need two name prefixes.
func ExampleAdmin_NamePrefix() {
	client := operatorClient()
	a, err := admin.New(admin.Config{Client: client, Prefix: "apps/Edge"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.NamePrefix()) // DefaultNamePrefix("apps/Edge")
	b, err := admin.New(admin.Config{Client: client, Prefix: "apps/Edge", NamePrefix: "apps-edge"})
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
	a, err := admin.New(admin.Config{Client: operatorClient()})
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
	a, err := admin.New(admin.Config{Client: operatorClient()})
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
	a, err := admin.New(admin.Config{Client: operatorClient()})
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
	a, err := admin.New(admin.Config{Client: operatorClient()})
	if err != nil {
		log.Fatal(err)
	}
	name, err := a.OrgMembersGroupName("acme")
	fmt.Println(name, err)
	// Output:
	// edge-org-acme-members <nil>
}

func ExampleAdmin_OrgAdminsGroupName() {
	a, err := admin.New(admin.Config{Client: operatorClient()})
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

// Members list, read and wrap the latest version of the org's secrets.
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
	a, err := admin.New(admin.Config{Client: operatorClient()})
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
	//   capabilities = ["read"]
	// }
}

// Setup is idempotent: run it at every deployment.
func ExampleAdmin_Setup() {
	ctx := context.Background()
	a, err := admin.New(admin.Config{Client: operatorClient(), Mount: vault.Mount})
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
	ctx := context.Background()
	kv1 := exampleKVv1Mount()
	// A second deployment in one Vault needs a name prefix of its own.
	a, err := admin.New(admin.Config{Client: operatorClient(), Mount: kv1, NamePrefix: "legacy"})
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
	ctx := context.Background()
	a := exampleAdmin()
	fmt.Println(a.CreateOrg(ctx, "acme"))
	fmt.Println(a.CreateOrg(ctx, "acme"))
	fmt.Println(errors.Is(a.CreateOrg(ctx, "../acme"), edge.ErrBadEntry))
	// Output:
	// <nil>
	// <nil>
	// true
}

func ExampleAdmin_DeleteOrg() {
	ctx := context.Background()
	a := exampleAdmin()
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
	ctx := context.Background()
	a := exampleAdmin()
	if err := a.CreateOrg(ctx, "acme"); err != nil {
		log.Fatal(err)
	}
	aliceEntityID := exampleEntityID()

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
	ctx := context.Background()
	a := exampleAdmin()
	if err := a.CreateOrg(ctx, "acme"); err != nil {
		log.Fatal(err)
	}
	aliceEntityID := exampleEntityID()
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
	ctx := context.Background()
	a := exampleAdmin()
	if err := a.CreateOrg(ctx, "acme"); err != nil {
		log.Fatal(err)
	}
	bobEntityID := exampleEntityID()
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
	ctx := context.Background()
	a := exampleAdmin()
	if err := a.CreateOrg(ctx, "acme"); err != nil {
		log.Fatal(err)
	}
	carolEntityID := exampleEntityID()

	fmt.Println(a.AddAdmin(ctx, "acme", carolEntityID))
	admins, err := a.Admins(ctx, "acme")
	fmt.Println(slices.Contains(admins, carolEntityID), err)
	// Output:
	// <nil>
	// true <nil>
}

func ExampleAdmin_RemoveAdmin() {
	ctx := context.Background()
	a := exampleAdmin()
	if err := a.CreateOrg(ctx, "acme"); err != nil {
		log.Fatal(err)
	}
	carolEntityID := exampleEntityID()
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
	ctx := context.Background()
	a := exampleAdmin()
	if err := a.CreateOrg(ctx, "acme"); err != nil {
		log.Fatal(err)
	}
	carolEntityID := exampleEntityID()
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
func ExampleError() {
	ctx := context.Background()
	a := exampleAdmin()
	err := a.AddMember(ctx, "no-such-org", exampleEntityID())
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
	ctx := context.Background()
	client := newClient(vault.NoPolicyToken) // a token with the default policy only
	a, err := admin.New(admin.Config{Client: client, Mount: vault.Mount})
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
