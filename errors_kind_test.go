package edge_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
)

// kinds are the sentinels that say what happened (doc.go, errors.go):
// an error matches at most one of them, the one pairing allowed being
// ErrUnknownOutcome with ErrUnavailable.
var kinds = []struct {
	name string
	err  error
}{
	{"ErrNotFound", edge.ErrNotFound}, {"ErrAlreadyExists", edge.ErrAlreadyExists}, {"ErrBadEntry", edge.ErrBadEntry},
	{"ErrPermissionDenied", edge.ErrPermissionDenied}, {"ErrConflict", edge.ErrConflict}, {"ErrInvalidToken", edge.ErrInvalidToken},
	{"ErrWrongSecret", edge.ErrWrongSecret}, {"ErrUnknownOutcome", edge.ErrUnknownOutcome}, {"ErrNoEntity", edge.ErrNoEntity},
	{"ErrNoOrg", edge.ErrNoOrg}, {"ErrIdentityChanged", edge.ErrIdentityChanged}, {"ErrUndecodable", edge.ErrUndecodable},
	{"ErrUnavailable", edge.ErrUnavailable}, {"ErrConfig", edge.ErrConfig},
}

// matchedKinds names the kinds err matches.
func matchedKinds(err error) []string {
	var names []string
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			names = append(names, k.name)
		}
	}
	return names
}

// assertOneKind checks the one-kind rule on err.
func assertOneKind(t *testing.T, err error) {
	t.Helper()
	names := matchedKinds(err)
	switch {
	case len(names) <= 1:
	case len(names) == 2 && names[0] == "ErrUnknownOutcome" && names[1] == "ErrUnavailable":
	default:
		t.Errorf("error matches %v, more than one kind: %v", names, err)
	}
}

// TestErrorMatchesOneKind (issue 19, defect 5): an *Error matches its own
// Kind alone, whatever its cause holds: an update whose answer was lost
// and which then found the secret gone wraps an *Error of kind
// ErrNotFound in an ErrUnknownOutcome, and matched both (the CLI then
// exited 3 for an update that may have been applied). The rest of the
// chain is reached as before: context errors through errors.Is, Vault's
// answer and the inner *Error through errors.As. The fault matrix and
// the access tests check the rule on every error they get
// (checkFaultError).
func TestErrorMatchesOneKind(t *testing.T) {
	t.Parallel()
	vaultErr := &api.ResponseError{StatusCode: 404, Errors: []string{"not found"}}
	inner := &edge.Error{Op: "update", Scope: "org", Name: "db", Kind: edge.ErrNotFound, Err: vaultErr}
	tests := []struct {
		name       string
		err        error
		want       []string
		wantIs     []error // also matched, outside the kinds
		wantStatus int     // reached through errors.As
	}{
		{"lost update, then not found", &edge.Error{Op: "update", Kind: edge.ErrUnknownOutcome, Err: fmt.Errorf("the answer was lost and the secret could not be read afterwards: %w", inner)}, []string{"ErrUnknownOutcome"}, nil, 404},
		{"lost update, then unavailable", &edge.Error{Op: "update", Kind: edge.ErrUnknownOutcome, Err: fmt.Errorf("lost: %w", io.ErrUnexpectedEOF)}, []string{"ErrUnknownOutcome", "ErrUnavailable"}, []error{io.ErrUnexpectedEOF}, 0},
		{"refused, a sentinel in the cause", &edge.Error{Op: "wrap", Kind: edge.ErrPermissionDenied, Err: fmt.Errorf("why: %w", edge.ErrBadEntry)}, []string{"ErrPermissionDenied"}, nil, 0},
		{"joined causes", &edge.Error{Op: "read", Kind: edge.ErrNotFound, Err: errors.Join(inner, &edge.Error{Kind: edge.ErrConflict}, context.Canceled)}, []string{"ErrNotFound"}, []error{context.Canceled}, 404},
		{"no kind, nested kinds", &edge.Error{Op: "read", Err: fmt.Errorf("x: %w", inner)}, nil, nil, 404},
		{"no cause", &edge.Error{Op: "read", Kind: edge.ErrNotFound}, []string{"ErrNotFound"}, nil, 0},
		{"cancelled", &edge.Error{Op: "read", Err: fmt.Errorf("%w", context.Canceled)}, nil, []error{context.Canceled}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, matchedKinds(tt.err))
			assertOneKind(t, tt.err)
			for _, target := range tt.wantIs {
				assert.ErrorIs(t, tt.err, target)
			}
			var re *api.ResponseError
			if tt.wantStatus != 0 {
				require.ErrorAs(t, tt.err, &re)
				assert.Equal(t, tt.wantStatus, re.StatusCode)
			} else {
				assert.NotErrorAs(t, tt.err, &re)
			}
			var e *edge.Error
			require.ErrorAs(t, tt.err, &e)
			assert.Same(t, tt.err, e, "errors.As finds the outer *Error")
		})
	}
}
