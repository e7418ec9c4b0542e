package edgetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/vault/api/auth/approle"

	"github.com/edgesdk/edge/internal/vaulttest"
)

// AppRole is an AppRole role for a service, holding only the Edge user
// policy, with one secret id. Its embedded User is the role's identity:
// Name is the role's name, EntityID its Vault identity entity (the same
// for every login with the role), Token the client token of one login,
// so that an AppRole can be passed to NewOrg, AddMember, AddAdmin and
// Session like any User. String and GoString print it without the secret
// id and the token.
type AppRole struct {
	User
	RoleID   string // the role id: configuration, like a user name
	SecretID string // the secret id: a credential, like a password
}

// String describes a without its secret id and token.
func (a AppRole) String() string {
	return fmt.Sprintf("edgetest.AppRole{Name: %q, RoleID: %q, EntityID: %q, SecretID: <redacted>, Token: <redacted>}", a.Name, a.RoleID, a.EntityID)
}

// GoString is String, so that %#v does not print the secrets either.
func (a AppRole) GoString() string { return a.String() }

// Auth returns an AppRole login for edge.Config.Auth, with the secret id
// given as a string. A service that reads its secret id from a file uses
// approle.NewAppRoleAuth(a.RoleID, &approle.SecretID{FromFile: path}).
func (a AppRole) Auth(t testing.TB) *approle.AppRoleAuth {
	t.Helper()
	auth, err := approle.NewAppRoleAuth(a.RoleID, &approle.SecretID{FromString: a.SecretID})
	if err != nil {
		t.Fatalf("edgetest: AppRole.Auth for role %s: %v", a.Name, err)
	}
	return auth
}

// NewAppRole makes a new AppRole role with a random name, holding only
// the Edge user policy (the tokens of its logins may use their own user
// secrets, and the org secrets their entity's memberships give), and one
// secret id for it. It logs in once, so that the role's Vault identity
// entity exists and can be made a member or an admin of an org before
// the service under test logs in. It enables the AppRole auth method at
// "approle" if nothing is mounted there (the dev Vault has it).
func (v *Vault) NewAppRole(t testing.TB) AppRole {
	t.Helper()
	ctx, cancel := opContext()
	defer cancel()
	a, err := v.newAppRole(ctx)
	if err != nil {
		t.Fatalf("edgetest: NewAppRole: %v", err)
	}
	return a
}

func (v *Vault) newAppRole(ctx context.Context) (AppRole, error) {
	v.approleOnce.Do(func() { v.approleErr = v.ensureAuth(ctx, "approle") })
	if v.approleErr != nil {
		return AppRole{}, v.approleErr
	}
	name := vaulttest.UniqueName("edgetest-role")
	path := "auth/approle/role/" + name
	if _, err := v.root.Logical().WriteWithContext(ctx, path, map[string]any{
		"token_policies": []string{v.admin.UserPolicyName()},
	}); err != nil {
		return AppRole{}, fmt.Errorf("creating role %s: %w", name, err)
	}
	rid, err := v.root.Logical().ReadWithContext(ctx, path+"/role-id")
	if err != nil {
		return AppRole{}, fmt.Errorf("reading the role id of %s: %w", name, err)
	}
	sid, err := v.root.Logical().WriteWithContext(ctx, path+"/secret-id", nil)
	if err != nil {
		return AppRole{}, fmt.Errorf("making a secret id for %s: %w", name, err)
	}
	var a AppRole
	if rid != nil {
		a.RoleID, _ = rid.Data["role_id"].(string)
	}
	if sid != nil {
		a.SecretID, _ = sid.Data["secret_id"].(string)
	}
	if a.RoleID == "" || a.SecretID == "" {
		return AppRole{}, fmt.Errorf("vault returned no role id or no secret id for role %s", name)
	}
	login, err := v.anonymous()
	if err != nil {
		return AppRole{}, err
	}
	secret, err := login.Logical().WriteWithContext(ctx, "auth/approle/login", map[string]any{
		"role_id":   a.RoleID,
		"secret_id": a.SecretID,
	})
	if err != nil {
		return AppRole{}, fmt.Errorf("logging in with role %s: %w", name, err)
	}
	if a.User, err = userOf(name, secret); err != nil {
		return AppRole{}, err
	}
	return a, nil
}
