// Package vaulterr reads the errors vault/api returns, for the edge and
// admin packages: the HTTP status, Vault's messages, and a one-line
// description that never includes a raw response body.
package vaulterr

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/api"
)

// Status returns the HTTP status of the vault/api *ResponseError in err's
// chain, or 0 if there is none.
func Status(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// Mentions reports whether one of Vault's error messages in err's chain
// contains s, ignoring case.
func Mentions(err error, s string) bool {
	var re *api.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	s = strings.ToLower(s)
	for _, m := range re.Errors {
		if strings.Contains(strings.ToLower(m), s) {
			return true
		}
	}
	return false
}

// Describe renders err on one line. vault/api's ResponseError prints
// several lines, including the request URL; the status and Vault's own
// messages are what a reader needs, in the words of any error wrapping
// it. A raw body (a proxy's HTML page, say) is left out.
func Describe(err error) string {
	var re *api.ResponseError
	if !errors.As(err, &re) {
		return OneLine(err.Error())
	}
	msg := "vault returned " + strconv.Itoa(re.StatusCode)
	if IsPlainToTLS(re) {
		// The raw body is Go's own text: the one cause there is.
		msg = "the server answered 400: client sent an HTTP request to an HTTPS server (use https:// in the address)"
		if o := origin(re.URL); o != "" {
			msg = o + ": " + msg
		}
	} else if !re.RawError && len(re.Errors) > 0 {
		msg += ": " + strings.Join(re.Errors, "; ")
	}
	return OneLine(strings.Replace(err.Error(), re.Error(), msg, 1))
}

// OneLine collapses the runs of white space in s, newlines included
// (Vault sends messages such as "1 error occurred:\n\t* permission
// denied\n\n"), into single spaces.
func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// casMismatch is part of Vault's KV v2 answer to a write whose cas
// parameter does not match the current version.
const casMismatch = "check-and-set parameter did not match the current version"

// IsCASMismatch reports whether err is Vault's KV v2 refusal of a write
// whose check-and-set version is not the secret's current version.
func IsCASMismatch(err error) bool { return Mentions(err, casMismatch) }

// IsSealed reports whether err is a sealed Vault's answer.
func IsSealed(err error) bool { return Status(err) == 503 && Mentions(err, "Vault is sealed") }

// Unavailable reports whether err says Vault could not answer: a 5xx, a
// 429 (rate limit quota), or a failure to reach it or to get its answer
// (a network error). A cancelled or expired context is the caller's, not
// Vault's: it is not; nor is a failure IsTLSOrConfig reports, where
// Vault may be up but the client cannot talk to it as configured.
func Unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || IsTLSOrConfig(err) {
		return false
	}
	if s := Status(err); s != 0 {
		return s >= 500 || s == 429
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return false // a local file, not Vault
	}
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// IsWrapRefused reports whether err is Vault's 400 refusal of a request's
// response-wrapping TTL header.
func IsWrapRefused(err error) bool { return Status(err) == 400 && Mentions(err, "wrap") }

// IsKVUpgrading reports whether err is a KV engine's answer while it
// upgrades its storage after being enabled ("Upgrading from non-versioned
// to versioned data...").
func IsKVUpgrading(err error) bool { return Mentions(err, "upgrad") }

// IsLoginRefused reports whether err is Vault's refusal of a login's
// credentials: a 400 or 403, or the 500 that Vault 1.14 answers for a
// secret id AppRole does not know ("invalid secret id") and for a wrong
// userpass password ("invalid username or password").
func IsLoginRefused(err error) bool {
	switch Status(err) {
	case 400, 403:
		return true
	case 500:
		return Mentions(err, "invalid secret id") || Mentions(err, "invalid role id") || Mentions(err, "invalid username or password")
	}
	return false
}
