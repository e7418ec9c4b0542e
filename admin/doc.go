// Package admin provisions HashiCorp Vault for the edge SDK, so that Vault
// itself, not the client, enforces edge's access model:
//
//   - A user's secrets, <mount>/data/<prefix>/users/<entity id>/<name>,
//     are private to that user: no other user, not even an org admin,
//     can list, read, write or wrap them, nor list who has any.
//   - An org's secrets, <mount>/data/<prefix>/orgs/<org>/<name>, can be
//     listed, read and wrapped by the org's members and admins, and
//     created, updated and deleted by its admins only.
//
// # Policies and groups
//
// Admin writes these Vault ACL policies (their text comes from the
// embedded templates in policies/, rendered by UserPolicy,
// OrgMembersPolicy and OrgAdminsPolicy; every path and capability carries
// a comment saying why it is there):
//
//   - "edge-user" (Admin.UserPolicyName): one templated policy for all
//     users. It grants, below <prefix>/users/{{identity.entity.id}}/,
//     create, read and update on the data paths and read and delete on the
//     metadata paths of single secret names, and list on the folder, and
//     nothing on <prefix>/users/ itself. Setup writes it; attach it to
//     every edge user yourself (userpass users, auth roles, entities or a
//     group of all users).
//   - "edge-org-<org>-members": read on the org's data paths, the latest
//     version only (see "Old versions" below), read on its metadata paths
//     (version numbers and times, never a value), and list on its folder:
//     enough for List, Read, Wrap and WatchOrgSecret.
//   - "edge-org-<org>-admins": what the members policy grants plus create
//     and update on the data paths and read and delete on the metadata
//     paths: enough for all six operations.
//
// CreateOrg writes both org policies and creates two internal identity
// groups of the same names, each carrying its policy; AddMember,
// AddAdmin, RemoveMember and RemoveAdmin edit the groups' member entity
// ids. The admins policy alone grants every org operation, so an admin
// need not also be a member; an entity may be both (the two policies use
// identical path strings, which Vault merges, so the union of their
// capabilities applies, and the members' rule on old versions with it).
// Receivers of wrapped secrets use sys/wrapping/unwrap and
// sys/wrapping/lookup, which Vault's built-in "default" policy grants.
//
// The "edge" that starts every name is Config.NamePrefix, by default
// derived from Config.Prefix by DefaultNamePrefix. Vault lower-cases
// policy and group names, while org names are case sensitive, so org
// names (and the derived prefix) are escaped one to one into lower case:
// an upper-case letter becomes '_' and the letter ("Acme" gives
// "edge-org-_acme-members") and '_' becomes "__". Lower-case org names
// without '_' appear as they are.
//
// Every policy Admin writes starts with a marker comment naming its kind,
// mount, prefix and org, and every group it creates carries the same
// marker in its metadata (key "edge-admin"). Admin refuses, with
// ErrNotManaged, to overwrite or delete a policy or group whose marker is
// missing or different: a name clash with another deployment or a
// hand-made object fails instead of handing out access.
//
// # Old versions
//
// KV v2 keeps a secret's earlier versions (10 by default), and a read
// with ?version=N returns one. Vault records a wrapping token's
// creation_path without the query string, so a wrap of an old version,
// say a password the admins rotated because it leaked, would pass the
// receiver's edge.VerifyWrapped as the secret itself. The members policy
// therefore denies the version parameter on the org's data paths:
//
//	denied_parameters = {"version" = []}
//
// Vault 1.14 turns a GET's query string into the request's parameters
// (http/logical.go, buildLogicalRequestNoAuth, parseQuery) and checks
// them against denied_parameters for reads as for writes, lower-casing
// each name, whatever the value (vault/acl.go, AllowOperation). A member's
// ?version=N read or wrap, for any N (0 and empty too) and any spelling
// of the name (Version, %76ersion), is refused with 403, while plain
// reads, wraps and lists work as before; the SDK's Read and Wrap never
// send the parameter.
//
// Without the rule a member could read every version KV keeps, values
// rotated away before they joined included. The trade-off is rollback
// history against exposure, and this package keeps the history for the
// admins: their policy has no such rule, so they can read, wrap and roll
// back to older versions, and the edge SDK's Create and Update can check
// a write whose answer was lost (they read that version back). Members
// see only the latest version.
//
// Vault merges the denied_parameters of identical paths, so an entity
// that is both member and admin of an org is held to the members' rule:
// it cannot read older versions (after a lost answer the SDK then checks
// its write against the latest version instead). Make admins admins only
// (RemoveMember) where old versions matter. Giving the members a
// different path instead, so that the admins' rule would win rather than
// merge, takes a glob ("*"): Vault forbids "+*", and a glob would let
// members read nested paths below the org.
//
// The other way to close the exposure, a max_versions of 1, drops the
// history for everyone, root included: no rollback, and a version being
// replaced is gone at once. It is set per secret (on its metadata, for
// each secret, before or after it is written) or for the whole mount
// (<mount>/config), and KV v2 (v0.15, in Vault 1.14) keeps the larger of
// the two (path_data.go, AddVersion), so a secret cannot keep fewer
// versions than its mount says. This package does not set it.
//
// The rule cannot stop a member from wrapping the latest version before
// the admins rotate it and handing the token over later, within its TTL:
// the receiver learns which version it got, and when that version was
// written, from edge.UnwrapSecret, and should compare them with what the
// sender announced. Orgs created before this rule existed get it when
// CreateOrg runs again for them (it rewrites a policy that differs).
//
// # Offboarding
//
// Deleting a userpass user does not remove a person: Vault keeps the
// user's identity entity, the entity's org memberships and the tokens
// already issued, which go on working; and a user re-created with the
// same name, even with a new password, logs in to the same entity, so
// that a new person inherits the old one's private secrets and orgs.
// Admin.OffboardUser is the way to remove a person: it deletes the
// entity's userpass users, revokes their logins' tokens and deletes the
// entity, which takes it out of every group and makes Vault refuse any
// token still naming it. It keeps the person's private secrets, which no
// token can reach any more; Admin.DeleteUserSecrets deletes them.
//
// # The operator's token
//
// Admin needs a token that may read and enable mounts, write and delete
// the policies and identity groups above, and read identity entities,
// and for OffboardUser and DeleteUserSecrets delete entities, userpass
// users and user secrets and revoke tokens (with sudo):
// Admin.OperatorPolicy renders the least policy that does. Whoever may
// write policies can grant themselves anything, so such a token is as
// powerful as a root token in practice; keep it with the operators.
//
// # Concurrency and propagation
//
// An Admin is safe for concurrent use by multiple goroutines, and
// serializes its own group edits. Vault has no check-and-set on identity
// groups, so edits of one org from several processes at the same time
// can race (one may undo another): have one process at a time edit an org.
//
// Vault resolves a token's group policies on every request, so a
// membership change applies from the entity's next request on, with no
// new login. (On a Vault cluster with performance standbys or replicas,
// identity changes reach the other nodes a moment later.)
//
// # Errors
//
// Every error is an [*Error], printed and matched as an [*edge.Error] is:
// "edge admin: OP (org "ORG", entity "ID"): OBJECT: KIND: CAUSE", with the
// parts that are not set left out, an invalid org or entity id never
// printed, and errors.Is matching its Kind. The kinds are this package's
// [ErrUnknownOrg], [ErrUnknownEntity], [ErrMountType] and [ErrNotManaged],
// and edge's [edge.ErrBadEntry] and [edge.ErrPermissionDenied]. Three of
// this package's kinds also match the edge sentinel they refine, so that
// one errors.Is works across both packages: ErrUnknownOrg and
// ErrUnknownEntity match [edge.ErrNotFound], and ErrMountType (a KV
// version 1 mount, or another engine) matches [edge.ErrBadEntry], the
// kind [edge.NewSession] gives the same mount.
package admin
