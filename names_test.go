package edge

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"simple", "my-secret", true},
		{"underscore and digits", "API_key_2", true},
		{"single char", "a", true},
		{"max length", strings.Repeat("x", MaxNameLength), true},
		{"empty", "", false},
		{"too long", strings.Repeat("x", MaxNameLength+1), false},
		{"dot", ".", false},
		{"dot dot", "..", false},
		{"slash", "a/b", false},
		{"traversal", "../x", false},
		{"encoded dot dot", "%2e%2e", false},
		{"encoded slash", "a%2Fb", false},
		{"space", "my secret", false},
		{"tab", "a\tb", false},
		{"newline", "a\n", false},
		{"nul", "a\x00", false},
		{"backslash", `a\b`, false},
		{"non-ASCII letter", "café", false},
		{"fullwidth letter", "ａ", false},
		{"invalid UTF-8", "a\xff", false},
		{"question mark", "a?b", false},
		{"hash", "a#b", false},
		{"plus", "a+b", false},
		{"colon", "a:b", false},
		{"trailing slash", "a/", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ValidName(tt.in))
		})
	}
}

func TestCheckPath(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"secret", true},
		{"kv/edge", true},
		{"team-a/kv_2", true},
		{"", false},
		{"/secret", false},
		{"secret/", false},
		{"a//b", false},
		{"a/../b", false},
		{"a/./b", false},
		{"sec ret", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.ok, checkPath(tt.in) == nil)
		})
	}
}

func TestScopePaths(t *testing.T) {
	tests := []struct {
		name, scope, mount, base string
		wantData, wantMeta       string
	}{
		{"user", "user", "secret", "edge/users/0b1c-ent", "secret/data/edge/users/0b1c-ent", "secret/metadata/edge/users/0b1c-ent"},
		{"org", "org", "secret", "edge/orgs/acme", "secret/data/edge/orgs/acme", "secret/metadata/edge/orgs/acme"},
		{"nested mount and prefix", "org", "kv/team", "p/q/orgs/acme", "kv/team/data/p/q/orgs/acme", "kv/team/metadata/p/q/orgs/acme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := newScope(tt.scope, tt.mount, tt.base)
			assert.Equal(t, tt.wantData, sc.data)
			assert.Equal(t, tt.wantMeta, sc.meta)
		})
	}
}
