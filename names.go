package edge

import (
	"errors"
	"fmt"
	"strings"
)

// MaxNameLength is the longest secret or org name accepted.
const MaxNameLength = 256

// ValidName reports whether name is a valid secret or org name: 1 to
// MaxNameLength ASCII letters, digits, '-' and '_'.
func ValidName(name string) bool {
	return checkName(name) == nil
}

// checkName explains why name is not a valid secret or org name. The
// rule keeps every name a single, literal path segment: no '/', no '.',
// no '%', so neither vault/api's path.Join nor Vault itself can turn it
// into another path.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("name is empty")
	case len(name) > MaxNameLength:
		return fmt.Errorf("name is %d bytes long, more than %d", len(name), MaxNameLength)
	}
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i]) {
			return fmt.Errorf("byte %d is %q: only ASCII letters, digits, '-' and '_' are allowed", i, name[i:i+1])
		}
	}
	return nil
}

func nameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// checkPath explains why p is not a valid mount or prefix: one or more
// '/'-separated segments, each a valid name.
func checkPath(p string) error {
	if p == "" {
		return errors.New("path is empty")
	}
	for _, seg := range strings.Split(p, "/") {
		if err := checkName(seg); err != nil {
			return fmt.Errorf("path %q: %w", p, err)
		}
	}
	return nil
}
