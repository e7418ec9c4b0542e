package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/edgesdk/edge"
)

// Exit codes. They are part of the command's interface, documented in
// --help and the README: scripts branch on them, so a number never
// changes meaning (TestExitCodes pins them).
const (
	ExitOK               = 0  // success
	ExitError            = 1  // any other failure
	ExitUsage            = 2  // bad command line or configuration, as Go's flag package exits
	ExitNotFound         = 3  // edge.ErrNotFound: no such secret
	ExitAlreadyExists    = 4  // edge.ErrAlreadyExists: create found the name taken
	ExitBadEntry         = 5  // edge.ErrBadEntry: invalid name, value or input, refused before any request
	ExitPermissionDenied = 6  // edge.ErrPermissionDenied: Vault refused the login, the token or the request
	ExitInvalidToken     = 7  // edge.ErrInvalidToken: the wrapping token is malformed, used or expired
	ExitWrongSecret      = 8  // edge.ErrWrongSecret: verify found the token holds another secret
	ExitUnavailable      = 9  // edge.ErrUnavailable: Vault is unreachable, sealed, overloaded or too slow; try again
	ExitUnknownOutcome   = 10 // edge.ErrUnknownOutcome: a change may or may not have happened; read to see
	ExitConfig           = 11 // edge.ErrConfig: the address, TLS or client configuration cannot work; fix it, retrying does not help
)

// exitCodes is the table printed by --help, in order.
var exitCodes = []struct {
	code int
	text string
}{
	{ExitOK, "success"},
	{ExitError, "any other failure"},
	{ExitUsage, "usage: bad flags or arguments, a value given as an argument, missing configuration"},
	{ExitNotFound, "not found: no such secret"},
	{ExitAlreadyExists, "already exists: create found the name taken"},
	{ExitBadEntry, "bad entry: invalid name, value (invalid JSON, empty, not an object) or wrap TTL; nothing changed"},
	{ExitPermissionDenied, "permission denied: Vault refused the login, the token or the request"},
	{ExitInvalidToken, "invalid wrapping token: malformed, already used or expired"},
	{ExitWrongSecret, "wrong secret: the wrapping token holds another secret than verify expects"},
	{ExitUnavailable, "Vault unavailable: unreachable, sealed, 5xx, rate limited or timed out; nothing changed"},
	{ExitUnknownOutcome, "unknown outcome: the answer was lost, the change may have happened; read to see"},
	{ExitConfig, "configuration or TLS: bad CA file, untrusted server certificate, http/https mismatch, client certificate refused; fix it, retrying does not help"},
}

// cliError is a failure edge-secrets finds itself, before or without a
// request to Vault, with the exit code it ends with. Its message never
// holds a secret value or a token.
type cliError struct {
	code int
	msg  string
}

func (e *cliError) Error() string { return e.msg }

// usageErrorf is a usage error: exit code 2.
func usageErrorf(format string, args ...any) error {
	return &cliError{code: ExitUsage, msg: fmt.Sprintf(format, args...)}
}

// inputErrorf is a value refused before any request: exit code 5, as the
// SDK's ErrBadEntry.
func inputErrorf(format string, args ...any) error {
	return &cliError{code: ExitBadEntry, msg: fmt.Sprintf(format, args...)}
}

// configErrorf is a configuration failure edge-secrets finds itself
// (vault/api's environment it cannot read): exit code 11, as the SDK's
// ErrConfig.
func configErrorf(format string, args ...any) error {
	return &cliError{code: ExitConfig, msg: fmt.Sprintf(format, args...)}
}

// tokenErrorf is a wrapping token refused before any request: exit code
// 7, as the SDK's ErrInvalidToken.
func tokenErrorf(format string, args ...any) error {
	return &cliError{code: ExitInvalidToken, msg: fmt.Sprintf(format, args...)}
}

// exitCode returns the exit code err ends the command with. An error
// that matches edge.ErrUnknownOutcome is exit 10 whatever else it
// matches.
func exitCode(err error) int {
	var ce *cliError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ce):
		return ce.code
	// First: a change may have happened, whatever else the error says
	// (an update's lost answer may wrap what a later read found), and
	// before ErrUnavailable, which an unknown outcome may match too.
	case errors.Is(err, edge.ErrUnknownOutcome):
		return ExitUnknownOutcome
	case errors.Is(err, edge.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, edge.ErrAlreadyExists):
		return ExitAlreadyExists
	case errors.Is(err, edge.ErrBadEntry):
		return ExitBadEntry
	case errors.Is(err, edge.ErrPermissionDenied):
		return ExitPermissionDenied
	case errors.Is(err, edge.ErrInvalidToken):
		return ExitInvalidToken
	case errors.Is(err, edge.ErrWrongSecret):
		return ExitWrongSecret
	case errors.Is(err, edge.ErrConfig):
		return ExitConfig
	case errors.Is(err, edge.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return ExitUnavailable
	}
	return ExitError
}
