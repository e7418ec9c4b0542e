package edge

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWrapTTLParam(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ttl  time.Duration
		want string
	}{
		{time.Nanosecond, "1s"},
		{time.Second, "1s"},
		{1500 * time.Millisecond, "2s"},
		{5 * time.Minute, "300s"},
		{math.MaxInt64, "9223372037s"},
	}
	for _, tt := range tests {
		t.Run(tt.ttl.String(), func(t *testing.T) {
			got, err := wrapTTLParam(tt.ttl)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	for _, ttl := range []time.Duration{0, -time.Nanosecond, math.MinInt64} {
		_, err := wrapTTLParam(ttl)
		assert.Error(t, err, ttl)
	}
}
