// Package names holds the rules for secret and org names and for mount
// and prefix paths: the one place they are checked. Package edge's
// ValidName, ValidPath and CheckPath, its scopes (before any request) and
// package kvjson's list decoding (which keeps only valid names) call it.
//
// Invariants a caller may rely on: a name that Check accepts is exactly
// one literal path segment (no '/', '.', '%' or anything escaping would
// change), so that joining it below a scope, cleaning or escaping the
// result changes nothing; a path that CheckPath accepts is a clean,
// relative path of such segments. Neither error ever holds the whole
// name or path, which may be a token or a password pasted in the wrong
// place: at most its first few valid bytes.
package names

import (
	"errors"
	"fmt"
	"strconv"
)

// MaxNameLength is the longest secret or org name accepted, in bytes.
const MaxNameLength = 256

// MaxPathLength is the longest mount or prefix accepted, in bytes.
const MaxPathLength = 256

// Valid reports whether name is a valid secret or org name: 1 to
// MaxNameLength ASCII letters, digits, '-' and '_'.
func Valid(name string) bool {
	return Check(name) == nil
}

// Check explains why name is not a valid secret or org name, or returns
// nil. The rule keeps every name a single, literal path segment: no '/',
// no '.', no '%', so neither vault/api's path.Join nor Vault itself can
// turn it into another path.
//
// The error never holds the whole name, which may be a token or a
// password pasted in the wrong place: at most its first few valid bytes
// (see excerpt).
func Check(name string) error {
	switch {
	case name == "":
		return errors.New("name is empty")
	case len(name) > MaxNameLength:
		return fmt.Errorf("name is %d bytes long, more than %d", len(name), MaxNameLength)
	}
	for i := 0; i < len(name); i++ {
		if !NameByte(name[i]) {
			return fmt.Errorf("name %s has %s at byte %d: only ASCII letters, digits, '-' and '_' are allowed", excerpt(name, i), describeByte(name[i]), i)
		}
	}
	return nil
}

// NameByte reports whether a name may hold the byte c: an ASCII letter,
// digit, '-' or '_'.
func NameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// CheckPath explains why p is not a valid mount or prefix, or returns
// nil: a valid one is one or more '/'-separated segments, each a valid
// name (see Check), and at most MaxPathLength bytes in all. Like Check's,
// its error never holds the whole path.
func CheckPath(p string) error {
	switch {
	case p == "":
		return errors.New("path is empty")
	case len(p) > MaxPathLength:
		return fmt.Errorf("path is %d bytes long, more than %d", len(p), MaxPathLength)
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '/':
			if i == 0 || i == len(p)-1 || p[i-1] == '/' {
				return fmt.Errorf("path %s has an empty segment: '/' at byte %d starts, ends or doubles it", excerpt(p, i), i)
			}
		case !NameByte(c):
			return fmt.Errorf("path %s has %s at byte %d: only '/'-separated ASCII letters, digits, '-' and '_' are allowed", excerpt(p, i), describeByte(c), i)
		}
	}
	return nil
}

// excerptLength is the most bytes of an invalid name or path an error
// quotes.
const excerptLength = 8

// excerpt describes s, which is invalid at byte bad, for an error
// message: at most its first excerptLength bytes before bad (bytes a name
// or path may hold, so printable ASCII), then "..." and its length, as in
// `"hvs"... (95 bytes)`; or only its length if bad is 0. It never quotes
// all of s, nor the byte at bad.
func excerpt(s string, bad int) string {
	n := min(bad, excerptLength)
	if n == 0 {
		return fmt.Sprintf("(%d bytes)", len(s))
	}
	return fmt.Sprintf("%s... (%d bytes)", strconv.Quote(s[:n]), len(s))
}

// describeByte names the byte c for an error message: quoted if it is
// printable ASCII or a common control character, in hex otherwise (a
// byte of a UTF-8 sequence or of invalid UTF-8).
func describeByte(c byte) string {
	if c < 0x80 {
		return strconv.QuoteRuneToASCII(rune(c)) // ' ', '/', '\n', '\x00'
	}
	return fmt.Sprintf("0x%02x (not ASCII)", c)
}
