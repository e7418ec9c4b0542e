package edge

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestKVVersion: the version and creation time of a KV v2 read's body,
// zero for whatever the body does not hold; never a failure.
func TestKVVersion(t *testing.T) {
	t.Parallel()
	created := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	tests := []struct {
		name        string
		body        string
		wantVersion int
		wantCreated time.Time
	}{
		{"kv v2 read", `{"data":{"data":{"v":"x"},"metadata":{"created_time":"2024-05-06T07:08:09.123456789Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":3}}}`, 3, created},
		{"no metadata", `{"data":{"data":{"v":"x"}}}`, 0, time.Time{}},
		{"null metadata", `{"data":{"data":{"v":"x"},"metadata":null}}`, 0, time.Time{}},
		{"version a string", `{"data":{"data":{},"metadata":{"version":"3","created_time":"2024-05-06T07:08:09.123456789Z"}}}`, 0, created},
		{"version negative", `{"data":{"data":{},"metadata":{"version":-1}}}`, 0, time.Time{}},
		{"version too large", `{"data":{"data":{},"metadata":{"version":1e30}}}`, 0, time.Time{}},
		{"created time not a time", `{"data":{"data":{},"metadata":{"version":2,"created_time":"yesterday"}}}`, 2, time.Time{}},
		{"created time a number", `{"data":{"data":{},"metadata":{"version":2,"created_time":5}}}`, 2, time.Time{}},
		{"metadata not an object", `{"data":{"data":{},"metadata":[1]}}`, 0, time.Time{}},
		{"not JSON", `{"data":`, 0, time.Time{}},
		{"empty", ``, 0, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			version, created := kvVersion([]byte(tt.body))
			assert.Equal(t, tt.wantVersion, version)
			assert.True(t, tt.wantCreated.Equal(created), "created %v, want %v", created, tt.wantCreated)
		})
	}
}
