// Package errfmt holds the one way the edge and admin packages print
// their errors and match them against sentinels, so that an *edge.Error
// and an *admin.Error read and behave alike:
//
//	edge: OP SCOPE secret "NAME": KIND: CAUSE
//	edge admin: OP (org "ORG", entity "ID"): OBJECT: KIND: CAUSE
//
// Each package writes its own head (what differs: the fields); the tail
// (": KIND: CAUSE"), the placeholder for a name that is not valid, the
// %#v texts, Unwrap and Is come from here.
package errfmt

import (
	"errors"
	"strconv"
	"strings"

	"github.com/edgesdk/edge/internal/vaulterr"
)

// Invalid stands in an error message for a name or id that is not
// valid: it may be anything, a token pasted in the wrong place among
// them, so it is never printed (the cause quotes at most its first
// bytes).
const Invalid = "(invalid)"

// Quote returns s quoted for an error message if valid, else Invalid.
func Quote(s string, valid bool) string {
	if valid {
		return strconv.Quote(s)
	}
	return Invalid
}

// WriteTail writes ": KIND: CAUSE" to b, leaving out the parts that are
// nil. The cause is written as one line, a vault/api error as "vault
// returned STATUS: MESSAGES".
func WriteTail(b *strings.Builder, kind, cause error) {
	k, c := Texts(kind, cause)
	if kind != nil {
		b.WriteString(": " + k)
	}
	if cause != nil {
		b.WriteString(": " + c)
	}
}

// Texts returns the texts of kind and cause as WriteTail writes them,
// "" for nil, for a GoString method.
func Texts(kind, cause error) (k, c string) {
	if kind != nil {
		k = kind.Error()
	}
	if cause != nil {
		c = vaulterr.Describe(cause)
	}
	return k, c
}

// Unwrap returns cause, or kind when there is no cause: what an error's
// Unwrap method exposes.
func Unwrap(kind, cause error) error {
	if cause != nil {
		return cause
	}
	return kind
}

// Is reports whether an error of kind matches target: target is kind,
// or a sentinel that kind itself matches through errors.Is (a sentinel
// may match a more general one). A nil kind matches nothing.
func Is(kind, target error) bool {
	return kind != nil && errors.Is(kind, target)
}
