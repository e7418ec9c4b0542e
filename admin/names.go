package admin

import (
	"fmt"
	"strings"

	"github.com/edgesdk/edge"
)

// maxNamePrefixLength bounds Config.NamePrefix.
const maxNamePrefixLength = 128

// Vault policy names and, by default, identity group names are case
// insensitive: Vault lower-cases them. Org names are not (KV paths are
// case sensitive), so "Acme" and "acme" are two orgs and must get two
// policies. escapeName maps a name (or a prefix) to lower case one to one:
//
//	a-z 0-9 '-'  stay as they are
//	A-Z          become '_' and the letter in lower case ("A" -> "_a")
//	'_'          becomes "__"
//	'/'          becomes "_-" (prefixes only)
//
// No two inputs give the same output, because '_' starts every escape
// and never stands for itself alone. A lower-case name without '_' is
// unchanged.
func escapeName(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 4)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z':
			b.WriteByte('_')
			b.WriteByte(c - 'A' + 'a')
		case c == '_':
			b.WriteString("__")
		case c == '/':
			b.WriteString("_-")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// DefaultNamePrefix returns the name prefix New uses when
// Config.NamePrefix is empty: prefix, escaped so that it keeps its case
// distinctions in Vault's case-insensitive policy and group names (upper
// case letters become '_' and the letter in lower case, '_' becomes "__"
// and '/' becomes "_-"). DefaultNamePrefix("edge") is "edge";
// DefaultNamePrefix("Team_A/edge") is "_team___a_-edge".
//
// The error wraps edge.ErrBadEntry if prefix is not a valid edge path, or
// if it starts with '-' (Vault group names must start with a letter, a
// digit or '_'): set Config.NamePrefix then.
func DefaultNamePrefix(prefix string) (string, error) {
	if err := checkPath(prefix); err != nil {
		return "", &Error{Op: "name", Kind: edge.ErrBadEntry, Err: fmt.Errorf("prefix: %w", err)}
	}
	name := escapeName(prefix)
	if err := checkNamePrefix(name); err != nil {
		return "", &Error{Op: "name", Kind: edge.ErrBadEntry, Err: fmt.Errorf("prefix %q gives name prefix %q: %w; set Config.NamePrefix", prefix, name, err)}
	}
	return name, nil
}

// checkNamePrefix explains why p is not a valid name prefix: 1 to 128
// lower-case ASCII letters, digits, '-' and '_', not starting with '-'.
func checkNamePrefix(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("name prefix is empty")
	case len(p) > maxNamePrefixLength:
		return fmt.Errorf("name prefix is %d bytes long, more than %d", len(p), maxNamePrefixLength)
	case p[0] == '-':
		return fmt.Errorf("name prefix starts with '-'")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("byte %d of the name prefix is %q: only lower-case ASCII letters, digits, '-' and '_' are allowed", i, p[i:i+1])
		}
	}
	return nil
}

// role is one of an org's two roles: members or admins.
type role struct {
	member string // "member" or "admin", as operations name it
	suffix string // of the policy and group names
	kind   string // of the markers
	policy func(mount, prefix, org string) (string, error)
}

var (
	membersRole = role{member: "member", suffix: "-members", kind: kindOrgMembers, policy: OrgMembersPolicy}
	adminsRole  = role{member: "admin", suffix: "-admins", kind: kindOrgAdmins, policy: OrgAdminsPolicy}
)

// NamePrefix returns the first part of the name of every policy and group
// a writes: Config.NamePrefix, or DefaultNamePrefix(Config.Prefix).
func (a *Admin) NamePrefix() string { return a.names }

// UserPolicyName returns the name of the user policy Setup writes,
// "<name prefix>-user" ("edge-user" by default). Attach it to every user:
// to the userpass users, auth roles, entities or groups that give edge
// users their tokens.
func (a *Admin) UserPolicyName() string { return a.names + "-user" }

// OrgMembersPolicyName returns the name of org's members policy,
// "<name prefix>-org-<org>-members" ("edge-org-acme-members" for org
// "acme" by default), with org escaped like DefaultNamePrefix escapes a
// prefix. The error wraps edge.ErrBadEntry if org is not a valid name.
func (a *Admin) OrgMembersPolicyName(org string) (string, error) {
	return a.checkedOrgName("name", membersRole, org)
}

// OrgAdminsPolicyName returns the name of org's admins policy,
// "<name prefix>-org-<org>-admins", escaped like OrgMembersPolicyName.
func (a *Admin) OrgAdminsPolicyName(org string) (string, error) {
	return a.checkedOrgName("name", adminsRole, org)
}

// OrgMembersGroupName returns the name of the identity group of org's
// members. It is the name of the policy the group carries,
// OrgMembersPolicyName (policies and groups have separate namespaces in
// Vault).
func (a *Admin) OrgMembersGroupName(org string) (string, error) {
	return a.checkedOrgName("name", membersRole, org)
}

// OrgAdminsGroupName returns the name of the identity group of org's
// admins, the name of the policy it carries, OrgAdminsPolicyName.
func (a *Admin) OrgAdminsGroupName(org string) (string, error) {
	return a.checkedOrgName("name", adminsRole, org)
}

func (a *Admin) checkedOrgName(op string, r role, org string) (string, error) {
	if err := checkOrg(org); err != nil {
		return "", &Error{Op: op, Org: org, Kind: edge.ErrBadEntry, Err: err}
	}
	return a.orgName(r, org), nil
}

// orgName returns the policy and group name of role r of the valid org.
func (a *Admin) orgName(r role, org string) string {
	return a.names + "-org-" + escapeName(org) + r.suffix
}
