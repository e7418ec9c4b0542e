package kvjson

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Vault's default JSON limits on a request (Vault 1.16.25, 1.18.14,
// 1.19.9, 1.20.3, 1.21.0 and later: listener options max_json_depth,
// max_json_object_entry_count, max_json_array_element_count,
// max_json_string_value_length).
const (
	vaultMaxJSONDepth     = 500
	vaultMaxJSONEntries   = 10_000
	vaultMaxJSONStringLen = 1 << 20
)

// simulateVault does to stored, the JSON object a write stores, what
// Vault's KV v2 engine does between a write and a read, and returns the
// data.data of the read's answer:
//
//   - the write: Vault checks the request body against its default JSON
//     limits, decodes it with UseNumber and stores json.Marshal of its
//     data, numbers spelled as sent;
//   - the read: KV v2 decodes what it stored into map[string]any, with
//     numbers as float64 (vault-plugin-secrets-kv, path_data.go), and
//     Vault encodes the answer with encoding/json.
//
// It fails where Vault would: a body over its JSON limits, or a stored
// number float64 cannot hold (Vault cannot read that secret back).
func simulateVault(stored []byte) ([]byte, error) {
	body := kvWriteBody(0, stored)
	if err := checkVaultJSONLimits(body); err != nil {
		return nil, fmt.Errorf("vault refuses the write: %w", err)
	}
	var req map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("vault refuses the write: %w", err)
	}
	data, ok := req["data"].(map[string]any)
	if !ok {
		return nil, errors.New("vault refuses the write: data is not an object")
	}
	inStorage, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("vault refuses the write: %w", err)
	}
	var read map[string]any
	if err := json.Unmarshal(inStorage, &read); err != nil {
		return nil, fmt.Errorf("vault cannot read the secret back: %w", err)
	}
	return json.Marshal(read)
}

// checkVaultJSONLimits applies Vault's default JSON limits to body: the
// nesting depth, the entries of each object and array, the length of
// each string.
func checkVaultJSONLimits(body []byte) error {
	type open struct {
		object, expectKey bool
		entries           int
	}
	var stack []open
	// valueDone records that a value ended in the innermost container.
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if str, ok := tok.(string); ok && len(str) > vaultMaxJSONStringLen {
			return errors.New("string over max_json_string_value_length")
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		// tok starts an entry: a key in an object, a value in an array.
		if n := len(stack); n > 0 {
			top := &stack[n-1]
			if !top.object || top.expectKey {
				top.entries++
				if top.entries > vaultMaxJSONEntries {
					return errors.New("object or array over max_json_object_entry_count or max_json_array_element_count")
				}
			}
			if top.expectKey {
				top.expectKey = false
				continue
			}
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, open{object: d == '{', expectKey: d == '{'})
			if len(stack) > vaultMaxJSONDepth {
				return errors.New("over max_json_depth")
			}
			continue
		}
		valueDone()
	}
}

// vaultReadBody wraps data, as simulateVault returns it, in the body of a
// KV v2 read.
func vaultReadBody(data []byte) []byte {
	return []byte(`{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":` + string(data) + `,"metadata":{"version":1}},"wrap_info":null,"warnings":null,"auth":null}` + "\n")
}

// throughVault writes s as the SDK does, sends it through simulateVault
// and reads it back as the SDK does, reporting whether it was stored in
// the envelope.
func throughVault(t testing.TB, s Secret) (back Secret, envelope bool) {
	t.Helper()
	stored, err := kvValue(s)
	require.NoError(t, err)
	var top map[string]any
	require.NoError(t, json.Unmarshal(stored, &top))
	_, isString := top[exactKey].(string)
	envelope = isString && len(top) == 1
	data, err := simulateVault(stored)
	require.NoError(t, err)
	back, err = decodeKVResponse(bytes.NewReader(vaultReadBody(data)))
	require.NoError(t, err)
	return back, envelope
}

// asWritten returns s as the SDK promises to read it back: its JSON
// encoding decoded with UseNumber.
func asWritten(t testing.TB, s Secret) Secret {
	t.Helper()
	b, err := json.Marshal(s)
	require.NoError(t, err)
	want, err := decodeObject(b)
	require.NoError(t, err)
	return want
}

// nested returns a value nested depth levels deep, counting the
// top-level object: objects if obj, else arrays below the top.
func nested(depth int, obj bool) Secret {
	var v any = "bottom"
	for range depth - 1 {
		if obj {
			v = map[string]any{"k": v}
		} else {
			v = []any{v}
		}
	}
	return Secret{"k": v}
}

func TestEncodeSecretRefuses(t *testing.T) {
	var cycle Secret = Secret{}
	cycle["self"] = cycle
	tests := []struct {
		name  string
		value Secret
		want  error // the sentinel, when the SDK has one of its own
	}{
		{"nil", nil, nil},
		{"func", Secret{"f": func() {}}, nil},
		{"chan", Secret{"c": make(chan int)}, nil},
		{"complex", Secret{"c": complex(1, 2)}, nil},
		{"NaN", Secret{"n": math.NaN()}, nil},
		{"+Inf", Secret{"n": math.Inf(1)}, nil},
		{"-Inf nested", Secret{"a": []any{map[string]any{"n": math.Inf(-1)}}}, nil},
		{"cycle", cycle, nil},
		{"invalid json.Number", Secret{"n": json.Number("12abc")}, nil},
		{"invalid RawMessage", Secret{"r": json.RawMessage(`{"a":`)}, nil},
		{"MarshalText error", Secret{"m": map[failingKey]int{{}: 1}}, nil},

		{"invalid UTF-8 in string", Secret{"s": "ok\xffok"}, errInvalidUTF8},
		{"invalid UTF-8 in key", Secret{"k\xfe": "v"}, errInvalidUTF8},
		{"invalid UTF-8 nested", Secret{"a": []any{"x", map[string]any{"y": []string{"\xc3"}}}}, errInvalidUTF8},
		{"invalid UTF-8 in json.RawMessage", Secret{"r": json.RawMessage("\"a\xffb\"")}, errInvalidUTF8},
		{"invalid UTF-8 from MarshalJSON", Secret{"m": rawMarshaler("\"\xfe\"")}, errInvalidUTF8},
		{"keys colliding after invalid UTF-8", Secret{"m": map[string]int{"a\xff": 1, "a\xfe": 2}}, errInvalidUTF8},

		{"lone high surrogate", Secret{"r": json.RawMessage(`"\ud800"`)}, errSurrogate},
		{"lone low surrogate", Secret{"r": json.RawMessage(`"\udc00"`)}, errSurrogate},
		{"reversed pair", Secret{"r": json.RawMessage(`"\udc00\ud800"`)}, errSurrogate},
		{"high then letter", Secret{"r": json.RawMessage(`"\ud800\u0041"`)}, errSurrogate},
		{"high then high then low", Secret{"r": json.RawMessage(`"\ud800\ud800\udc00"`)}, errSurrogate},
		{"high then plain text", Secret{"r": json.RawMessage(`"\ud83dx"`)}, errSurrogate},
		{"high at end", Secret{"r": json.RawMessage(`"x\uD83D"`)}, errSurrogate},
		{"lone surrogate in a key", Secret{"r": json.RawMessage(`{"\ud800":1}`)}, errSurrogate},
		{"lone surrogate from MarshalJSON", Secret{"m": rawMarshaler(`["ok","\uDBFF"]`)}, errSurrogate},
		{"escaped replacement from MarshalJSON", Secret{"m": rawMarshaler(`"\ufffd"`)}, errInvalidUTF8},

		{"colliding MarshalText keys", Secret{"m": map[caseless]string{{"Key"}: "a", {"KEY"}: "b"}}, errDuplicate},
		{"duplicate in RawMessage", Secret{"r": json.RawMessage(`{"a":1,"b":2,"a":3}`)}, errDuplicate},
		{"duplicate spelled with an escape", Secret{"r": json.RawMessage(`{"a":1,"\u0061":2}`)}, errDuplicate},
		{"duplicate, sorted order", Secret{"r": json.RawMessage(`{"a":1,"a":2}`)}, errDuplicate},
		{"duplicate deep in an array", Secret{"r": json.RawMessage(`[1,{"x":{"y":1,"y":1}}]`)}, errDuplicate},
		{"duplicate from MarshalJSON", Secret{"m": rawMarshaler(`{"z":1,"a":2,"z":3}`)}, errDuplicate},
		{"struct field beside its MarshalJSON twin", Secret{"s": twinFields{A: 1}}, errDuplicate},

		{"nested too deep", nested(maxDepth+1, true), errTooDeep},
		{"arrays nested too deep", nested(maxDepth+1, false), errTooDeep},
		{"too large", Secret{"s": strings.Repeat("x", MaxValueSize)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := encodeSecret(tt.value)
			require.Error(t, err)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			}
			_, err = kvValue(tt.value)
			require.Error(t, err, "kvValue refuses it too")
		})
	}
}

// rawMarshaler returns its own bytes from MarshalJSON, unchecked.
type rawMarshaler string

func (r rawMarshaler) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// caseless is a map key whose text is its name in upper case: two keys
// can collide. (encoding/json calls MarshalText only for keys that are
// not strings.)
type caseless struct{ name string }

func (c caseless) MarshalText() ([]byte, error) { return []byte(strings.ToUpper(c.name)), nil }

// failingKey is a map key whose MarshalText fails.
type failingKey struct{}

func (failingKey) MarshalText() ([]byte, error) { return nil, errors.New("no text") }

// twinFields encodes field "b" twice: a struct field and its raw twin.
type twinFields struct {
	A int             `json:"b"`
	R json.RawMessage `json:"raw"`
}

func (f twinFields) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"b":%d,"c":0,"b":2}`, f.A)), nil
}

func TestEncodeSecretErrorHidesValue(t *testing.T) {
	for _, v := range []Secret{
		{"password": "hunter2\xff"},
		{"hunter2": math.Inf(1)},
		{"hunter2": func() {}},
		{"m": map[caseless]string{{"hunter2"}: "hunter2", {"HUNTER2"}: "hunter2"}},
		{"r": json.RawMessage(`{"hunter2":"\ud800hunter2"}`)},
		{"hunter2": strings.Repeat("hunter2", MaxValueSize/7+1)},
	} {
		_, err := kvValue(v)
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
		{"html", Secret{"s": "<a&b>", "<": ">"}},
		{"nested", Secret{"a": map[string]any{"b": []any{1, 2.5, nil, true}}}},
		{"typed", Secret{"m": map[string]string{"x": "y"}, "l": []int{1, 2}}},
		{"big numbers", Secret{"i": int64(math.MaxInt64), "u": uint64(math.MaxUint64)}},
		{"surrogate pair in RawMessage", Secret{"r": json.RawMessage(`"\ud83d\udd11 \uD800\uDC00"`)}},
		{"RawMessage with spaces and escapes", Secret{"r": json.RawMessage(` { "b" : [ 1 , "\u0041\/" ] , "a" : null } `)}},
		{"distinct MarshalText keys", Secret{"m": map[caseless]string{{"a"}: "x", {"b"}: "y"}}},
		{"struct", Secret{"s": struct {
			Z string `json:"z"`
			A int    `json:"a"`
			M map[string]int
		}{"z", 1, map[string]int{"b": 1, "a": 2}}}},
		{"keys that differ only after decoding escapes", Secret{"r": json.RawMessage(`{"a":1,"\u0062":2,"\u00e9":3,"é ":4}`)}},
		{"nested as deep as allowed", nested(maxDepth, true)},
		{"arrays nested as deep as allowed", nested(maxDepth, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := encodeSecret(tt.value)
			require.NoError(t, err)
			back, _ := throughVault(t, tt.value)
			assert.Equal(t, asWritten(t, tt.value), back)
		})
	}
}

// TestRoundTrip writes hard values through the simulated Vault: each
// reads back exactly as written, numbers spelled the same, in the
// envelope only when field by field would change it.
func TestRoundTrip(t *testing.T) {
	var planes strings.Builder
	for _, r := range []rune{0x41, 0xe9, 0x4e2d, 0xfffd, 0x10000, 0x1f511, 0x20000, 0x2a6d6, 0x30000, 0xe0001, 0xe01ef, 0xf0000, 0xffffd, 0x100000, 0x10fffd} {
		planes.WriteRune(r)
	}
	tests := []struct {
		name     string
		value    Secret
		envelope bool
	}{
		{"plain", Secret{"user": "svc", "port": 5432, "tls": true, "none": nil, "ratio": 0.25}, false},
		{"every Unicode plane", Secret{"s": planes.String(), planes.String(): "key"}, false},
		{"line and paragraph separators", Secret{"s": "a\u2028b\u2029c", "\u2028": 1}, false},
		{"NUL and control characters", Secret{"s": "a\x00b\x01\x1f\x7f", "\x00": "nul key"}, false},
		{"HTML characters", Secret{"s": "<script>&</script>"}, false},

		{"2^53", Secret{"n": int64(1) << 53}, false},
		{"2^53+1", Secret{"n": int64(1)<<53 + 1}, true},
		{"-2^63", Secret{"n": int64(math.MinInt64)}, true},
		{"max uint64", Secret{"n": uint64(math.MaxUint64)}, true},
		{"10^15 as int", Secret{"n": int64(1e15)}, false},
		{"10^21 as json.Number", Secret{"n": json.Number("1000000000000000000000")}, true},
		{"10^20 as json.Number", Secret{"n": json.Number("100000000000000000000")}, false},
		{"1.0", Secret{"n": json.Number("1.0")}, true},
		{"-0", Secret{"n": json.Number("-0")}, false},
		{"-0.0", Secret{"n": json.Number("-0.0")}, true},
		{"1E5", Secret{"n": json.Number("1E5")}, true},
		{"1e300 as json.Number", Secret{"n": json.Number("1e300")}, true},
		{"1e+300 as json.Number", Secret{"n": json.Number("1e+300")}, false},
		{"1e308 as float64", Secret{"n": 1e308}, false},
		{"1e308 as json.Number", Secret{"n": json.Number("1e308")}, true},
		{"max float64", Secret{"n": math.MaxFloat64}, false},
		{"smallest float64", Secret{"n": math.SmallestNonzeroFloat64}, false},
		{"1e-7 as float64", Secret{"n": 1e-7}, false},
		{"1e-07 as json.Number", Secret{"n": json.Number("1e-07")}, true},
		{"0.1", Secret{"n": 0.1, "m": json.Number("0.1")}, false},
		{"float32", Secret{"n": float32(0.1)}, false},
		{"more digits than float64 holds", Secret{"n": json.Number("0.1000000000000000000001")}, true},
		{"beyond float64", Secret{"n": json.Number("1e400")}, true},
		{"below float64", Secret{"n": json.Number("1e-400")}, true},
		{"huge integer", Secret{"n": json.Number("123456789012345678901234567890")}, true},
		{"big number nested in an array", Secret{"a": []any{1, "x", json.Number("12345678901234567")}}, true},

		{"reserved key on top", Secret{exactKey: "{}"}, true},
		{"reserved key nested", Secret{"a": map[string]any{exactKey: "x"}}, false},
		{"reserved key as a value", Secret{"a": exactKey}, false},
		{"reserved key beside a nested object", Secret{"a": map[string]any{"b": 1}, exactKey: 2}, true},
		{"digits in strings only", Secret{"a": "12345678901234567890", "v": "1.5e3"}, false},

		{"nested 100 deep", nested(envelopeDepth, true), false},
		{"nested 101 deep", nested(envelopeDepth+1, true), true},
		{"nested 1,000 deep", nested(1000, true), true},
		{"arrays nested 1,000 deep", nested(1000, false), true},
		{"1,000 entries", Secret{"a": make([]any, envelopeEntries)}, false},
		{"1,001 entries", Secret{"a": make([]any, envelopeEntries+1)}, true},
		{"1,001 keys", wide(envelopeEntries + 1), true},
		{"900 KB", Secret{"blob": strings.Repeat("0123456789", 90_000)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			back, envelope := throughVault(t, tt.value)
			assert.Equal(t, asWritten(t, tt.value), back)
			assert.Equal(t, tt.envelope, envelope, "stored in the envelope")
		})
	}
}

// wide returns a value of n top-level keys.
func wide(n int) Secret {
	s := Secret{}
	for i := range n {
		s[fmt.Sprintf("k%05d", i)] = i
	}
	return s
}

// TestRoundTripExactSpelling reads numbers back spelled as written, as
// json.Number, whatever float64 makes of them.
func TestRoundTripExactSpelling(t *testing.T) {
	for _, n := range []string{"1.0", "1e21", "1000000000000000000000", "9007199254740993", "1e308", "-0", "-0.0", "0.10", "1E+2", "5e-324", "2e-324"} {
		t.Run(n, func(t *testing.T) {
			back, _ := throughVault(t, Secret{"n": json.Number(n)})
			assert.Equal(t, json.Number(n), back["n"])
		})
	}
}

// TestSimulatedVaultChangesWhatTheEnvelopeKeeps checks the simulation:
// what the envelope protects really changes when stored field by field.
func TestSimulatedVaultChangesWhatTheEnvelopeKeeps(t *testing.T) {
	tests := []struct {
		stored string
		want   string // "" when Vault fails
	}{
		{`{"n":1000000000000000000000}`, `{"n":1e+21}`},
		{`{"n":1.0}`, `{"n":1}`},
		{`{"n":9007199254740993}`, `{"n":9007199254740992}`},
		{`{"n":1e-07}`, `{"n":1e-7}`},
		{`{"n":1e400}`, ""},
		{`{"s":"\ud800"}`, `{"s":"` + "\ufffd" + `"}`},
		{`{"a":1,"a":2}`, `{"a":2}`},
		{`{"n":2,"m":1.5,"s":"x"}`, `{"m":1.5,"n":2,"s":"x"}`},
		{string(must(json.Marshal(nested(vaultMaxJSONDepth-1, true)))), string(must(json.Marshal(nested(vaultMaxJSONDepth-1, true))))},
		{string(must(json.Marshal(nested(vaultMaxJSONDepth, true)))), ""}, // the request body is one level deeper
		{string(must(json.Marshal(Secret{"a": make([]any, vaultMaxJSONEntries)}))), `{"a":[` + strings.Repeat("null,", vaultMaxJSONEntries-1) + `null]}`},
		{string(must(json.Marshal(Secret{"a": make([]any, vaultMaxJSONEntries+1)}))), ""},
		{string(must(json.Marshal(wide(vaultMaxJSONEntries + 1)))), ""},
		{`{"s":"` + strings.Repeat("x", vaultMaxJSONStringLen+1) + `"}`, ""},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			got, err := simulateVault([]byte(tt.stored))
			if tt.want == "" {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestKVValueSize(t *testing.T) {
	// blob returns a value whose JSON encoding is exactly n bytes.
	blob := func(n int) Secret {
		return Secret{"b": strings.Repeat("x", n-len(`{"b":""}`))}
	}
	tests := []struct {
		name  string
		value Secret
		ok    bool
	}{
		{"900 KB", blob(900_000), true},
		{"MaxValueSize", blob(MaxValueSize), true},
		{"MaxValueSize+1", blob(MaxValueSize + 1), false},
		// 600 KB of quotes takes 1.2 MB escaped again in the envelope.
		{"envelope over the limit", Secret{"q": strings.Repeat(`"`, 300_000), "n": json.Number("1.0")}, false},
		{"envelope under the limit", Secret{"q": strings.Repeat(`"`, 200_000), "n": json.Number("1.0")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, err := kvValue(tt.value)
			if !tt.ok {
				require.Error(t, err)
				assert.Nil(t, stored)
				return
			}
			require.NoError(t, err)
			assert.LessOrEqual(t, len(stored), MaxValueSize)
			back, _ := throughVault(t, tt.value)
			assert.Equal(t, asWritten(t, tt.value), back)
		})
	}
}

func TestInspect(t *testing.T) {
	tests := []struct {
		in       string
		envelope bool
		err      error
	}{
		{`{"a":"b"}`, false, nil},
		{`{"a":"\ufffd"}`, false, errInvalidUTF8},
		{`{"a":"\uFFFD"}`, false, errInvalidUTF8},
		{`{"a":"\\ufffd"}`, false, nil},
		{`{"a":"\\\ufffd"}`, false, errInvalidUTF8},
		{`{"a":"\"\ufffd"}`, false, errInvalidUTF8},
		{`{"a":"\u00e9\ufffd"}`, false, errInvalidUTF8},
		{`{"a":"\u00e9"}`, false, nil},
		{`{"a":"\\"}`, false, nil},
		{`{"a":"\ud83d\udd11"}`, false, nil},
		{`{"a":"\\ud800"}`, false, nil},
		{`{"a":"\ud800\\udc00"}`, false, errSurrogate},
		{`{"a":"\ud800"}`, false, errSurrogate},
		{`{"a":1,"b":{"a":1},"c":[{"a":1}]}`, false, nil},
		{`{"b":1,"a":2}`, false, nil},
		{`{"b":1,"a":2,"b":3}`, false, errDuplicate},
		{`{"b":{"x":1,"x":2},"a":2}`, false, errDuplicate},
		{`{"a":[{"k":1},{"k":1}],"b":{"k":{"k":1}}}`, false, nil},
		{`{"a":1.5}`, false, nil},
		{`{"a":1.50}`, true, nil},
		{`{"a":[1,2,3,-4]}`, false, nil},
		{`{"` + exactKey + `":1}`, true, nil},
		{`{"a":{"` + exactKey + `":1}}`, false, nil},
		{`{"a":"` + exactKey + `"}`, false, nil},
		{`{"a":true,"b":false,"c":null,"d":"x"}`, false, nil},
		{`{"a":`, false, errMalformed},
		{`{"a":"x`, false, errMalformed},
		{`{"a":"\u12"}`, false, errMalformed},
		{`}`, false, errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			envelope, err := inspect([]byte(tt.in))
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.envelope, envelope)
		})
	}
}

func TestVaultKeeps(t *testing.T) {
	tests := []struct {
		n    string
		want bool
	}{
		{"0", true},
		{"-0", true},
		{"-12", true},
		{"999999999999999", true},
		{"1000000000000000", true},
		{"9007199254740992", true},  // 2^53
		{"9007199254740993", false}, // 2^53+1
		{"9223372036854775807", false},
		{"-9223372036854775808", false}, // -2^63 is a float64, but Vault prints it shortest: -9223372036854776000
		{"-9223372036854776000", true},
		{"18446744073709551615", false},
		{"100000000000000000000", true},   // 1e20, printed in full
		{"1000000000000000000000", false}, // 1e21, printed 1e+21
		{"1e+21", true},
		{"1e21", false},
		{"0.1", true},
		{"3.5", true},
		{"1.0", false},
		{"-0.0", false},
		{"0.10", false},
		{"1e300", false},
		{"1e+300", true},
		{"1E-7", false},
		{"1e-7", true},
		{"1e-07", false},
		{"0.000001", true},
		{"0.0000001", false},
		{"0.30000000000000004", true},
		{"0.1000000000000000000001", false},
		{"1e400", false},
		{"1e-400", false},
		{"123456789012345678901234567890", false},
	}
	for _, tt := range tests {
		t.Run(tt.n, func(t *testing.T) {
			assert.Equal(t, tt.want, vaultKeeps([]byte(tt.n)))
		})
	}
}

// TestAppendVaultFloat checks appendVaultFloat against encoding/json on
// special and random float64 values.
func TestAppendVaultFloat(t *testing.T) {
	values := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e20, 1e21, 1e-6, 1e-7, 9.999999999999999e20, 9.99999e-7,
		math.MaxFloat64, math.SmallestNonzeroFloat64, -math.MaxFloat64, 1 << 53, 1<<53 + 2, 123456789.125, 5e-324, 1e-10, 1e100}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], r.Uint64())
		f := math.Float64frombits(binary.LittleEndian.Uint64(b[:]))
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			values = append(values, f)
		}
	}
	for _, f := range values {
		want, err := json.Marshal(f)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendVaultFloat(nil, f)), "%b", f)
		assert.True(t, vaultKeeps(want), "%s", want)
	}
}

func TestDecodeSecretKeepsNumbers(t *testing.T) {
	s, err := decodeSecret(json.RawMessage(`{"big":9223372036854775807,"tenth":0.1,"huge":123456789012345678901234567890,"one":1.0}`))
	require.NoError(t, err)
	assert.Equal(t, json.Number("9223372036854775807"), s["big"])
	assert.Equal(t, json.Number("0.1"), s["tenth"])
	assert.Equal(t, json.Number("123456789012345678901234567890"), s["huge"])
	assert.Equal(t, json.Number("1.0"), s["one"])
}

func TestDecodeSecret(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want Secret // nil: an error wrapping ErrUndecodable
	}{
		{"object", `{"a":1}`, Secret{"a": json.Number("1")}},
		{"empty object", `{}`, Secret{}},
		{"envelope", `{"_edge_json":"{\"n\":1.0}"}`, Secret{"n": json.Number("1.0")}},
		{"envelope with spaces", `{"_edge_json":" {\"n\":1} \n"}`, Secret{"n": json.Number("1")}},
		{"envelope holding the reserved key", `{"_edge_json":"{\"_edge_json\":\"x\"}"}`, Secret{exactKey: "x"}},
		{"reserved key beside another", `{"_edge_json":"hello","b":1}`, Secret{exactKey: "hello", "b": json.Number("1")}},
		{"reserved key holding a number", `{"_edge_json":5}`, Secret{exactKey: json.Number("5")}},
		{"reserved key holding an object", `{"_edge_json":{"a":1}}`, Secret{exactKey: map[string]any{"a": json.Number("1")}}},

		{"foreign envelope", `{"_edge_json":"hello"}`, nil},
		{"envelope of an empty string", `{"_edge_json":""}`, nil},
		{"envelope of an array", `{"_edge_json":"[1]"}`, nil},
		{"envelope of null", `{"_edge_json":"null"}`, nil},
		{"envelope with trailing data", `{"_edge_json":"{\"a\":1} x"}`, nil},
		{"envelope of two objects", `{"_edge_json":"{\"a\":1}{\"b\":2}"}`, nil},
		{"envelope cut short", `{"_edge_json":"{\"a\":"}`, nil},
		{"array", `[1,2]`, nil},
		{"string", `"x"`, nil},
		{"number", `1`, nil},
		{"null", `null`, nil},
		{"object with trailing data", `{"a":1} x`, nil},
		{"two objects", `{"a":1}{"a":2}`, nil},
		{"invalid JSON", `{"a":}`, nil},
		{"empty", ``, nil},
		{"too deep", strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeSecret([]byte(tt.raw))
			if tt.want == nil {
				assert.ErrorIs(t, err, ErrUndecodable)
				assert.NotContains(t, err.Error(), ErrUndecodable.Error(), "the caller's *Error says it once, as its Kind")
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeKVResponse(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		want       Secret
		undecoable bool // else an error of no kind
	}{
		{"value", `{"data":{"data":{"a":"b"},"metadata":{}}}` + "\n", Secret{"a": "b"}, false},
		{"envelope", string(vaultReadBody([]byte(`{"_edge_json":"{\"n\":1e21}"}`))), Secret{"n": json.Number("1e21")}, false},
		{"no data", `{"data":null}`, nil, true},
		{"no data.data", `{"data":{"metadata":{}}}`, nil, true},
		{"null data.data", `{"data":{"data":null}}`, nil, true},
		{"data.data a string", `{"data":{"data":"x"}}`, nil, true},
		{"data.data an array", `{"data":{"data":[]}}`, nil, true},
		{"foreign envelope", `{"data":{"data":{"_edge_json":"hello"}}}`, nil, true},
		{"not JSON", `<html>`, nil, false},
		{"empty", ``, nil, false},
		{"data a string", `{"data":"x"}`, nil, false},
		{"trailing data", `{"data":{"data":{}}} {}`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeKVResponse(strings.NewReader(tt.body))
			if tt.want != nil {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			require.Error(t, err)
			assert.Nil(t, got)
			assert.Equal(t, tt.undecoable, errors.Is(err, ErrUndecodable), "%v", err)
		})
	}
}

func TestDecodeErrorsHideTheValue(t *testing.T) {
	for _, body := range []string{
		`{"data":{"data":{"_edge_json":"hunter2"}}}`,
		`{"data":{"data":"hunter2"}}`,
		`{"data":{"data":{"a":"hunter2"}} hunter2`,
		`hunter2`,
	} {
		_, err := decodeKVResponse(strings.NewReader(body))
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "hunter2")
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

// BenchmarkEncodeSecretLarge measures a write of 900 KB: most of the
// checks' time is spent in the strings.
func BenchmarkEncodeSecretLarge(b *testing.B) {
	value := Secret{"cert": strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n", 20_000), "n": 1}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kvValue(value); err != nil {
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
