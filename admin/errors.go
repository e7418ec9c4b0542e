package admin

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/internal/errfmt"
	"github.com/edgesdk/edge/internal/vaulterr"
)

// The errors below, together with edge.ErrBadEntry and
// edge.ErrPermissionDenied, classify the failures of this package. Match
// them with errors.Is; the concrete error is always an *Error, which
// prints and matches as an *edge.Error does.
//
// Admin returns an error wrapping edge.ErrBadEntry, before sending any
// request, for an invalid org name or entity id (and New for an invalid
// Config), and one wrapping edge.ErrPermissionDenied when Vault answers
// 403 (the operator's token lacks a capability).
var (
	// ErrUnknownOrg means the org's identity groups do not exist: the org
	// was never created with CreateOrg, or was deleted. Create it with
	// CreateOrg. It matches edge.ErrNotFound as well.
	ErrUnknownOrg error = &kindError{"org not found", edge.ErrNotFound}

	// ErrUnknownEntity means AddMember or AddAdmin was given the id of no
	// Vault identity entity. It matches edge.ErrNotFound as well.
	ErrUnknownEntity error = &kindError{"identity entity not found", edge.ErrNotFound}

	// ErrMountType means Setup found something other than a KV version 2
	// secrets engine at Config.Mount: a KV version 1 mount (upgrade it with
	// "vault kv enable-versioning") or another engine. Setup changes
	// nothing then. It matches edge.ErrBadEntry as well, the kind
	// edge.NewSession gives the same mount problem, so that
	// errors.Is(err, edge.ErrBadEntry) finds it from either package.
	ErrMountType error = &kindError{"mount is not a KV version 2 secrets engine", edge.ErrBadEntry}

	// ErrNotManaged means a policy or group with the name Admin would use
	// exists but was not written by this package for the same mount,
	// prefix and org (its marker differs or is missing). Admin never
	// overwrites or deletes such an object: another deployment or a person
	// owns it. Rename or remove it, or set Config.NamePrefix.
	ErrNotManaged error = &kindError{"vault object exists but is not managed by edge admin for this mount, prefix and org", nil}
)

// kindError is a sentinel error that may also match a more general one.
type kindError struct {
	msg string
	is  error // also matched by errors.Is, or nil
}

func (k *kindError) Error() string { return k.msg }

func (k *kindError) Is(target error) bool { return k.is != nil && target == k.is }

// Error is the error returned by every function and method of this
// package. It records the operation, the org and entity concerned, and the
// cause, and matches its Kind through errors.Is.
//
// Unwrap exposes the cause: for a failure Vault reported, that is
// vault/api's *api.ResponseError, so errors.As reaches the HTTP status.
// Error strings never contain a token, nor an entity id that was refused
// as invalid (a token passed by mistake would be one).
type Error struct {
	Op       string // "new", "setup", "create org", "delete org", "add member", "remove member", "add admin", "remove admin", "members", "admins", "offboard user", "delete user secrets", "policy", "name"
	Org      string // org name; empty when no org applies
	EntityID string // entity id; empty when none applies, or when it was invalid
	Object   string // the Vault object concerned, e.g. `policy "edge-user"`; may be empty
	Kind     error  // a sentinel error, or nil when none applies
	Err      error  // the underlying cause; may be nil when Kind says it all
}

// Error returns
// "edge admin: OP (org "ORG", entity "ID"): OBJECT: KIND: CAUSE",
// leaving out the parts that are not set, with "(invalid)" in place of
// an org or entity id that is not valid and the cause on one line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("edge admin: ")
	b.WriteString(e.Op)
	var about []string
	if e.Org != "" {
		about = append(about, "org "+quoteName(e.Org))
	}
	if e.EntityID != "" {
		about = append(about, "entity "+quoteName(e.EntityID))
	}
	if len(about) > 0 {
		b.WriteString(" (" + strings.Join(about, ", ") + ")")
	}
	if e.Object != "" {
		b.WriteString(": " + e.Object)
	}
	errfmt.WriteTail(&b, e.Kind, e.Err)
	return b.String()
}

// Unwrap returns the underlying cause, or Kind when there is none.
func (e *Error) Unwrap() error { return errfmt.Unwrap(e.Kind, e.Err) }

// Is reports whether target is e's Kind, or a sentinel that Kind matches
// (ErrUnknownOrg matches edge.ErrNotFound, say).
func (e *Error) Is(target error) bool { return errfmt.Is(e.Kind, target) }

// GoString prints e for %#v as Error does for %v, its fields named, an
// invalid org or entity id left out and the causes as their one-line
// texts.
func (e *Error) GoString() string {
	kind, cause := errfmt.Texts(e.Kind, e.Err)
	org, entity := e.Org, e.EntityID
	if org != "" && !edge.ValidName(org) {
		org = errfmt.Invalid
	}
	if entity != "" && !edge.ValidName(entity) {
		entity = errfmt.Invalid
	}
	return fmt.Sprintf("&admin.Error{Op:%q, Org:%q, EntityID:%q, Object:%q, Kind:%q, Err:%q}", e.Op, org, entity, e.Object, kind, cause)
}

// quoteName quotes an org name or entity id for an error message, or says
// it is invalid: an invalid one may be anything (a token pasted in the
// wrong place), and the cause quotes at most a short prefix of it.
func quoteName(s string) string { return errfmt.Quote(s, edge.ValidName(s)) }

// quote quotes s for an error message, cutting it if it is long.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// kindOf classifies a failure vault/api reported: 403 is
// edge.ErrPermissionDenied; anything else has no kind.
func kindOf(err error) error {
	switch {
	case vaulterr.Status(err) == 403:
		return edge.ErrPermissionDenied
	case vaulterr.IsTLSOrConfig(err):
		return edge.ErrConfig
	}
	return nil
}
