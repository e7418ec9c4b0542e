//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos)

package vaulttest

import "context"

// lockFile is a no-op where flock(2) is not available: concurrent test
// binaries may then build devvault at the same time.
func lockFile(context.Context, string, func()) (func(), error) { return func() {}, nil }
