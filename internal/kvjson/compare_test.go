package kvjson

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nestedJSON is nested(depth)'s JSON.
func nestedJSON(depth int) string {
	return strings.Repeat(`{"a":`, depth) + `"x"` + strings.Repeat(`}`, depth)
}

// longArray returns a value whose one array holds n entries.
func longArray(n int) Secret {
	a := make([]any, n)
	for i := range a {
		a[i] = i
	}
	return Secret{"a": a}
}

// TestCompareCodecsStore runs every codec's Store over the same values,
// valid and not, and checks where they agree with the hand-written
// code: a value one refuses and another accepts is listed in the case's
// disagree (the codecs whose outcome differs), so that the benchmark
// compares implementations doing the same checks, and the exceptions are
// pinned. Where all accept, they must return the same bytes.
func TestCompareCodecsStore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		value    Secret
		refused  bool     // the hand-written Store refuses it
		envelope bool     // the hand-written Store stores it in the envelope
		disagree []string // codecs whose outcome (refused or not) differs
	}{
		{"100 B", BenchValue(100), false, false, nil},
		{"10 kB", BenchValue(10_000), false, false, nil},
		{"escapes", Secret{"s": "<a&b>\u2028\u2029\"\\\x01é", "k<": "v"}, false, false, nil},
		{"nil map and slice", Secret{"m": map[string]any(nil), "a": []any(nil), "e": map[string]any{}}, false, false, nil},
		{"floats", Secret{"a": 0.1, "b": 1e21, "c": 1e-7, "d": math.Copysign(0, -1), "e": 123456789.0, "f": 3.0}, false, false, nil},
		{"ints", Secret{"a": 1, "b": int64(math.MaxInt32), "c": uint8(7)}, false, false, nil},
		{"int64 float64 cannot hold", Secret{"b": int64(math.MaxInt64)}, false, true, nil},
		{"json.Number kept", Secret{"n": json.Number("5432"), "f": json.Number("0.5")}, false, false, nil},
		{"json.Number respelled", Secret{"n": json.Number("1.0")}, false, true, nil},
		{"big number", Secret{"n": json.Number("12345678901234567890")}, false, true, nil},
		{"number out of range", Secret{"n": json.Number("1e400")}, false, true, nil},
		{"101 levels", nested(101, true), false, true, nil},
		{"100 levels", nested(100, true), false, false, nil},
		{"10,000 levels", nested(10_000, true), false, true, nil},
		{"10,001 levels", nested(10_001, true), true, false, nil},
		{"1,000 entries", wide(1_000), false, false, nil},
		{"1,000 array entries", longArray(1_000), false, false, nil},
		{"1,001 array entries", longArray(1_001), false, true, nil},
		{"101 levels of arrays", nested(101, false), false, true, nil},
		{"1,001 entries", wide(1_001), false, true, nil},
		{"top-level envelope key", Secret{exactKey: "x"}, false, true, nil},
		{"nested envelope key", Secret{"a": map[string]any{exactKey: "x"}}, false, false, nil},
		{"nil", nil, true, false, nil},
		{"NaN", Secret{"n": math.NaN()}, true, false, nil},
		{"func", Secret{"f": func() {}}, true, false, nil},
		{"invalid json.Number", Secret{"n": json.Number("12abc")}, true, false, nil},
		{"over MaxValueSize", Secret{"s": strings.Repeat("x", MaxValueSize)}, true, false, nil},
		{"invalid UTF-8 in a string", Secret{"s": "ok\xffok"}, true, false, nil},
		{"invalid UTF-8 in a key", Secret{"k\xfe": "v"}, true, false, nil},
		{"invalid UTF-8 in a json.RawMessage", Secret{"r": json.RawMessage("\"a\xffb\"")}, true, false, nil},
		{"duplicate in a json.RawMessage", Secret{"r": json.RawMessage(`{"a":1,"a":2}`)}, true, false, nil},
		{"duplicate after unescaping", Secret{"r": json.RawMessage(`{"a":1,"\u0061":2}`)}, true, false, nil},
		// encoding/json's tokens turn the escape into U+FFFD: it cannot
		// see it.
		{"unpaired surrogate escape", Secret{"r": json.RawMessage(`"\ud800"`)}, true, false, []string{"encoding-json"}},
		// jsontext refuses invalid UTF-8 itself, so a \ufffd escape can
		// only be U+FFFD, which it stores (as the character).
		{"\\ufffd escape", Secret{"r": json.RawMessage(`"\ufffd"`)}, true, false, []string{"json-experiment", "json-experiment-strict"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want, err := Store(tt.value)
			require.Equal(t, tt.refused, err != nil, "hand-written Store: %v", err)
			if err == nil {
				// Only the envelope begins with its key: a value with a
				// top-level exactKey is stored in it.
				require.Equal(t, tt.envelope, bytes.HasPrefix(want, []byte(`{"`+exactKey+`":`)))
			}
			for _, c := range codecs[1:] {
				got, err := c.store(tt.value)
				refused := err != nil
				if slices.Contains(tt.disagree, c.name) {
					assert.NotEqual(t, tt.refused, refused, "%s: expected to disagree (refused %v), err %v", c.name, tt.refused, err)
					continue
				}
				if !assert.Equal(t, tt.refused, refused, "%s: %v", c.name, err) || refused {
					continue
				}
				assert.Equal(t, string(want), string(got), "%s: not the hand-written bytes", c.name)
			}
		})
	}
}

// TestCompareCodecsDecode runs every codec's decoder over the same
// bodies of Vault's answer and checks where they agree with the
// hand-written code (whose results are encoding/json's): a body one
// refuses and another decodes is listed in disagree. Where all decode,
// they must return the same value.
func TestCompareCodecsDecode(t *testing.T) {
	t.Parallel()
	stored := func(v Secret) string {
		b, err := Store(v)
		require.NoError(t, err)
		return string(b)
	}
	body := func(data string) string { return string(kvReadBody([]byte(data))) }
	tests := []struct {
		name     string
		body     string
		refused  bool
		disagree []string
	}{
		{"100 B", body(stored(BenchValue(100))), false, nil},
		{"10 kB", body(stored(BenchValue(10_000))), false, nil},
		{"envelope", body(stored(Secret{"n": json.Number("12345678901234567890"), "s": "<&>"})), false, nil},
		{"big numbers kept as text", body(`{"a":123456789012345678901234567890,"b":1e400,"c":-0.10}`), false, nil},
		{"escapes", body(`{"s":"\u00e9\ud83d\ude00\n\"","k\u0061":"\u2028"}`), false, nil},
		{"empty object and array", body(`{"o":{},"a":[],"n":null,"t":true,"f":false}`), false, nil},
		{"upper-case Data", `{"Data":{"DATA":{"a":"b"}}}`, false, nil},
		{"10,000 levels in all", body(nestedJSON(9_998)), false, nil},
		{"10,001 levels in all", body(nestedJSON(9_999)), true, nil},
		{"no value", body(`null`), true, nil},
		{"no data", `{"data":null}`, true, nil},
		{"not an object", body(`[1]`), true, nil},
		{"envelope of no object", body(`{"` + exactKey + `":"[1]"}`), true, nil},
		{"data after the body", body(`{"a":1}`) + "{}", true, nil},
		{"truncated", body(`{"a":1}`)[:50], true, nil},
		{"invalid JSON", body(`{"a":01}`), true, nil},
		// The contract: encoding/json's results. jsontext's defaults
		// refuse these; allowed, they decode as encoding/json does.
		{"duplicate key", body(`{"a":1,"a":2}`), false, []string{"json-experiment-strict"}},
		{"duplicate after unescaping", body(`{"a":1,"\u0061":2}`), false, []string{"json-experiment-strict"}},
		{"invalid UTF-8", body("{\"s\":\"a\xffb\"}"), false, []string{"json-experiment-strict"}},
		{"unpaired surrogate escape", body(`{"s":"\ud800x"}`), false, []string{"json-experiment-strict"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want, err := DecodeKVResponse(strings.NewReader(tt.body))
			require.Equal(t, tt.refused, err != nil, "hand-written: %v", err)
			for _, c := range codecs[1:] {
				got, err := c.decode(strings.NewReader(tt.body))
				refused := err != nil
				if slices.Contains(tt.disagree, c.name) {
					assert.NotEqual(t, tt.refused, refused, "%s: expected to disagree (refused %v), err %v", c.name, tt.refused, err)
					continue
				}
				if !assert.Equal(t, tt.refused, refused, "%s: %v", c.name, err) || refused {
					continue
				}
				assert.Equal(t, want, got, "%s: not the hand-written value", c.name)
			}
		})
	}
}
