package main

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/edgesdk/edge"
)

// TestExitCodes pins the exit codes: scripts branch on them, so a number
// never changes meaning.
func TestExitCodes(t *testing.T) {
	pinned := []struct {
		name string
		got  int
		want int
	}{
		{"ExitOK", ExitOK, 0},
		{"ExitError", ExitError, 1},
		{"ExitUsage", ExitUsage, 2},
		{"ExitNotFound", ExitNotFound, 3},
		{"ExitAlreadyExists", ExitAlreadyExists, 4},
		{"ExitBadEntry", ExitBadEntry, 5},
		{"ExitPermissionDenied", ExitPermissionDenied, 6},
		{"ExitInvalidToken", ExitInvalidToken, 7},
		{"ExitWrongSecret", ExitWrongSecret, 8},
		{"ExitUnavailable", ExitUnavailable, 9},
		{"ExitUnknownOutcome", ExitUnknownOutcome, 10},
		{"ExitConfig", ExitConfig, 11},
	}
	for _, p := range pinned {
		assert.Equal(t, p.want, p.got, p.name)
	}
	// The help's table lists each code once, in order.
	assert.Len(t, exitCodes, len(pinned))
	for i, e := range exitCodes {
		assert.Equal(t, pinned[i].want, e.code)
		assert.NotEmpty(t, e.text)
	}
}

// TestExitCodeOf maps every kind of failure to its exit code.
func TestExitCodeOf(t *testing.T) {
	sdk := func(kind, cause error) error {
		return &edge.Error{Op: "read", Scope: "user", Name: "x", Kind: kind, Err: cause}
	}
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"usage", usageErrorf("bad"), ExitUsage},
		{"input", inputErrorf("bad"), ExitBadEntry},
		{"token input", tokenErrorf("bad"), ExitInvalidToken},
		{"wrapped cli error", fmt.Errorf("context: %w", usageErrorf("bad")), ExitUsage},
		{"ErrNotFound", sdk(edge.ErrNotFound, nil), ExitNotFound},
		{"ErrAlreadyExists", sdk(edge.ErrAlreadyExists, nil), ExitAlreadyExists},
		{"ErrBadEntry", sdk(edge.ErrBadEntry, nil), ExitBadEntry},
		{"ErrPermissionDenied", sdk(edge.ErrPermissionDenied, nil), ExitPermissionDenied},
		{"ErrInvalidToken", sdk(edge.ErrInvalidToken, nil), ExitInvalidToken},
		{"ErrWrongSecret", sdk(edge.ErrWrongSecret, nil), ExitWrongSecret},
		{"ErrUnavailable", sdk(edge.ErrUnavailable, nil), ExitUnavailable},
		{"ErrUnknownOutcome", sdk(edge.ErrUnknownOutcome, nil), ExitUnknownOutcome},
		{"ErrConfig", sdk(edge.ErrConfig, nil), ExitConfig},
		{"a deadline", sdk(nil, context.DeadlineExceeded), ExitUnavailable},
		{"a write's deadline", sdk(edge.ErrUnknownOutcome, context.DeadlineExceeded), ExitUnknownOutcome},
		{"ErrNoEntity", sdk(edge.ErrNoEntity, nil), ExitError},
		{"ErrConflict", sdk(edge.ErrConflict, nil), ExitError},
		{"ErrUndecodable", sdk(edge.ErrUndecodable, nil), ExitError},
		{"ErrIdentityChanged", sdk(edge.ErrIdentityChanged, nil), ExitError},
		{"cancelled", sdk(nil, context.Canceled), ExitError},
		{"anything else", errors.New("boom"), ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, exitCode(tt.err))
		})
	}
}

// TestExitCodeUnknownOutcomeFirst gives every kind, wrapped in an
// ErrUnknownOutcome error as an update's lost answer once was, exit 10:
// the change may have happened, whatever the cause says it found.
func TestExitCodeUnknownOutcomeFirst(t *testing.T) {
	kinds := []struct {
		name string
		kind error
	}{
		{"ErrNotFound", edge.ErrNotFound},
		{"ErrAlreadyExists", edge.ErrAlreadyExists},
		{"ErrBadEntry", edge.ErrBadEntry},
		{"ErrPermissionDenied", edge.ErrPermissionDenied},
		{"ErrNoEntity", edge.ErrNoEntity},
		{"ErrNoOrg", edge.ErrNoOrg},
		{"ErrConflict", edge.ErrConflict},
		{"ErrInvalidToken", edge.ErrInvalidToken},
		{"ErrWrongSecret", edge.ErrWrongSecret},
		{"ErrUnavailable", edge.ErrUnavailable},
		{"ErrIdentityChanged", edge.ErrIdentityChanged},
		{"ErrUndecodable", edge.ErrUndecodable},
		{"ErrConfig", edge.ErrConfig},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			cause := &edge.Error{Op: "update", Scope: "user", Name: "x", Kind: k.kind}
			err := &edge.Error{Op: "update", Scope: "user", Name: "x", Kind: edge.ErrUnknownOutcome, Err: cause}
			assert.Equal(t, ExitUnknownOutcome, exitCode(err))
			assert.Equal(t, ExitUnknownOutcome, exitCode(fmt.Errorf("updating: %w", err)), "wrapped once more")
		})
	}
}
