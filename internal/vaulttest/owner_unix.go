//go:build unix

package vaulttest

import (
	"os"
	"syscall"
)

// ownerChecks is whether files have Unix owners and modes to check.
const ownerChecks = true

// ownerOf returns the user id that owns the file fi describes.
func ownerOf(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
