package edge

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// md builds KV v2 metadata whose current version is the last of
// versions, numbered from first.
func md(first uint64, versions ...kvVersionMetadata) *kvMetadata {
	m := &kvMetadata{}
	m.Data.Versions = map[string]kvVersionMetadata{}
	for i, v := range versions {
		m.Data.Versions[strconv.FormatUint(first+uint64(i), 10)] = v
	}
	m.Data.CurrentVersion = first + uint64(len(versions)) - 1
	return m
}

var (
	watchNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	t1       = watchNow.Add(-3 * time.Hour)
	t2       = watchNow.Add(-2 * time.Hour)
	t3       = watchNow.Add(-time.Hour)
)

func at(t time.Time) string { return t.Format(time.RFC3339Nano) }

func live(t time.Time) kvVersionMetadata { return kvVersionMetadata{CreatedTime: at(t)} }

func deletedAt(c, d time.Time) kvVersionMetadata {
	return kvVersionMetadata{CreatedTime: at(c), DeletionTime: at(d)}
}

// TestObserve: the Change a poll's metadata shows, flags and Time, by
// the metadata's times; a deletion time still to come is a live version.
func TestObserve(t *testing.T) {
	tests := []struct {
		name string
		meta *kvMetadata
		want Change
	}{
		{"no metadata", nil, Change{Deleted: true}},
		{"metadata without versions", &kvMetadata{}, Change{Deleted: true}},
		{"live", md(1, live(t1), live(t2)), Change{Version: 2, Time: t2}},
		{"latest deleted", md(1, live(t1), deletedAt(t2, t3)), Change{Version: 2, Deleted: true, Time: t3}},
		{"deletion scheduled later", md(1, deletedAt(t1, watchNow.Add(time.Minute))), Change{Version: 1, Time: t1}},
		{"deletion time now", md(1, deletedAt(t1, watchNow)), Change{Version: 1, Deleted: true, Time: watchNow}},
		{"destroyed", md(4, kvVersionMetadata{CreatedTime: at(t1), Destroyed: true}), Change{Version: 4, Destroyed: true}},
		{"deleted then destroyed", md(1, kvVersionMetadata{CreatedTime: at(t1), DeletionTime: at(t2), Destroyed: true}), Change{Version: 1, Deleted: true, Destroyed: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := observe(tt.meta, watchNow)
			require.NoError(t, err)
			assert.Equal(t, tt.want.Version, got.Version)
			assert.Equal(t, tt.want.Deleted, got.Deleted, "Deleted")
			assert.Equal(t, tt.want.Destroyed, got.Destroyed, "Destroyed")
			assert.True(t, tt.want.Time.Equal(got.Time), "Time %v, want %v", got.Time, tt.want.Time)
		})
	}

	t.Run("undecodable", func(t *testing.T) {
		missing := md(1, live(t1))
		missing.Data.CurrentVersion = 2
		for _, m := range []*kvMetadata{missing, md(1, kvVersionMetadata{CreatedTime: "yesterday"}), md(1, kvVersionMetadata{CreatedTime: at(t1), DeletionTime: "soon"})} {
			_, _, err := observe(m, watchNow)
			assert.Error(t, err)
		}
	})
}

// TestObserveVaultClock: whether the latest version's deletion time has
// come is decided by Vault's clock, the Date of its answer (truncated to
// the second), never by the local clock, 5 s behind or ahead of Vault's:
// a deletion up to a second after the Date has come (a delete in the
// second of the poll), one later has not. Without a Date, the local
// clock decides.
func TestObserveVaultClock(t *testing.T) {
	for _, skew := range []time.Duration{5 * time.Second, -5 * time.Second} {
		date := watchNow.Add(skew) // Vault's clock; watchNow is the local one
		for _, tt := range []struct {
			name     string
			deletion time.Time
			deleted  bool
		}{
			{"deleted 3 s before the Date", date.Add(-3 * time.Second), true},
			{"deleted at the Date", date, true},
			{"deleted in the Date's second", date.Add(999 * time.Millisecond), true},
			{"deletion at the Date's next second", date.Add(time.Second), true},
			{"deletion scheduled 1.5 s after the Date", date.Add(1500 * time.Millisecond), false},
			{"deletion scheduled 3 s after the Date", date.Add(3 * time.Second), false},
		} {
			t.Run(fmt.Sprintf("%s/skew %v", tt.name, skew), func(t *testing.T) {
				meta := md(1, deletedAt(t1, tt.deletion))
				meta.date = date
				_, got, err := observe(meta, watchNow)
				require.NoError(t, err)
				assert.Equal(t, tt.deleted, got.Deleted)
			})
		}
	}
	t.Run("no Date: the local clock", func(t *testing.T) {
		_, got, err := observe(md(1, deletedAt(t1, watchNow.Add(500*time.Millisecond))), watchNow)
		require.NoError(t, err)
		assert.False(t, got.Deleted)
	})
}

// TestRecreated: Recreated is set when a readable version follows a
// deletion, seen by the versions' creation times where the numbers
// alone cannot show it (Delete, then Create, between two polls).
func TestRecreated(t *testing.T) {
	tests := []struct {
		name    string
		was, is *kvMetadata
		want    bool
	}{
		{"created", nil, md(1, live(t1)), true},
		{"updated", md(1, live(t1)), md(1, live(t1), live(t2)), false},
		{"deleted and created again, same number", md(1, live(t1)), md(1, live(t2)), true},
		{"deleted and created again, updated past the old number", md(1, live(t1)), md(1, live(t2), live(t3)), true},
		{"deleted and created again, lower number", md(1, live(t1), live(t2), live(t2)), md(1, live(t3)), true},
		{"new version after a deleted latest", md(1, deletedAt(t1, t2)), md(1, deletedAt(t1, t2), live(t3)), true},
		{"new version after a destroyed latest", md(1, kvVersionMetadata{CreatedTime: at(t1), Destroyed: true}), md(1, kvVersionMetadata{CreatedTime: at(t1), Destroyed: true}, live(t3)), true},
		{"undeleted", md(1, deletedAt(t1, t2)), md(1, live(t1)), false},
		{"deleted", md(1, live(t1)), nil, false},
		{"destroyed", md(1, live(t1)), md(1, kvVersionMetadata{CreatedTime: at(t1), Destroyed: true}), false},
		{"old version no longer kept", md(1, live(t1)), md(11, live(t2), live(t3)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			was, _, err := observe(tt.was, watchNow)
			require.NoError(t, err)
			is, _, err := observe(tt.is, watchNow)
			require.NoError(t, err)
			require.NotEqual(t, was, is, "the states differ")
			assert.Equal(t, tt.want, recreated(was, is, tt.is))
		})
	}
}

// TestWatchWait: each wait is within [0.9, 1.1] of the interval, doubled
// per failed poll in a row up to 8 intervals.
func TestWatchWait(t *testing.T) {
	const interval = 10 * time.Second
	for failures, base := range []time.Duration{interval, 2 * interval, 4 * interval, 8 * interval, 8 * interval, 8 * interval} {
		lo, hi := base*9/10, base*11/10
		var seen []time.Duration
		for range 200 {
			d := watchWait(interval, failures)
			seen = append(seen, d)
			require.True(t, d >= lo && d <= hi, "%d failures: wait %v outside [%v, %v]", failures, d, lo, hi)
		}
		assert.NotEqual(t, seen[0], seen[1], "jittered")
	}
	assert.LessOrEqual(t, watchWait(interval, 1000), interval*maxWatchBackoff*11/10, "no overflow")
}
