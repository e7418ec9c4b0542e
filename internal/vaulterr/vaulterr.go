// Package vaulterr reads the errors vault/api returns, for the edge and
// admin packages: the HTTP status, Vault's messages, and a one-line
// description that never includes a raw response body.
package vaulterr

import (
	"errors"
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
	if !re.RawError && len(re.Errors) > 0 {
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
