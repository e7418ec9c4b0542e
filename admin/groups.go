package admin

import (
	"context"
	"fmt"
	"slices"

	"github.com/edgesdk/edge"
)

// group is the part of an identity group Admin looks at.
type group struct {
	Type     string
	Policies []string
	Members  []string // member_entity_ids
	Metadata map[string]string
}

// readGroup reads identity group name, returning nil if there is none.
func (a *Admin) readGroup(ctx context.Context, op, org, name string) (*group, error) {
	s, err := a.client.Logical().ReadWithContext(ctx, groupPath(name))
	if err != nil {
		return nil, &Error{Op: op, Org: org, Object: groupObject(name), Kind: kindOf(err), Err: err}
	}
	if s == nil || s.Data == nil { // vault/api's answer to 404
		return nil, nil
	}
	g := &group{
		Type:     stringOf(s.Data["type"]),
		Policies: stringsOf(s.Data["policies"]),
		Members:  stringsOf(s.Data["member_entity_ids"]),
		Metadata: map[string]string{},
	}
	if md, ok := s.Data["metadata"].(map[string]any); ok {
		for k, v := range md {
			g.Metadata[k] = stringOf(v)
		}
	}
	return g, nil
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

func stringsOf(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// checkGroupMarker refuses a group that this package did not create for
// role r of org on this mount and prefix, or that is not internal.
func (a *Admin) checkGroupMarker(op, org string, r role, g *group) error {
	name := a.orgName(r, org)
	if g.Metadata[markerKey] != groupMarker(r.kind, a.mount, a.prefix, org) {
		return &Error{Op: op, Org: org, Object: groupObject(name), Kind: ErrNotManaged}
	}
	if g.Type != "internal" {
		return &Error{Op: op, Org: org, Object: groupObject(name), Kind: ErrNotManaged,
			Err: fmt.Errorf("it is an %q group, not an internal one", g.Type)}
	}
	return nil
}

// writeGroup creates the internal identity group of role r of org,
// carrying exactly the role's policy, when existing is nil; otherwise it
// repairs the policy list of existing, a group checkGroupMarker accepted.
// It never changes the group's members. The caller holds a.mu.
func (a *Admin) writeGroup(ctx context.Context, op, org string, r role, existing *group) error {
	name := a.orgName(r, org)
	policies := []string{name} // the role's policy has the group's name
	body := map[string]any{"policies": policies}
	if existing == nil {
		body["type"] = "internal"
		body["metadata"] = map[string]string{markerKey: groupMarker(r.kind, a.mount, a.prefix, org)}
	} else if slices.Equal(existing.Policies, policies) {
		return nil
	}
	// Without member_entity_ids in the body, Vault keeps the members.
	if _, err := a.client.Logical().WriteWithContext(ctx, groupPath(name), body); err != nil {
		return &Error{Op: op, Org: org, Object: groupObject(name), Kind: kindOf(err), Err: err}
	}
	return nil
}

// AddMember makes the identity entity entityID a member of org: it adds
// entityID to the org's members group, whose policy lets its members list,
// read and wrap the org's secrets and list their versions. Vault applies the change from the
// entity's next request on. Adding a member twice is not an error.
//
// AddMember returns an error wrapping edge.ErrBadEntry, before any
// request, if org or entityID is not a valid name; one wrapping
// ErrUnknownOrg (and edge.ErrNotFound) if the org has not been created;
// and one wrapping ErrUnknownEntity (and edge.ErrNotFound) if Vault has no
// entity entityID.
func (a *Admin) AddMember(ctx context.Context, org, entityID string) error {
	return a.edit(ctx, "add member", membersRole, org, entityID, true)
}

// RemoveMember removes the identity entity entityID from org's members
// group. Vault applies the change from the entity's next request on: the
// next request for an org secret is refused, unless the entity is also
// an admin. Removing an entity that is not a member is not an error.
//
// RemoveMember returns an error wrapping edge.ErrBadEntry, before any
// request, if org or entityID is not a valid name, and one wrapping
// ErrUnknownOrg (and edge.ErrNotFound) if the org has not been created.
func (a *Admin) RemoveMember(ctx context.Context, org, entityID string) error {
	return a.edit(ctx, "remove member", membersRole, org, entityID, false)
}

// AddAdmin makes the identity entity entityID an admin of org: it adds
// entityID to the org's admins group, whose policy grants all six
// operations on the org's secrets. An admin need not also be a member
// (the admins policy covers everything the members policy does), and
// being both does no harm. Adding an admin twice is not an error. The
// errors are those of AddMember.
func (a *Admin) AddAdmin(ctx context.Context, org, entityID string) error {
	return a.edit(ctx, "add admin", adminsRole, org, entityID, true)
}

// RemoveAdmin removes the identity entity entityID from org's admins
// group; it stays a member if it is one. Removing an entity that is not
// an admin is not an error. The errors are those of RemoveMember.
func (a *Admin) RemoveAdmin(ctx context.Context, org, entityID string) error {
	return a.edit(ctx, "remove admin", adminsRole, org, entityID, false)
}

// edit adds entityID to, or removes it from, the group of role r of org:
// a read-modify-write of the group's member_entity_ids, under a.mu.
func (a *Admin) edit(ctx context.Context, op string, r role, org, entityID string, add bool) error {
	if err := checkOrg(org); err != nil {
		return &Error{Op: op, Org: org, Kind: edge.ErrBadEntry, Err: err}
	}
	if err := checkEntityID(entityID); err != nil {
		// Not echoed: a token passed by mistake must not reach a log.
		return &Error{Op: op, Org: org, Kind: edge.ErrBadEntry, Err: err}
	}
	a.mu.Lock()
	defer a.mu.Unlock()

	name := a.orgName(r, org)
	g, err := a.readGroup(ctx, op, org, name)
	if err != nil {
		return err
	}
	if g == nil {
		return &Error{Op: op, Org: org, EntityID: entityID, Object: groupObject(name), Kind: ErrUnknownOrg}
	}
	if err := a.checkGroupMarker(op, org, r, g); err != nil {
		return err
	}
	members := g.Members
	switch i := slices.Index(members, entityID); {
	case add && i >= 0, !add && i < 0:
		return nil // nothing to do
	case add:
		// Vault answers an unknown entity id with a 500 that says
		// "invalid entity ID": ask first, for a clear error.
		e, err := a.client.Logical().ReadWithContext(ctx, "identity/entity/id/"+entityID)
		if err != nil {
			return &Error{Op: op, Org: org, EntityID: entityID, Object: "reading the entity", Kind: kindOf(err), Err: err}
		}
		if e == nil {
			return &Error{Op: op, Org: org, EntityID: entityID, Kind: ErrUnknownEntity}
		}
		members = append(members, entityID)
	default:
		members = slices.Delete(members, i, i+1)
	}
	// member_entity_ids replaces the whole list; the rest of the group
	// is kept.
	body := map[string]any{"member_entity_ids": members}
	if _, err := a.client.Logical().WriteWithContext(ctx, groupPath(name), body); err != nil {
		return &Error{Op: op, Org: org, EntityID: entityID, Object: groupObject(name), Kind: kindOf(err), Err: err}
	}
	return nil
}

// Members returns the entity ids of org's members, sorted. They are the
// members of its members group only: admins who are not also members are
// not listed. An org with no members gets an empty list.
//
// Members returns an error wrapping edge.ErrBadEntry, before any request,
// if org is not a valid name, and one wrapping ErrUnknownOrg (and
// edge.ErrNotFound) if the org has not been created.
func (a *Admin) Members(ctx context.Context, org string) ([]string, error) {
	return a.list(ctx, "members", membersRole, org)
}

// Admins returns the entity ids of org's admins, sorted. The errors are
// those of Members.
func (a *Admin) Admins(ctx context.Context, org string) ([]string, error) {
	return a.list(ctx, "admins", adminsRole, org)
}

func (a *Admin) list(ctx context.Context, op string, r role, org string) ([]string, error) {
	if err := checkOrg(org); err != nil {
		return nil, &Error{Op: op, Org: org, Kind: edge.ErrBadEntry, Err: err}
	}
	name := a.orgName(r, org)
	g, err := a.readGroup(ctx, op, org, name)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return nil, &Error{Op: op, Org: org, Object: groupObject(name), Kind: ErrUnknownOrg}
	}
	if err := a.checkGroupMarker(op, org, r, g); err != nil {
		return nil, err
	}
	slices.Sort(g.Members)
	return g.Members, nil
}
