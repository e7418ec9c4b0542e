package edge

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidName(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
	tests := []struct {
		in string
		ok bool
	}{
		{"secret", true},
		{"kv/edge", true},
		{"team-a/kv_2", true},
		{strings.Repeat("a", MaxPathLength), true},
		{strings.Repeat("a/", MaxPathLength/2-1) + "ab", true},
		{"", false},
		{"/secret", false},
		{"secret/", false},
		{"/", false},
		{"a//b", false},
		{"a/../b", false},
		{"a/./b", false},
		{"..", false},
		{"sec ret", false},
		{"a/b%2fc", false},
		{`a\b`, false},
		{"é", false},
		{strings.Repeat("a", MaxPathLength+1), false},
		{strings.Repeat("a/", 150) + "a", false}, // 301 bytes of short, valid segments
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.ok, checkPath(tt.in) == nil)
			assert.Equal(t, tt.ok, ValidPath(tt.in))
			assert.Equal(t, tt.ok, CheckPath(tt.in) == nil)
		})
	}
}

// TestInvalidNameNotEchoed checks that the error for an invalid name or
// path quotes at most a few bytes of it, printable, and never all of it:
// a token pasted where a name belongs must not reach a log.
func TestInvalidNameNotEchoed(t *testing.T) {
	t.Parallel()
	const token = "hvs.CAESIJ2h1dV9yZWRhY3RlZF90b2tlbl9mb3JfdGVzdHMAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	tests := []struct {
		name    string
		in      string
		check   func(string) error
		want    string // the error, exactly
		secrets []string
	}{
		{"token", token, checkName, `name "hvs"... (99 bytes) has '.' at byte 3: only ASCII letters, digits, '-' and '_' are allowed`, []string{token, "CAESIJ"}},
		{"traversal", "../escape", checkName, `name (9 bytes) has '.' at byte 0: only ASCII letters, digits, '-' and '_' are allowed`, []string{"escape"}},
		{"space late", "my-long-secret name", checkName, `name "my-long-"... (19 bytes) has ' ' at byte 14: only ASCII letters, digits, '-' and '_' are allowed`, []string{"secret", " name"}},
		{"newline", "ab\nforged log line", checkName, `name "ab"... (18 bytes) has '\n' at byte 2: only ASCII letters, digits, '-' and '_' are allowed`, []string{"forged", "\n"}},
		{"non-ASCII", "pässword", checkName, `name "p"... (9 bytes) has 0xc3 (not ASCII) at byte 1: only ASCII letters, digits, '-' and '_' are allowed`, []string{"ssword"}},
		{"NUL", "a\x00b", checkName, `name "a"... (3 bytes) has '\x00' at byte 1: only ASCII letters, digits, '-' and '_' are allowed`, []string{"\x00"}},
		{"too long", strings.Repeat("s3cr3t", 50), checkName, `name is 300 bytes long, more than 256`, []string{"s3cr3t"}},
		{"path with token", "secret/" + token, checkPath, `path "secret/h"... (106 bytes) has '.' at byte 10: only '/'-separated ASCII letters, digits, '-' and '_' are allowed`, []string{token, "CAESIJ"}},
		{"path with empty segment", "kv//" + token[4:], checkPath, `path "kv/"... (99 bytes) has an empty segment: '/' at byte 3 starts, ends or doubles it`, []string{"CAESIJ"}},
		{"path too long", strings.Repeat("s3cr3t/", 40) + "x", checkPath, `path is 281 bytes long, more than 256`, []string{"s3cr3t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(tt.in)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			for _, s := range tt.secrets {
				assert.NotContains(t, err.Error(), s)
			}
		})
	}
}

func TestScopePaths(t *testing.T) {
	t.Parallel()
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

// TestNewSessionPathRule: NewSession applies the one path rule to Mount
// and Prefix, 256 bytes at most, before any request.
func TestNewSessionPathRule(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ab/", 100) + "c" // 301 bytes of valid segments
	for _, cfg := range []Config{{Mount: long}, {Prefix: long}, {Prefix: "a//b"}, {Mount: "sec ret"}} {
		// Nothing listens on the address: the session fails before
		// any request, or the error would not be ErrBadEntry.
		_, err := NewSession(context.Background(), Config{Address: "http://127.0.0.1:1", Token: "t", Mount: cfg.Mount, Prefix: cfg.Prefix})
		require.ErrorIs(t, err, ErrBadEntry)
	}
}
