//go:build !unix

package vaulttest

import "testing"

// testLeaderThroughStalls needs SIGSTOP and SIGCONT to stall devvault.
func testLeaderThroughStalls(t *testing.T, _ *Server) {
	t.Skip("stalls devvault with SIGSTOP, Unix only")
}
