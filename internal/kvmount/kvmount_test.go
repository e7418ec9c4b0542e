package kvmount

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestProblem(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		options map[string]string
		want    string // part of the error; "" for none
	}{
		{"kv v2", "kv", map[string]string{"version": "2"}, ""},
		{"kv v1", "kv", map[string]string{"version": "1"}, `is KV version 1, not KV version 2: upgrade it with "vault kv enable-versioning secret"`},
		{"kv without version", "kv", nil, "is KV version 1"},
		{"generic", "generic", nil, "is KV version 1"},
		{"other engine", "transit", nil, `is "transit", not KV version 2`},
		{"kv v3", "kv", map[string]string{"version": "3"}, "is KV version 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Problem("secret", tt.typ, tt.options)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.want)
		})
	}
}
