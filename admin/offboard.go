package admin

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge"
)

// OffboardUser removes a person from the deployment: the identity entity
// entityID, and with it every way the person had to edge secrets. In
// order, it
//
//   - deletes the userpass users behind the entity's userpass aliases
//     (on any userpass mount), so that nobody logs in as them again;
//   - revokes the tokens of those users' logins, whatever case the
//     login spelt the name in, and their child tokens;
//   - deletes the entity. Vault deletes its aliases and takes it out of
//     every identity group at once (the org members and admins groups of
//     this deployment, and any other), and from then on refuses every
//     request of a token that names the entity, tokens from other auth
//     methods included.
//
// Deleting a userpass user alone does none of this: Vault keeps the
// entity, its org memberships and its tokens, and a user re-created with
// the same name (with any password) logs in to the same entity, so a new
// person would inherit the old one's private secrets and orgs. After
// OffboardUser, a re-created user of the same name gets a new entity,
// in no org and with an empty private folder.
//
// OffboardUser does not delete the person's private secrets: they stay
// in KV below <mount>/metadata/<prefix>/users/<entity id>/, where no
// token can reach them any more (Vault never gives an entity id twice,
// and the user policy is keyed by it), for an operator to hand over or
// audit. DeleteUserSecrets deletes them. Nor does OffboardUser touch
// other auth methods' records (an AppRole role, an LDAP or OIDC account):
// their tokens are refused once the entity is gone, but a new login
// through them makes a new entity that holds whatever policies the
// method grants (the user policy, say: an empty private folder, no
// org). Remove the person there too.
//
// OffboardUser is idempotent: an entity that does not exist, because it
// was offboarded before or never existed, is not an error, and after an
// attempt that failed halfway a second call finishes the work (it
// deletes the entity last). It returns an error wrapping
// edge.ErrBadEntry, before any request, if entityID is not a valid
// entity id, and one wrapping edge.ErrPermissionDenied if the token may
// not do all this (see Admin.OperatorPolicy: revoking tokens needs sudo).
func (a *Admin) OffboardUser(ctx context.Context, entityID string) error {
	const op = "offboard user"
	if err := checkEntityID(entityID); err != nil {
		// Not echoed: a token passed by mistake must not reach a log.
		return &Error{Op: op, Kind: edge.ErrBadEntry, Err: err}
	}
	// Serialized with this Admin's membership edits, whose
	// read-modify-write of a group must not race the entity's removal.
	a.mu.Lock()
	defer a.mu.Unlock()

	path := entityPath(entityID)
	s, err := a.client.Logical().ReadWithContext(ctx, path)
	if err != nil {
		return &Error{Op: op, EntityID: entityID, Object: "reading the entity", Kind: kindOf(err), Err: err}
	}
	if s == nil || s.Data == nil { // 404: offboarded before, or never there
		return nil
	}
	for _, al := range aliasesOf(s) {
		if al.mountType != "userpass" {
			continue
		}
		if err := a.removeUserpass(ctx, op, entityID, al); err != nil {
			return err
		}
	}
	// Last, so that a failed attempt can be finished by calling again:
	// the entity still names the userpass users.
	if _, err := a.client.Logical().DeleteWithContext(ctx, path); err != nil {
		return &Error{Op: op, EntityID: entityID, Object: "deleting the entity", Kind: kindOf(err), Err: err}
	}
	return nil
}

func entityPath(id string) string { return "identity/entity/id/" + id }

// alias is the part of an entity alias OffboardUser looks at.
type alias struct {
	mountType string
	mountPath string // "auth/userpass/"
	name      string // for userpass, the user name
}

func aliasesOf(entity *api.Secret) []alias {
	list, _ := entity.Data["aliases"].([]any)
	out := make([]alias, 0, len(list))
	for _, x := range list {
		m, _ := x.(map[string]any)
		out = append(out, alias{
			mountType: stringOf(m["mount_type"]),
			mountPath: stringOf(m["mount_path"]),
			name:      stringOf(m["name"]),
		})
	}
	return out
}

// userpassName matches the user names userpass accepts in its paths
// (framework.GenericNameRegex), and so every name that is a single
// literal path segment.
var userpassName = regexp.MustCompile(`^\w(([\w\-.]+)?\w)?$`)

// removeUserpass deletes the userpass user of al, then revokes the tokens
// of its logins. Both are idempotent.
func (a *Admin) removeUserpass(ctx context.Context, op, entityID string, al alias) error {
	mount := al.mountPath
	if !strings.HasPrefix(mount, "auth/") || !strings.HasSuffix(mount, "/") || !userpassName.MatchString(al.name) {
		// Not echoed: neither came from this package.
		return &Error{Op: op, EntityID: entityID, Object: "userpass alias",
			Err: fmt.Errorf("the entity has a userpass alias whose mount path or name is not a plain path segment")}
	}
	object := "userpass user " + quote(al.name) + " on " + quote(mount)
	if _, err := a.client.Logical().DeleteWithContext(ctx, mount+"users/"+al.name); err != nil {
		return &Error{Op: op, EntityID: entityID, Object: "deleting " + object, Kind: kindOf(err), Err: err}
	}
	// A login's token lease is <mount>login/<name as typed>/<hash>, and
	// userpass accepts any case of the name: list the names that have
	// leases and revoke those that match.
	s, err := a.client.Logical().ListWithContext(ctx, "sys/leases/lookup/"+mount+"login/")
	if err != nil {
		return &Error{Op: op, EntityID: entityID, Object: "listing the tokens of " + object, Kind: kindOf(err), Err: err}
	}
	var keys []any
	if s != nil {
		keys, _ = s.Data["keys"].([]any)
	}
	for _, k := range keys {
		typed := strings.TrimSuffix(stringOf(k), "/")
		if !strings.EqualFold(typed, al.name) || !userpassName.MatchString(typed) {
			continue
		}
		if _, err := a.client.Logical().WriteWithContext(ctx, "sys/leases/revoke-prefix/"+mount+"login/"+typed, nil); err != nil {
			return &Error{Op: op, EntityID: entityID, Object: "revoking the tokens of " + object, Kind: kindOf(err), Err: err}
		}
	}
	return nil
}

// DeleteUserSecrets deletes the private secrets of the identity entity
// entityID: every secret below <mount>/metadata/<prefix>/users/<entity
// id>/, with all its versions and metadata, in folders below too. Use it
// after OffboardUser when nothing of the person's is to be kept; it does
// not check that the entity is gone, so called for a current user it
// deletes that user's secrets. The deletion cannot be undone.
//
// DeleteUserSecrets is idempotent: a user with no secrets, or none left
// by an earlier call, is not an error. It returns an error wrapping
// edge.ErrBadEntry, before any request, if entityID is not a valid
// entity id, and after deleting what it could if a key below the folder
// is not a valid edge name (written by other tools; delete it with
// them); and one wrapping edge.ErrPermissionDenied if the token may not
// list and delete there (see Admin.OperatorPolicy).
func (a *Admin) DeleteUserSecrets(ctx context.Context, entityID string) error {
	const op = "delete user secrets"
	if err := checkEntityID(entityID); err != nil {
		// Not echoed: a token passed by mistake must not reach a log.
		return &Error{Op: op, Kind: edge.ErrBadEntry, Err: err}
	}
	return a.deleteFolder(ctx, op, entityID, a.mount+"/metadata/"+a.prefix+"/users/"+entityID)
}

// deleteFolder deletes the metadata, and so every version, of each secret
// below the KV v2 metadata folder dir, recursively.
func (a *Admin) deleteFolder(ctx context.Context, op, entityID, dir string) error {
	s, err := a.client.Logical().ListWithContext(ctx, dir)
	if err != nil {
		return &Error{Op: op, EntityID: entityID, Object: "listing " + quote(dir), Kind: kindOf(err), Err: err}
	}
	var keys []any
	if s != nil { // nil: no such folder
		keys, _ = s.Data["keys"].([]any)
	}
	var bad bool
	for _, k := range keys {
		key := stringOf(k)
		name, folder := strings.CutSuffix(key, "/")
		switch {
		case !edge.ValidName(name):
			bad = true // not echoed: it may be anything
		case folder:
			if err := a.deleteFolder(ctx, op, entityID, dir+"/"+name); err != nil {
				return err
			}
		default:
			if _, err := a.client.Logical().DeleteWithContext(ctx, dir+"/"+name); err != nil {
				return &Error{Op: op, EntityID: entityID, Object: "deleting " + quote(dir+"/"+name), Kind: kindOf(err), Err: err}
			}
		}
	}
	if bad {
		return &Error{Op: op, EntityID: entityID, Object: "folder " + quote(dir), Kind: edge.ErrBadEntry,
			Err: fmt.Errorf("it holds a key that is not a valid edge name; delete it with other tools")}
	}
	return nil
}
