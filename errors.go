package edge

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/edgesdk/edge/internal/errfmt"
	"github.com/edgesdk/edge/internal/vaulterr"
)

// The sentinel errors below classify every failure the SDK returns. Match
// them with errors.Is; the concrete error is always an *Error, whose Kind
// is one of them. Their texts are short facts; what to do about each is
// said here.
//
// An error matches at most one of the kinds that say what happened:
// ErrNotFound, ErrAlreadyExists, ErrBadEntry, ErrPermissionDenied,
// ErrConflict, ErrInvalidToken, ErrWrongSecret, ErrUnknownOutcome, and
// every other kind below (ErrNoEntity, ErrNoOrg, ErrIdentityChanged,
// ErrUndecodable, ErrConfig, and any kind added later). The one pairing allowed is
// ErrUnknownOutcome with ErrUnavailable, when Vault was unavailable. So a
// caller may test the kinds in any order. This holds by construction: an
// *Error matches its Kind alone, and the causes it wraps are seen by
// errors.Is without their kinds (see Error.Unwrap), even when a cause is
// itself an *Error, as when an update whose answer was lost then found
// the secret gone.
var (
	// ErrNotFound means the secret does not exist (never written, deleted,
	// or its latest version was deleted or destroyed in Vault).
	ErrNotFound = errors.New("secret not found")

	// ErrAlreadyExists means Create found a secret with that name.
	ErrAlreadyExists = errors.New("secret already exists")

	// ErrBadEntry means the input was refused: an invalid secret or org
	// name, a value that is nil or not JSON-encodable, an invalid
	// wrapping TTL (all refused before any request is sent), or a Config
	// that is not valid, a Config.Mount that Vault shows is not a KV
	// version 2 secrets engine among them (NewSession). Package admin
	// reports the same mount problem as admin.ErrMountType, which matches
	// ErrBadEntry too.
	ErrBadEntry = errors.New("bad entry")

	// ErrPermissionDenied means Vault refused the request (HTTP 403), or
	// refused the session's token when the session was made.
	ErrPermissionDenied = errors.New("permission denied")

	// ErrNoEntity means the session's token has no Vault identity entity
	// (a root token, say), so it has no user scope: no user secrets. Org
	// operations still work. Log in with an auth method, such as userpass
	// or AppRole (Config.Auth), to get a token with an entity.
	ErrNoEntity = errors.New("token has no Vault identity entity")

	// ErrNoOrg means an org operation was called on a session with no
	// org. Set Config.Org, or EDGE_ORG (else EDGE_API_ORG) in the
	// environment, or derive a session with Session.WithOrg.
	ErrNoOrg = errors.New("session has no org")

	// ErrConflict means Update lost the race against concurrent updates
	// of the same secret more times than it retries, or a Rollback's write
	// met another write of the secret made after it read the latest
	// version (Rollback does not retry: nothing was written).
	ErrConflict = errors.New("too many concurrent updates")

	// ErrInvalidToken means Vault does not know a wrapping token: it is
	// malformed, was already unwrapped, or has expired. Ask the sender
	// for a new one.
	ErrInvalidToken = errors.New("wrapping token is not valid: malformed, already used or expired")

	// ErrWrongSecret means a wrapping token holds something other than
	// the secret the sender said: it may have been swapped in transit.
	ErrWrongSecret = errors.New("wrapping token does not hold the expected secret")

	// ErrUnavailable means Vault could not answer: it is sealed,
	// unreachable, answered 5xx, or refused the request for its rate
	// limit (429). The request had no effect, or for a read none that
	// matters; trying again later is safe.
	ErrUnavailable = errors.New("vault is unavailable")

	// ErrUnknownOutcome means a change may or may not have taken effect:
	// the request reached Vault (or may have), but its answer was lost (a
	// dropped connection, a 5xx, a cancelled context) and the SDK could
	// not find out afterwards what happened. Read the secret to see. An
	// error of this kind also matches ErrUnavailable when Vault was
	// unavailable. After Unwrap it means the token may have been redeemed
	// and its value lost with the answer.
	ErrUnknownOutcome = errors.New("outcome unknown: the answer from vault was lost")

	// ErrIdentityChanged means a session made with Config.Auth logged in
	// again and Vault gave it another identity entity (the credentials
	// now belong to someone else): its user operations fail rather than
	// reach another user's secrets. Make a new session.
	ErrIdentityChanged = errors.New("the session's login now yields another vault identity entity")

	// ErrConfig means the SDK could not talk to Vault as configured: the
	// vault client's configuration cannot be used (a CA file, VAULT_CACERT,
	// that does not exist or holds no certificate, an unreadable client
	// certificate, an address that is not a URL), or the TLS connection
	// to the address failed (a server certificate from an unknown CA, for
	// another hostname, or expired; plain HTTP to a TLS port or TLS to a
	// plain one; the server refusing the connection at the TLS level, as
	// for a missing client certificate). The request never reached Vault
	// and it was not retried: trying again does not help. Fix the address
	// (https:// or http://, the host name), the CA (VAULT_CACERT) or the
	// client certificate (VAULT_CLIENT_CERT, VAULT_CLIENT_KEY). The error
	// names the address and the cause.
	ErrConfig = errors.New("vault client configuration or TLS failure")

	// ErrUndecodable means Vault holds a value for the secret that this
	// SDK cannot decode: written by another tool, not a JSON object, or a
	// damaged exact-JSON envelope. Nothing was changed.
	ErrUndecodable = errors.New("stored value cannot be decoded")
)

// Error is the error returned by every operation of the SDK. It records
// the operation, the scope, the secret name and the cause, and matches
// one of the sentinel errors through errors.Is.
//
// Unwrap exposes the cause: for a failure Vault reported, that is
// vault/api's *api.ResponseError, so errors.As reaches the HTTP status.
// Error strings never contain a secret value or a token.
//
// Package admin's *admin.Error prints and matches the same way.
type Error struct {
	Op    string // "list", "read", "create", "update", "delete", "wrap", "versions", "read version", "rollback", "watch", "new session", "session", "with org", "lookup entity", "unwrap", "lookup wrapped", "verify wrapped", "encode" or "decode"
	Scope string // "user" or "org"; empty when no scope applies
	Name  string // secret name; empty for list and session operations, and when the name is invalid (the cause then quotes at most its first bytes)
	Kind  error  // one of the sentinel errors above, or nil when none applies
	Err   error  // the underlying cause; may be nil when Kind says it all
}

// Error returns "edge: OP SCOPE secret "NAME": KIND: CAUSE", leaving out
// the parts that are not set, with "(invalid)" in place of a name that
// is not valid and the cause on one line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("edge: ")
	b.WriteString(e.Op)
	if e.Scope != "" {
		b.WriteString(" " + e.Scope + " secret")
		if e.Op == "list" {
			b.WriteString("s")
		}
	}
	if e.Name != "" {
		b.WriteString(" " + errfmt.Quote(e.Name, ValidName(e.Name)))
	}
	errfmt.WriteTail(&b, e.Kind, e.Err)
	return b.String()
}

// GoString prints e for %#v as Error does for %v, its fields named, an
// invalid name left out (it may be a token pasted in the wrong place) and
// the causes as their one-line texts.
func (e *Error) GoString() string {
	name := e.Name
	if name != "" && !ValidName(name) {
		name = errfmt.Invalid
	}
	kind, cause := errfmt.Texts(e.Kind, e.Err)
	return fmt.Sprintf("&edge.Error{Op:%q, Scope:%q, Name:%q, Kind:%q, Err:%q}", e.Op, e.Scope, name, kind, cause)
}

// Unwrap returns the underlying cause, or Kind when there is none. The
// cause is seen through a view that hides every kind inside it (an
// *Error's Kind, a sentinel wrapped anywhere in the chain) from errors.Is,
// so that e matches its own Kind alone; everything else in the chain
// (vault/api's *api.ResponseError for errors.As, context.Canceled for
// errors.Is) is reached as before.
func (e *Error) Unwrap() error {
	if e.Err == nil {
		return e.Kind
	}
	return kindless{e.Err}
}

// Is reports whether target is e's Kind, so that errors.Is(err,
// ErrNotFound) holds for an *Error of that kind. An ErrUnknownOutcome
// error whose cause is Vault being unavailable also matches
// ErrUnavailable.
func (e *Error) Is(target error) bool {
	if errfmt.Is(e.Kind, target) {
		return true
	}
	return target == ErrUnavailable && e.Kind == ErrUnknownOutcome && vaulterr.Unavailable(e.Err)
}

// kindless is a view of a cause in which no kind can be matched: an
// *Error in the chain is skipped (its cause is seen, not its Kind), and
// errors.Is of any kind is false for every error in the chain. It is
// transparent otherwise: Error, errors.Is of anything else, errors.As,
// and the chain below.
type kindless struct{ err error }

func (k kindless) Error() string { return k.err.Error() }

// Is reports whether the error matches target, as errors.Is compares
// one link of a chain, unless target is a kind.
func (k kindless) Is(target error) bool {
	if isKind(target) {
		return false
	}
	if k.err == target {
		return true
	}
	if x, ok := k.err.(interface{ Is(error) bool }); ok {
		return x.Is(target)
	}
	return false
}

// As sets target to the error if it has target's type, as errors.As
// does with one link of a chain.
func (k kindless) As(target any) bool {
	if x, ok := k.err.(interface{ As(any) bool }); ok && x.As(target) {
		return true
	}
	v := reflect.ValueOf(target)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return false
	}
	if t := v.Elem().Type(); reflect.TypeOf(k.err).AssignableTo(t) {
		v.Elem().Set(reflect.ValueOf(k.err))
		return true
	}
	return false
}

// Unwrap returns the views of the errors k's error wraps.
func (k kindless) Unwrap() []error {
	var next []error
	switch x := k.err.(type) {
	case *Error:
		next = []error{x.Err} // not x.Unwrap: that would be the kind, without a cause
	case interface{ Unwrap() error }:
		next = []error{x.Unwrap()}
	case interface{ Unwrap() []error }:
		next = x.Unwrap()
	}
	views := next[:0:0]
	for _, err := range next {
		if err != nil {
			views = append(views, kindless{err})
		}
	}
	return views
}

// isKind reports whether err is one of the sentinel kinds.
func isKind(err error) bool {
	for _, s := range sentinels {
		if err == s.err {
			return true
		}
	}
	return false
}

// kindOf classifies a failure vault/api reported: a configuration or TLS
// failure (see vaulterr.IsTLSOrConfig) is ErrConfig; 403 is
// ErrPermissionDenied; a 5xx, a 429 or a network failure is
// ErrUnavailable; anything else (a cancelled context among them) has no
// kind.
func kindOf(err error) error {
	switch {
	case vaulterr.IsTLSOrConfig(err):
		return ErrConfig
	case vaulterr.Status(err) == 403:
		return ErrPermissionDenied
	case vaulterr.Unavailable(err):
		return ErrUnavailable
	}
	return nil
}

// readKindOf classifies the failure of a read of one secret's data or
// metadata, where Vault's 404 means the secret is missing, deleted or
// destroyed: ErrNotFound.
func readKindOf(err error) error {
	if vaulterr.Status(err) == 404 {
		return ErrNotFound
	}
	return kindOf(err)
}

// writeKindOf classifies the failure of a write: after an attempt whose
// answer was lost (lost), whatever came next, the write may have taken
// effect: ErrUnknownOutcome.
func writeKindOf(err error, lost bool) error {
	if lost {
		return ErrUnknownOutcome
	}
	return kindOf(err)
}

// decodeKind classifies a failure to decode what Vault holds:
// ErrUndecodable, or no kind.
func decodeKind(err error) error {
	if errors.Is(err, ErrUndecodable) {
		return ErrUndecodable
	}
	return nil
}

// sentinels names every sentinel error, for log records.
var sentinels = []struct {
	name string
	err  error
}{
	{"ErrNotFound", ErrNotFound}, {"ErrAlreadyExists", ErrAlreadyExists}, {"ErrBadEntry", ErrBadEntry},
	{"ErrPermissionDenied", ErrPermissionDenied}, {"ErrNoEntity", ErrNoEntity}, {"ErrNoOrg", ErrNoOrg},
	{"ErrConflict", ErrConflict}, {"ErrInvalidToken", ErrInvalidToken}, {"ErrWrongSecret", ErrWrongSecret},
	{"ErrUnknownOutcome", ErrUnknownOutcome}, {"ErrUnavailable", ErrUnavailable},
	{"ErrIdentityChanged", ErrIdentityChanged}, {"ErrUndecodable", ErrUndecodable}, {"ErrConfig", ErrConfig},
}

// outcome names what an operation came to: "ok", the name of the
// sentinel err matches, "canceled", "deadline exceeded" or "error".
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline exceeded"
	}
	return "error"
}
