package admin

import (
	"embed"
	"fmt"
	"strings"
	"text/template"

	"github.com/edgesdk/edge"
)

// EntityIDTemplate is the Vault ACL templating parameter that the user
// policy puts where the caller's entity id goes. Vault replaces it, per
// request, with the identity entity id of the calling token.
const EntityIDTemplate = "{{identity.entity.id}}"

//go:embed policies/*.hcl.tmpl
var policyFiles embed.FS

// policyTemplates holds the parsed policy templates, by file name.
var policyTemplates = template.Must(template.New("policies").Option("missingkey=error").ParseFS(policyFiles, "policies/*.hcl.tmpl"))

// The kinds of policy, as the marker line of each rendered policy names
// them.
const (
	kindUser       = "user"
	kindOrgMembers = "org-members"
	kindOrgAdmins  = "org-admins"
)

// policyData is what the templates see.
type policyData struct {
	Marker string // first line: the marker comment
	Mount  string
	Prefix string
	Org    string
	Entity string // EntityIDTemplate
	Names  string // name prefix
}

// UserPolicy returns the HCL text of the Vault ACL policy that gives every
// user the six edge operations (list, read, wrap, create, update, delete)
// on their own secrets, <mount>/data/<prefix>/users/<entity id>/<name>,
// and nothing on anyone else's. It is one templated policy for all users:
// Vault puts the calling token's entity id in place of EntityIDTemplate.
//
// mount and prefix must be valid edge paths (edge.ValidPath:
// '/'-separated segments, each a name edge.ValidName accepts, at most
// edge.MaxPathLength bytes in all); otherwise the error wraps
// edge.ErrBadEntry.
func UserPolicy(mount, prefix string) (string, error) {
	if err := checkMountPrefix(mount, prefix); err != nil {
		return "", err
	}
	return render("user.hcl.tmpl", policyData{
		Marker: marker(kindUser, mount, prefix, ""),
		Mount:  mount,
		Prefix: prefix,
		Entity: EntityIDTemplate,
	})
}

// OrgMembersPolicy returns the HCL text of the Vault ACL policy for the
// members of org: list, read and wrap on the org's secrets,
// <mount>/data/<prefix>/orgs/<org>/<name>, and read on their metadata
// (version numbers and times, never a value), and nothing else. Members
// read and wrap the latest version only: the policy denies the KV v2
// version parameter (denied_parameters), so that no member can wrap a
// value the admins have rotated away (see "Old versions" in the package
// documentation). Its data rule is a glob, <org>/*, so that Vault applies
// the admins policy's <org>/+ rule alone to an admin who is also a member.
//
// The error wraps edge.ErrBadEntry if mount or prefix is not a valid edge
// path (see UserPolicy) or org is not a valid name (edge.ValidName).
func OrgMembersPolicy(mount, prefix, org string) (string, error) {
	return orgPolicy("org-members.hcl.tmpl", kindOrgMembers, mount, prefix, org)
}

// OrgAdminsPolicy returns the HCL text of the Vault ACL policy for the
// admins of org: all six edge operations (list, read, wrap, create, update,
// delete) on the org's secrets, <mount>/data/<prefix>/orgs/<org>/<name>,
// and nothing else, older versions included (history, reading and
// wrapping an older version, rollback). It grants everything the members
// policy grants, so an admin need not also be a member; an admin who is
// also a member keeps the older versions: Vault applies this policy's
// data rule alone, not the members' (see "Old versions" in the package
// documentation).
//
// The error wraps edge.ErrBadEntry if mount or prefix is not a valid edge
// path (see UserPolicy) or org is not a valid name (edge.ValidName).
func OrgAdminsPolicy(mount, prefix, org string) (string, error) {
	return orgPolicy("org-admins.hcl.tmpl", kindOrgAdmins, mount, prefix, org)
}

// OperatorPolicy returns the HCL text of a Vault ACL policy that is
// enough for a's token: everything Setup, CreateOrg, DeleteOrg, the
// membership methods, OffboardUser and DeleteUserSecrets need, for a's
// mount, prefix and name prefix, and nothing else. Admin does not write
// it; give it to the operator's token (or use a root token). Whoever
// holds it can write policies, so it is as powerful as a root token in
// practice.
//
// OffboardUser's rules reach beyond the deployment, as identities and
// logins are Vault-wide: they let the token delete any identity entity,
// delete the users of auth methods mounted at auth/<one segment>/, and
// list and revoke (with sudo) the tokens of logins there. For a userpass
// mount at a deeper path, add its three rules yourself.
func (a *Admin) OperatorPolicy() (string, error) {
	return render("operator.hcl.tmpl", policyData{Mount: a.mount, Prefix: a.prefix, Names: a.names})
}

func orgPolicy(file, kind, mount, prefix, org string) (string, error) {
	if err := checkMountPrefix(mount, prefix); err != nil {
		return "", err
	}
	if err := checkOrg(org); err != nil {
		return "", &Error{Op: "policy", Org: org, Kind: edge.ErrBadEntry, Err: err}
	}
	return render(file, policyData{
		Marker: marker(kind, mount, prefix, org),
		Mount:  mount,
		Prefix: prefix,
		Org:    org,
	})
}

func render(file string, data policyData) (string, error) {
	var b strings.Builder
	if err := policyTemplates.ExecuteTemplate(&b, file, data); err != nil {
		// The templates are embedded and their data validated: this is
		// a bug, not bad input.
		return "", &Error{Op: "policy", Object: "template " + quote(file), Err: err}
	}
	return b.String(), nil
}

// markerPrefix starts the first line of every policy Admin writes, and
// the value of the markerKey metadata of every group it creates.
const markerPrefix = "# Managed by github.com/edgesdk/edge/admin:"

// markerKey is the group metadata key holding the group's marker.
const markerKey = "edge-admin"

// marker returns the first line of a policy of the given kind: it names
// the mount, prefix and org the policy is for, so that Admin recognizes
// the policies it wrote and refuses to overwrite or delete any other.
// The values are valid edge paths and names: no spaces, no newlines.
func marker(kind, mount, prefix, org string) string {
	m := markerPrefix + " kind=" + kind + " mount=" + mount + " prefix=" + prefix
	if org != "" {
		m += " org=" + org
	}
	return m
}

// groupMarker is the markerKey metadata value of a group: the marker of
// the policy it carries, without the comment prefix.
func groupMarker(kind, mount, prefix, org string) string {
	return strings.TrimPrefix(marker(kind, mount, prefix, org), markerPrefix+" ")
}

// checkMountPrefix refuses a mount or prefix that is not a valid edge
// path, with an error wrapping edge.ErrBadEntry.
func checkMountPrefix(mount, prefix string) error {
	if err := checkPath(mount); err != nil {
		return &Error{Op: "policy", Kind: edge.ErrBadEntry, Err: fmt.Errorf("mount: %w", err)}
	}
	if err := checkPath(prefix); err != nil {
		return &Error{Op: "policy", Kind: edge.ErrBadEntry, Err: fmt.Errorf("prefix: %w", err)}
	}
	return nil
}

// checkPath explains why p is not a valid mount or prefix. The rule is
// the edge SDK's own (edge.CheckPath), so that every Mount and Prefix an
// Admin accepts a Session accepts too, and back: '/'-separated segments,
// each a valid edge name, at most edge.MaxPathLength (256) bytes in all.
// That keeps p a literal Vault path (no '.', '..', '*', '+', quotes or
// newlines can reach a policy or a URL), and every marker Admin stores
// in Vault within Vault's limits on group metadata values.
func checkPath(p string) error {
	return edge.CheckPath(p)
}

// checkOrg explains why org is not a valid org name.
func checkOrg(org string) error {
	if !edge.ValidName(org) {
		return fmt.Errorf("org name is not 1 to %d ASCII letters, digits, '-' and '_'", edge.MaxNameLength)
	}
	return nil
}

// checkEntityID explains why id is not a valid identity entity id: the
// edge SDK refuses the same ids, which keeps each one a literal path
// segment.
func checkEntityID(id string) error {
	if !edge.ValidName(id) {
		return fmt.Errorf("entity id (%d bytes) is not 1 to %d ASCII letters, digits, '-' and '_'", len(id), edge.MaxNameLength)
	}
	return nil
}
