//go:build !unix

package vaulttest

import "os"

// ownerChecks is whether files have Unix owners and modes to check: not
// here, where modes do not say who may write (Windows ACLs); the cache
// directory is then the user's profile's, private by default.
const ownerChecks = false

func ownerOf(os.FileInfo) (int, bool) { return 0, false }
