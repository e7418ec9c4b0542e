package edge

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncodeSecretRefuses(t *testing.T) {
	var cycle Secret = Secret{}
	cycle["self"] = cycle
	tests := []struct {
		name  string
		value Secret
	}{
		{"nil", nil},
		{"func", Secret{"f": func() {}}},
		{"chan", Secret{"c": make(chan int)}},
		{"complex", Secret{"c": complex(1, 2)}},
		{"NaN", Secret{"n": math.NaN()}},
		{"+Inf", Secret{"n": math.Inf(1)}},
		{"-Inf nested", Secret{"a": []any{map[string]any{"n": math.Inf(-1)}}}},
		{"invalid UTF-8 in string", Secret{"s": "ok\xffok"}},
		{"invalid UTF-8 in key", Secret{"k\xfe": "v"}},
		{"invalid UTF-8 nested", Secret{"a": []any{"x", map[string]any{"y": []string{"\xc3"}}}}},
		{"invalid json.Number", Secret{"n": json.Number("12abc")}},
		{"invalid UTF-8 in json.RawMessage", Secret{"r": json.RawMessage("\"a\xffb\"")}},
		{"invalid UTF-8 from MarshalJSON", Secret{"m": rawMarshaler("\"\xfe\"")}},
		{"cycle", cycle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := encodeSecret(tt.value)
			require.Error(t, err)
		})
	}
}

// rawMarshaler returns its own bytes from MarshalJSON, unchecked.
type rawMarshaler string

func (r rawMarshaler) MarshalJSON() ([]byte, error) { return []byte(r), nil }

func TestEncodeSecretErrorHidesValue(t *testing.T) {
	for _, v := range []Secret{
		{"password": "hunter2\xff"},
		{"hunter2": math.Inf(1)},
		{"hunter2": func() {}},
	} {
		_, err := encodeSecret(v)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "hunter2")
	}
}

func TestEncodeSecretAccepts(t *testing.T) {
	tests := []struct {
		name  string
		value Secret
	}{
		{"empty", Secret{}},
		{"real U+FFFD", Secret{"s": "\uFFFD"}},
		{"literal backslash-u-fffd", Secret{"s": `\ufffd`}},
		{"backslashes", Secret{`k\`: `\\ufffd\`}},
		{"unicode", Secret{"ключ": "值 🔑 \u2028"}},
		{"html", Secret{"s": "<a&b>"}},
		{"nested", Secret{"a": map[string]any{"b": []any{1, 2.5, nil, true}}}},
		{"typed", Secret{"m": map[string]string{"x": "y"}, "l": []int{1, 2}}},
		{"big numbers", Secret{"i": int64(math.MaxInt64), "u": uint64(math.MaxUint64)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := encodeSecret(tt.value)
			require.NoError(t, err)
			back, err := decodeSecret(kvData(b))
			require.NoError(t, err)
			// The value decoded again equals the value as JSON sees it.
			want, err := json.Marshal(tt.value)
			require.NoError(t, err)
			got, err := json.Marshal(back)
			require.NoError(t, err)
			assert.JSONEq(t, string(want), string(got))
		})
	}
}

func TestHasReplacedUTF8(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`"a"`, false},
		{`"\ufffd"`, true},
		{`"\\ufffd"`, false},
		{`"\\\ufffd"`, true},
		{`"\"\ufffd"`, true},
		{`"\u00e9\ufffd"`, true},
		{`"\u00e9"`, false},
		{`"\\"`, false},
		{`"x\`, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, hasReplacedUTF8([]byte(tt.in)))
		})
	}
}

func TestDecodeSecretKeepsNumbers(t *testing.T) {
	s, err := decodeSecret(json.RawMessage(`{"big":9223372036854775807,"tenth":0.1,"huge":123456789012345678901234567890}`))
	require.NoError(t, err)
	assert.Equal(t, json.Number("9223372036854775807"), s["big"])
	assert.Equal(t, json.Number("0.1"), s["tenth"])
	assert.Equal(t, json.Number("123456789012345678901234567890"), s["huge"])
}

func TestKVWriteBody(t *testing.T) {
	b := kvWriteBody(7, []byte(`{"a":1}`))
	assert.JSONEq(t, `{"options":{"cas":7},"data":{"a":1}}`, string(b))
	assert.True(t, strings.HasPrefix(string(b), `{"options":{"cas":7}`))
}

func TestErrorFormatAndMatching(t *testing.T) {
	cause := errors.New("boom")
	err := error(&Error{Op: "read", Scope: "user", Name: "db", Kind: ErrNotFound, Err: cause})
	assert.Equal(t, `edge: read user secret "db": secret not found: boom`, err.Error())
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorIs(t, err, cause)
	assert.NotErrorIs(t, err, ErrAlreadyExists)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "db", e.Name)

	list := &Error{Op: "list", Scope: "org", Kind: ErrPermissionDenied}
	assert.Equal(t, "edge: list org secrets: permission denied", list.Error())
	assert.ErrorIs(t, list, ErrPermissionDenied)
}

func TestFloat64Exact(t *testing.T) {
	tests := []struct {
		n    string
		want bool
	}{
		{"0", true},
		{"-12", true},
		{"999999999999999", true},
		{"9007199254740992", true},  // 2^53
		{"9007199254740993", false}, // 2^53+1
		{"9223372036854775807", false},
		{"-9223372036854775808", false}, // -2^63 is a float64, but Vault prints it shortest: -9223372036854776000
		{"18446744073709551615", false},
		{"0.1", true},
		{"3.5", true},
		{"1.0", true},
		{"1e300", true},
		{"1E-7", true},
		{"0.30000000000000004", true},
		{"0.1000000000000000000001", false},
		{"1e400", false},
		{"123456789012345678901234567890", false},
	}
	for _, tt := range tests {
		t.Run(tt.n, func(t *testing.T) {
			assert.Equal(t, tt.want, float64Exact(tt.n))
		})
	}
}

func TestEnvelope(t *testing.T) {
	tests := []struct {
		name     string
		value    Secret
		envelope bool
	}{
		{"plain", Secret{"a": "b", "n": 1, "f": 0.1}, false},
		{"big int", Secret{"n": int64(math.MaxInt64)}, true},
		{"nested big int", Secret{"a": []any{map[string]any{"n": uint64(math.MaxUint64)}}}, true},
		{"reserved key on top", Secret{exactKey: "{}"}, true},
		{"reserved key nested", Secret{"a": map[string]any{exactKey: "x"}}, false},
		{"reserved key as value", Secret{"a": exactKey}, false},
		{"reserved key after nested", Secret{"a": map[string]any{"b": 1}, exactKey: 2}, true},
		{"digits in strings only", Secret{"a": "12345678901234567890", "v": "1.5e3"}, false},
		{"exact fraction", Secret{"f": 0.5, "g": 1e300}, false},
		{"inexact fraction", Secret{"f": json.Number("0.1000000000000000000001")}, true},
		{"big int in array", Secret{"a": []any{1, "x", json.Number("12345678901234567")}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoded, err := encodeSecret(tt.value)
			require.NoError(t, err)
			stored := kvData(encoded)
			var top map[string]any
			require.NoError(t, json.Unmarshal(stored, &top))
			_, isEnvelope := top[exactKey].(string)
			assert.Equal(t, tt.envelope, isEnvelope && len(top) == 1)

			back, err := decodeSecret(stored)
			require.NoError(t, err)
			want, err := decodeObject(encoded)
			require.NoError(t, err)
			assert.Equal(t, want, back)
		})
	}
}

// benchValue is a typical secret: a few strings and a number.
var benchValue = Secret{"user": "svc-account", "password": "correct horse battery staple", "host": "db.internal", "port": 5432, "tls": true}

// BenchmarkEncodeSecret measures the client-side work of a write: the
// encoding, its checks, and the envelope decision.
func BenchmarkEncodeSecret(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kvValue(benchValue); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeSecret measures the client-side work of a read.
func BenchmarkDecodeSecret(b *testing.B) {
	encoded, err := encodeSecret(benchValue)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeSecret(encoded); err != nil {
			b.Fatal(err)
		}
	}
}
