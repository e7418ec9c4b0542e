package edge

import "github.com/edgesdk/edge/internal/names"

// MaxNameLength is the longest secret or org name accepted, in bytes.
const MaxNameLength = names.MaxNameLength

// MaxPathLength is the longest mount or prefix accepted, in bytes.
const MaxPathLength = names.MaxPathLength

// ValidName reports whether name is a valid secret or org name: 1 to
// MaxNameLength ASCII letters, digits, '-' and '_'.
func ValidName(name string) bool {
	return checkName(name) == nil
}

// ValidPath reports whether p is a valid mount or prefix: one or more
// '/'-separated segments, each a valid name (see ValidName), and at most
// MaxPathLength bytes in all. Session (Config.Mount and Config.Prefix),
// Origin and package admin apply this one rule.
func ValidPath(p string) bool {
	return checkPath(p) == nil
}

// CheckPath returns nil if p is a valid mount or prefix (see ValidPath),
// and otherwise an error saying why. The error quotes at most a few bytes
// of p, never all of it.
func CheckPath(p string) error {
	return checkPath(p)
}

// checkName explains why name is not a valid secret or org name (see
// names.Check: the error never holds the whole name).
func checkName(name string) error { return names.Check(name) }

// checkPath explains why p is not a valid mount or prefix (see
// names.CheckPath: the error never holds the whole path).
func checkPath(p string) error { return names.CheckPath(p) }
