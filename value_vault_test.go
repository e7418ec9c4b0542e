package edge_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/scopes"
)

// hardValue is a value that Vault's KV v2 engine would not return as
// written if stored naively.
type hardValue struct {
	name     string
	value    edge.Secret
	envelope bool // stored in the exact-JSON envelope
}

func hardValues() []hardValue {
	var planes strings.Builder
	// One code point from each of planes 0, 1, 2, 3, 14, 15 and 16.
	for _, r := range []rune{0xe9, 0x4e2d, 0x1f511, 0x20000, 0x30000, 0xe0001, 0xf0000, 0x10fffd} {
		planes.WriteRune(r)
	}
	deep := func(depth int) edge.Secret {
		var v any = "bottom"
		for range depth - 1 {
			v = map[string]any{"k": []any{v}}
		}
		return edge.Secret{"k": v}
	}
	return []hardValue{
		{"plain", edge.Secret{"user": "svc", "port": 5432, "tls": true, "ratio": 0.25, "none": nil}, false},
		{"every Unicode plane, U+2028, U+2029 and NUL", edge.Secret{"s": planes.String() + "\u2028\u2029\x00", planes.String(): "key", "\x00": "nul"}, false},
		{"surrogate pair escape", edge.Secret{"r": json.RawMessage(`"\ud83d\udd11"`)}, false},
		{"2^53+1", edge.Secret{"n": int64(1)<<53 + 1}, true},
		{"max uint64", edge.Secret{"n": uint64(math.MaxUint64)}, true},
		{"10^21", edge.Secret{"n": json.Number("1000000000000000000000")}, true},
		{"1.0", edge.Secret{"n": json.Number("1.0")}, true},
		{"-0", edge.Secret{"n": json.Number("-0")}, false},
		{"-0.0", edge.Secret{"n": json.Number("-0.0")}, true},
		{"1e308 as float64", edge.Secret{"n": 1e308}, false},
		{"1e308 as written", edge.Secret{"n": json.Number("1e308")}, true},
		{"1e400", edge.Secret{"n": json.Number("1e400")}, true},
		{"0.1 and 5e-324", edge.Secret{"a": 0.1, "b": math.SmallestNonzeroFloat64}, false},
		{"nested 1,000 levels", deep(1000), true},
		{"1,001 entries", edge.Secret{"a": make([]any, 1001)}, true},
		{"reserved key on top", edge.Secret{"_edge_json": "{}"}, true},
		{"900 KB", edge.Secret{"blob": strings.Repeat("0123456789", 90_000)}, false},
		{"896 KB in the envelope", edge.Secret{"blob": strings.Repeat(`0123"5678\`, 56_000), "n": json.Number("1.0")}, true},
	}
}

// exactly returns v as the SDK promises to read it back: its JSON
// encoding, decoded with numbers as json.Number.
func exactly(t *testing.T, v edge.Secret) edge.Secret {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var want edge.Secret
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&want))
	return want
}

// TestHardValuesThroughVault writes values that Vault would change if
// stored naively to the real Vault, and reads them back exactly: with
// Read after Create and after Update, and through a wrapping token.
func TestHardValuesThroughVault(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	receiver, err := api.NewClient(&api.Config{Address: vault.Addr()})
	require.NoError(t, err)
	receiver.SetToken("")
	root := vault.RootClient(t)

	forEachScope(t, func(t *testing.T, sess *edge.Session, ops scopes.Ops) {
		ctx := context.Background()
		for i, tt := range hardValues() {
			t.Run(tt.name, func(t *testing.T) {
				want := exactly(t, tt.value)
				name := edgetest.UniqueName("hard")
				require.NoError(t, ops.Create(ctx, name, tt.value))
				got, err := ops.Read(ctx, name)
				require.NoError(t, err)
				assert.Equal(t, want, got, "read after create")

				// Update with the previous value's neighbour, then back.
				other := hardValues()[(i+1)%len(hardValues())].value
				require.NoError(t, ops.Update(ctx, name, other))
				got, err = ops.Read(ctx, name)
				require.NoError(t, err)
				assert.Equal(t, exactly(t, other), got, "read after update")
				require.NoError(t, ops.Update(ctx, name, tt.value))

				w, err := ops.Wrap(ctx, name)
				require.NoError(t, err)
				got, err = edge.Unwrap(ctx, receiver, w.Token)
				require.NoError(t, err)
				assert.Equal(t, want, got, "unwrapped")

				// What Vault holds: field by field, or the envelope.
				stored, err := root.Logical().ReadWithContext(ctx, w.CreationPath)
				require.NoError(t, err)
				require.NotNil(t, stored)
				data, _ := stored.Data["data"].(map[string]any)
				_, isEnvelope := data["_edge_json"].(string)
				assert.Equal(t, tt.envelope, isEnvelope && len(data) == 1, "stored in the envelope")
			})
		}
	})
}

// TestRefusedValuesSendNothing: a value over MaxValueSize, or one that
// would read back changed, is ErrBadEntry and no request reaches Vault.
func TestRefusedValuesSendNothing(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	p := newProxy(t)
	u := vault.NewUser(t)
	sess, err := edge.NewSession(context.Background(), edge.Config{Address: p.URL, Token: u.Token, Org: vault.NewOrg(t, u), Mount: vault.Mount()})
	require.NoError(t, err)
	over := edge.Secret{"b": strings.Repeat("x", edge.MaxValueSize+1-len(`{"b":""}`))}
	justUnder := edge.Secret{"b": strings.Repeat("x", edge.MaxValueSize-len(`{"b":""}`))}
	refused := map[string]edge.Secret{
		"just over MaxValueSize":        over,
		"envelope over MaxValueSize":    {"b": strings.Repeat(`"`, 400_000), "n": json.Number("1.0")},
		"lone surrogate":                {"r": json.RawMessage(`"\ud800"`)},
		"reversed surrogate pair":       {"r": json.RawMessage(`"\udc00\ud800"`)},
		"duplicate key":                 {"r": json.RawMessage(`{"a":1,"a":2}`)},
		"nested deeper than JSON reads": nestedArrays(10_001),
	}
	for _, ops := range []scopes.Ops{scopes.User(sess), scopes.Org(sess)} {
		ctx := context.Background()
		require.NoError(t, ops.Create(ctx, "existing", edge.Secret{"v": 1}))
		for name, value := range refused {
			t.Run(ops.Name+" "+name, func(t *testing.T) {
				before := p.requests.Load()
				err := ops.Create(ctx, "s", value)
				assert.ErrorIs(t, err, edge.ErrBadEntry)
				err = ops.Update(ctx, "existing", value)
				assert.ErrorIs(t, err, edge.ErrBadEntry)
				assert.Equal(t, int64(0), p.requests.Load()-before, "no request sent")
			})
		}
		t.Run(ops.Name+" MaxValueSize", func(t *testing.T) {
			require.NoError(t, ops.Update(ctx, "existing", justUnder))
			got, err := ops.Read(ctx, "existing")
			require.NoError(t, err)
			assert.Equal(t, justUnder, got)
		})
	}
}

// nestedArrays returns a value nested depth levels deep.
func nestedArrays(depth int) edge.Secret {
	var v any = 1
	for range depth - 1 {
		v = []any{v}
	}
	return edge.Secret{"a": v}
}
