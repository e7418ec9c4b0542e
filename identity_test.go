package edge

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIdentityCache: bounded (least recently used out first), each entry
// no older than its token's TTL (0: none), forgotten on demand, and
// holding no token in clear anywhere in its memory.
func TestIdentityCache(t *testing.T) {
	t.Parallel()
	c := newIdentityCache(3, func(id string) scope { return newScope("user", "secret", "edge/users/"+id) })
	tokens := []string{"hvs.tokenA-SECRETPART", "hvs.tokenB-SECRETPART", "hvs.tokenC-SECRETPART", "hvs.tokenD-SECRETPART"}
	for i, tok := range tokens[:3] {
		c.put(keyOf(tok), fmt.Sprintf("entity-%d", i), 0)
	}
	_, ok := c.get(keyOf(tokens[0])) // A is now the most recently used
	require.True(t, ok)
	c.put(keyOf(tokens[3]), "entity-3", 0)
	assert.Equal(t, 3, c.len())
	_, ok = c.get(keyOf(tokens[1]))
	assert.False(t, ok, "B, the least recently used, went first")
	id, ok := c.get(keyOf(tokens[0]))
	assert.True(t, ok)
	assert.Equal(t, "entity-0", id)

	c.put(keyOf("hvs.short"), "entity-s", 30*time.Millisecond)
	_, ok = c.get(keyOf("hvs.short"))
	require.True(t, ok)
	time.Sleep(40 * time.Millisecond)
	_, ok = c.get(keyOf("hvs.short"))
	assert.False(t, ok, "no older than the token's TTL")

	c.forget(keyOf(tokens[0]))
	_, ok = c.get(keyOf(tokens[0]))
	assert.False(t, ok)

	// Nothing reachable from the cache holds a token's text.
	var seen strings.Builder
	dump(reflect.ValueOf(c).Elem(), &seen, 0)
	assert.NotContains(t, seen.String(), "SECRETPART")
	assert.Contains(t, seen.String(), "entity-3", "the dump does reach the entries")
}

// dump writes the strings and bytes reachable from v.
func dump(v reflect.Value, out *strings.Builder, depth int) {
	if depth > 12 || !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.String:
		out.WriteString(v.String() + "\n")
	case reflect.Array, reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			for i := range b {
				b[i] = byte(v.Index(i).Uint())
			}
			out.Write(b)
			return
		}
		for i := 0; i < v.Len(); i++ {
			dump(v.Index(i), out, depth+1)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			dump(k, out, depth+1)
			dump(v.MapIndex(k), out, depth+1)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			dump(v.Elem(), out, depth+1)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			if v.Type().Field(i).Name == "group" {
				continue // singleflight: empty between calls
			}
			dump(f, out, depth+1)
		}
	}
}
