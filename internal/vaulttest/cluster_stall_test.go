//go:build unix

package vaulttest

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testLeaderThroughStalls stalls the whole devvault process of cluster s as
// a loaded machine does (its nodes share the process): five times stopped
// for 1.2 s and running for 0.1 s. The active node must stay active without
// losing its leadership once (sys/leader's active_time unchanged). With a
// Raft performance multiplier of 2, whose leader lease was 1 s, the leader
// stepped down after such stalls and the cluster was left without an
// active node while it held elections.
func testLeaderThroughStalls(t *testing.T, s *Server) {
	ctx := context.Background()
	active, err := s.ActiveAddr(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, active)
	before, err := apiClient(t, active, s.RootToken).Sys().LeaderWithContext(ctx)
	require.NoError(t, err)
	require.True(t, before.IsSelf)

	pid := s.cmd.Process.Pid
	for range 5 {
		require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
		time.Sleep(1200 * time.Millisecond)
		require.NoError(t, syscall.Kill(pid, syscall.SIGCONT))
		time.Sleep(100 * time.Millisecond)
	}
	// A leader that lost its lease steps down at its next lease check, at
	// most a lease after the last stall; there is no event to wait for
	// when it keeps its leadership.
	time.Sleep(time.Second)

	now, err := s.ActiveAddr(ctx)
	require.NoError(t, err)
	assert.Equal(t, active, now, "active node after the stalls")
	after, err := apiClient(t, active, s.RootToken).Sys().LeaderWithContext(ctx)
	require.NoError(t, err)
	assert.True(t, after.IsSelf, "node %s is still the leader", active)
	assert.True(t, before.ActiveTime.Equal(after.ActiveTime), "the active node lost its leadership in between: active since %v, was since %v", after.ActiveTime, before.ActiveTime)
}
