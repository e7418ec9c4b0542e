package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/internal/kvmount"
	"github.com/edgesdk/edge/internal/vaultclient"
	"github.com/edgesdk/edge/internal/vaulterr"
)

// Config says how an Admin reaches Vault and which edge deployment it
// manages. Unlike edge.Config, nothing is read from EDGE_* environment
// variables: an operator names the deployment explicitly.
type Config struct {
	// Client is a configured vault/api client whose token may manage
	// mounts, policies and identity groups (see the package
	// documentation). Admin works on its own clone and never modifies
	// it. When nil, Admin makes a client from api.DefaultConfig, which
	// reads VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT, VAULT_NAMESPACE and the
	// rest of vault/api's environment.
	Client *api.Client

	// Mount is the path of the KV version 2 secrets engine. Default:
	// edge.DefaultMount ("secret").
	Mount string

	// Prefix is the path below Mount that holds the edge secrets.
	// Default: edge.DefaultPrefix ("edge").
	Prefix string

	// NamePrefix starts the name of every policy and group Admin writes:
	// "<NamePrefix>-user", "<NamePrefix>-org-<org>-members" and
	// "<NamePrefix>-org-<org>-admins". Default: DefaultNamePrefix(Prefix),
	// which is "edge" for the default prefix. It must be 1 to 128
	// lower-case ASCII letters, digits, '-' and '_', not starting with
	// '-'. Two deployments sharing a Vault (same Prefix on two mounts,
	// say) need two name prefixes; Admin refuses, with ErrNotManaged, to
	// touch a policy or group that another deployment wrote.
	NamePrefix string
}

// Admin provisions Vault for the edge SDK: the KV version 2 mount, the
// user policy, and each org's policies and identity groups; and it
// offboards users. Make one with New.
//
// An Admin is safe for concurrent use by multiple goroutines. Its
// membership edits (AddMember, RemoveMember, AddAdmin, RemoveAdmin) and
// its group writes (CreateOrg, DeleteOrg) are serialized by a mutex,
// because each is a read-modify-write of the group in Vault, and so is
// OffboardUser, whose entity deletion edits the groups. Vault offers
// no check-and-set on identity groups, so edits of one org from several
// processes (or several Admins) at the same time can race, and one edit
// can undo another: have one process at a time edit an org.
type Admin struct {
	client *api.Client
	mount  string
	prefix string
	names  string // name prefix

	mu sync.Mutex // serializes group writes and entity deletions
}

// New checks cfg, fills in its defaults and returns an Admin. It sends no
// request. The error wraps edge.ErrBadEntry if Mount or Prefix is not a
// valid edge path (segments of 1 to 256 ASCII letters, digits, '-' and
// '_', at most 256 bytes in all) or NamePrefix is invalid.
func New(cfg Config) (*Admin, error) {
	if cfg.Mount == "" {
		cfg.Mount = edge.DefaultMount
	}
	if cfg.Prefix == "" {
		cfg.Prefix = edge.DefaultPrefix
	}
	if err := checkPath(cfg.Mount); err != nil {
		return nil, &Error{Op: "new", Kind: edge.ErrBadEntry, Err: fmt.Errorf("mount: %w", err)}
	}
	if err := checkPath(cfg.Prefix); err != nil {
		return nil, &Error{Op: "new", Kind: edge.ErrBadEntry, Err: fmt.Errorf("prefix: %w", err)}
	}
	if cfg.NamePrefix == "" {
		name, err := DefaultNamePrefix(cfg.Prefix)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.Op = "new"
			}
			return nil, err
		}
		cfg.NamePrefix = name
	} else if err := checkNamePrefix(cfg.NamePrefix); err != nil {
		return nil, &Error{Op: "new", Kind: edge.ErrBadEntry, Err: err}
	}
	client, err := vaultclient.Own(cfg.Client)
	if err != nil {
		return nil, &Error{Op: "new", Err: err}
	}
	return &Admin{client: client, mount: cfg.Mount, prefix: cfg.Prefix, names: cfg.NamePrefix}, nil
}

// Mount returns the KV version 2 mount a manages.
func (a *Admin) Mount() string { return a.mount }

// Prefix returns the path below Mount that holds the edge secrets.
func (a *Admin) Prefix() string { return a.prefix }

// kvReadyTimeout bounds how long Setup waits for a KV mount it enabled
// to serve requests.
const kvReadyTimeout = 30 * time.Second

// Setup makes sure a KV version 2 secrets engine is mounted at Mount,
// enabling one if nothing is mounted there, and writes the user policy
// (UserPolicyName, the text of UserPolicy). It is idempotent: a second
// call finds everything in place and writes nothing.
//
// Setup returns an error wrapping ErrMountType if Mount holds a KV
// version 1 engine or another kind of engine, and one wrapping
// ErrNotManaged if a policy named UserPolicyName exists that this package
// did not write for the same mount and prefix; it changes nothing then.
// It returns one wrapping edge.ErrPermissionDenied if the token may not
// do all this.
func (a *Admin) Setup(ctx context.Context) error {
	const op = "setup"
	text, err := UserPolicy(a.mount, a.prefix)
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	name := a.UserPolicyName()
	// Check the policy first, so that a name clash changes nothing.
	write, err := a.checkPolicy(ctx, op, "", name, text)
	if err != nil {
		return err
	}
	if err := a.ensureKVv2(ctx); err != nil {
		return err
	}
	if !write {
		return nil
	}
	return a.writePolicy(ctx, op, "", name, text)
}

func (a *Admin) ensureKVv2(ctx context.Context) error {
	const op = "setup"
	object := "mount " + quote(a.mount+"/")
	mounts, err := a.client.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return &Error{Op: op, Object: "listing mounts", Kind: kindOf(err), Err: err}
	}
	if m, ok := mounts[a.mount+"/"]; ok {
		if err := kvmount.Problem(a.mount, m.Type, m.Options); err != nil {
			return &Error{Op: op, Object: object, Kind: ErrMountType, Err: err}
		}
		return nil
	}
	err = a.client.Sys().MountWithContext(ctx, a.mount, &api.MountInput{
		Type:        "kv",
		Description: "edge SDK secrets (KV version 2)",
		Options:     map[string]string{"version": "2"},
	})
	if err != nil {
		return &Error{Op: op, Object: "enabling KV version 2 at " + object, Kind: kindOf(err), Err: err}
	}
	return a.waitKVReady(ctx)
}

// waitKVReady waits until the KV version 2 engine just enabled at Mount
// serves requests: KV runs an upgrade step when it starts and answers 400
// ("Upgrading from non-versioned to versioned data...") until it is done.
// The probe reads <mount>/config; a token that may not read it (403)
// skips the wait.
func (a *Admin) waitKVReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, kvReadyTimeout)
	defer cancel()
	for {
		_, err := a.client.Logical().ReadWithContext(ctx, a.mount+"/config")
		switch {
		case err == nil, vaulterr.Status(err) == 403:
			return nil
		case !vaulterr.IsKVUpgrading(err):
			return &Error{Op: "setup", Object: "waiting for the new mount " + quote(a.mount+"/"), Kind: kindOf(err), Err: err}
		}
		select {
		case <-ctx.Done():
			return &Error{Op: "setup", Object: "waiting for the new mount " + quote(a.mount+"/"), Err: fmt.Errorf("%w (last answer: %s)", ctx.Err(), vaulterr.Describe(err))}
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// CreateOrg creates org: it writes the org's members and admins policies
// (OrgMembersPolicy and OrgAdminsPolicy, named OrgMembersPolicyName and
// OrgAdminsPolicyName) and creates two internal identity groups carrying
// them (OrgMembersGroupName and OrgAdminsGroupName), with no members. It
// does not touch the org's secrets.
//
// CreateOrg is idempotent: on an existing org it rewrites what differs
// from the above (a policy text, a group's policy list) and keeps the
// groups' members. It returns an error wrapping edge.ErrBadEntry, before
// any request, if org is not a valid name, and one wrapping ErrNotManaged,
// changing nothing, if one of the four names is taken by a policy or group
// this package did not write for the same mount, prefix and org (or by an
// external group).
func (a *Admin) CreateOrg(ctx context.Context, org string) error {
	const op = "create org"
	if err := checkOrg(org); err != nil {
		return &Error{Op: op, Org: org, Kind: edge.ErrBadEntry, Err: err}
	}
	a.mu.Lock()
	defer a.mu.Unlock()

	// Check all four objects first, so that a name clash changes nothing.
	type plan struct {
		r           role
		text        string
		writePolicy bool
		group       *group // nil: create it
	}
	plans := []*plan{{r: membersRole}, {r: adminsRole}}
	for _, p := range plans {
		name := a.orgName(p.r, org)
		text, err := p.r.policy(a.mount, a.prefix, org)
		if err != nil {
			return &Error{Op: op, Org: org, Err: err}
		}
		p.text = text
		if p.writePolicy, err = a.checkPolicy(ctx, op, org, name, text); err != nil {
			return err
		}
		if p.group, err = a.readGroup(ctx, op, org, name); err != nil {
			return err
		}
		if p.group != nil {
			if err := a.checkGroupMarker(op, org, p.r, p.group); err != nil {
				return err
			}
		}
	}
	// Policies before groups: a group never names a missing policy.
	for _, p := range plans {
		if p.writePolicy {
			if err := a.writePolicy(ctx, op, org, a.orgName(p.r, org), p.text); err != nil {
				return err
			}
		}
	}
	for _, p := range plans {
		if err := a.writeGroup(ctx, op, org, p.r, p.group); err != nil {
			return err
		}
	}
	return nil
}

// DeleteOrg deletes org's two identity groups and two policies, so that
// nobody keeps access through them. It does not delete the org's secrets
// (an operator can delete <mount>/metadata/<prefix>/orgs/<org>/ with
// other tools). Deleting an org that does not exist, or no longer fully
// exists, is not an error.
//
// DeleteOrg returns an error wrapping edge.ErrBadEntry, before any
// request, if org is not a valid name, and one wrapping ErrNotManaged,
// deleting nothing, if one of the four names is taken by a policy or
// group this package did not write for the same mount, prefix and org.
func (a *Admin) DeleteOrg(ctx context.Context, org string) error {
	const op = "delete org"
	if err := checkOrg(org); err != nil {
		return &Error{Op: op, Org: org, Kind: edge.ErrBadEntry, Err: err}
	}
	a.mu.Lock()
	defer a.mu.Unlock()

	// Check all four objects first, so that a name clash deletes nothing.
	var groups, policies []string // names of those to delete
	for _, r := range []role{membersRole, adminsRole} {
		name := a.orgName(r, org)
		g, err := a.readGroup(ctx, op, org, name)
		if err != nil {
			return err
		}
		if g != nil {
			if err := a.checkGroupMarker(op, org, r, g); err != nil {
				return err
			}
			groups = append(groups, name)
		}
		existing, err := a.client.Sys().GetPolicyWithContext(ctx, name)
		if err != nil {
			return &Error{Op: op, Org: org, Object: policyObject(name), Kind: kindOf(err), Err: err}
		}
		if existing != "" {
			if firstLine(existing) != marker(r.kind, a.mount, a.prefix, org) {
				return &Error{Op: op, Org: org, Object: policyObject(name), Kind: ErrNotManaged}
			}
			policies = append(policies, name)
		}
	}
	// Groups first: once they are gone nobody holds the policies.
	for _, name := range groups {
		if _, err := a.client.Logical().DeleteWithContext(ctx, groupPath(name)); err != nil {
			return &Error{Op: op, Org: org, Object: groupObject(name), Kind: kindOf(err), Err: err}
		}
	}
	for _, name := range policies {
		if err := a.client.Sys().DeletePolicyWithContext(ctx, name); err != nil {
			return &Error{Op: op, Org: org, Object: policyObject(name), Kind: kindOf(err), Err: err}
		}
	}
	return nil
}

// checkPolicy reports whether policy name needs writing to hold text. It
// fails with ErrNotManaged if the policy exists and its first line is not
// text's marker.
func (a *Admin) checkPolicy(ctx context.Context, op, org, name, text string) (write bool, err error) {
	existing, err := a.client.Sys().GetPolicyWithContext(ctx, name)
	if err != nil {
		return false, &Error{Op: op, Org: org, Object: policyObject(name), Kind: kindOf(err), Err: err}
	}
	switch {
	case existing == text:
		return false, nil
	case existing != "" && firstLine(existing) != firstLine(text):
		return false, &Error{Op: op, Org: org, Object: policyObject(name), Kind: ErrNotManaged}
	}
	return true, nil
}

func (a *Admin) writePolicy(ctx context.Context, op, org, name, text string) error {
	if err := a.client.Sys().PutPolicyWithContext(ctx, name, text); err != nil {
		return &Error{Op: op, Org: org, Object: policyObject(name), Kind: kindOf(err), Err: err}
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

func policyObject(name string) string { return "policy " + quote(name) }

func groupObject(name string) string { return "group " + quote(name) }

func groupPath(name string) string { return "identity/group/name/" + name }
