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
//   - "edge-org-<org>-members": read on the org's data paths and list on
//     its folder: enough for List, Read and Wrap.
//   - "edge-org-<org>-admins": what the members policy grants plus create
//     and update on the data paths and read and delete on the metadata
//     paths: enough for all six operations.
//
// CreateOrg writes both org policies and creates two internal identity
// groups of the same names, each carrying its policy; AddMember,
// AddAdmin, RemoveMember and RemoveAdmin edit the groups' member entity
// ids. The admins policy alone grants every org operation, so an admin
// need not also be a member; an entity may be both (the two policies use
// identical path strings, which Vault merges, so the union applies).
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
// # The operator's token
//
// Admin needs a token that may read and enable mounts, write and delete
// the policies and identity groups above, and read identity entities:
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
package admin
