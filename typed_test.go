package edge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	"github.com/edgesdk/edge/internal/scopes"
)

// secretText is planted in values that a conversion refuses: no error
// may quote it.
const secretText = "hunter2-do-not-print"

// dbConfig is a service's configuration, as kept in a struct.
type dbConfig struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	User     string `json:"user"`
	Password string `json:"password"`
	MaxConns int64  `json:"max_conns"`
	TLS      bool   `json:"tls,omitempty"`
}

// Base is embedded in tagged: its fields are promoted to the top level.
type Base struct {
	Region string `json:"region"`
}

// tagged exercises encoding/json's struct tags.
type tagged struct {
	Base
	Renamed  string  `json:"renamed"`
	Omitted  string  `json:"omitted,omitempty"`
	Skipped  string  `json:"-"`
	Quoted   int64   `json:"quoted,string"`
	Untagged float64 // key "Untagged"
	private  string
}

// upper marshals itself as text, in upper case, and back in lower case.
type upper string

func (u upper) MarshalText() ([]byte, error) { return []byte(strings.ToUpper(string(u))), nil }
func (u *upper) UnmarshalText(b []byte) error {
	*u = upper(strings.ToLower(string(b)))
	return nil
}

// pair marshals itself as a JSON object of its own shape.
type pair struct{ a, b int }

func (p pair) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]int{"first": p.a, "second": p.b})
}

func (p *pair) UnmarshalJSON(b []byte) error {
	var m map[string]int
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	p.a, p.b = m["first"], m["second"]
	return nil
}

// shaped returns a value that marshals to the JSON text raw.
type shaped string

func (s shaped) MarshalJSON() ([]byte, error) { return []byte(s), nil }

// failing fails to marshal and to unmarshal, with errors that quote a
// secret.
type failing struct{}

func (failing) MarshalJSON() ([]byte, error) { return nil, errors.New("cannot marshal " + secretText) }
func (*failing) UnmarshalJSON([]byte) error  { return errors.New("cannot unmarshal " + secretText) }

// textKey is a map key whose MarshalText makes every key the same.
type textKey int

func (textKey) MarshalText() ([]byte, error) { return []byte("same"), nil }

func TestSecretOf(t *testing.T) {
	t.Parallel()
	when := time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.UTC)
	tests := []struct {
		name string
		v    any
		want edge.Secret
	}{
		{"struct", dbConfig{Host: "db", Port: 5432, User: "svc", Password: "pw", MaxConns: 20},
			edge.Secret{"host": "db", "port": json.Number("5432"), "user": "svc", "password": "pw", "max_conns": json.Number("20")}},
		{"pointer to struct", &dbConfig{Host: "db", TLS: true},
			edge.Secret{"host": "db", "port": json.Number("0"), "user": "", "password": "", "max_conns": json.Number("0"), "tls": true}},
		{"json tags and an embedded struct", tagged{Base: Base{"eu"}, Renamed: "r", Skipped: "s", Quoted: math.MaxInt64, Untagged: 0.1, private: "p"},
			edge.Secret{"region": "eu", "renamed": "r", "quoted": "9223372036854775807", "Untagged": json.Number("0.1")}},
		{"map with string keys", map[string]int{"a": 1, "b": -2},
			edge.Secret{"a": json.Number("1"), "b": json.Number("-2")}},
		{"map with integer keys", map[int]bool{10: true, -1: false},
			edge.Secret{"10": true, "-1": false}},
		{"a Secret is copied, its numbers made json.Number", edge.Secret{"n": 7, "f": 0.5, "l": []int{1}, "m": map[string]float32{"x": 1.5}},
			edge.Secret{"n": json.Number("7"), "f": json.Number("0.5"), "l": []any{json.Number("1")}, "m": map[string]any{"x": json.Number("1.5")}}},
		{"extreme numbers keep every digit", struct {
			MaxInt  int64
			MinInt  int64
			MaxUint uint64
			Tenth   float64
			Big     float64
			Tiny    float64
			F32     float32
		}{math.MaxInt64, math.MinInt64, math.MaxUint64, 0.1, 1e308, math.SmallestNonzeroFloat64, 0.1},
			edge.Secret{"MaxInt": json.Number("9223372036854775807"), "MinInt": json.Number("-9223372036854775808"),
				"MaxUint": json.Number("18446744073709551615"), "Tenth": json.Number("0.1"), "Big": json.Number("1e+308"),
				"Tiny": json.Number("5e-324"), "F32": json.Number("0.1")}},
		{"bytes, time, text and JSON marshalers", struct {
			B    []byte
			T    time.Time
			U    upper
			P    pair
			Addr netip.Addr
		}{[]byte{0, 1, 0xfe, 0xff}, when, "abc", pair{1, 2}, netip.MustParseAddr("10.0.0.1")},
			edge.Secret{"B": "AAH+/w==", "T": "2024-02-29T23:59:59.123456789Z", "U": "ABC",
				"P": map[string]any{"first": json.Number("1"), "second": json.Number("2")}, "Addr": "10.0.0.1"}},
		{"a MarshalJSON that writes an object", pair{3, 4},
			edge.Secret{"first": json.Number("3"), "second": json.Number("4")}},
		{"a json.RawMessage object", json.RawMessage(` {"n": 1e21, "s": "\u00e9"} `),
			edge.Secret{"n": json.Number("1e21"), "s": "é"}},
		{"nested values, nil pointers and unicode", struct {
			Tags  []string
			Inner *Base
			None  *Base
			Uni   string            `json:"clé"`
			Keys  map[string]string // keys that are no valid tag
		}{[]string{"a", "b"}, &Base{"us"}, nil, "日本語\u2028<&>", map[string]string{"🔑 key\n": "v"}},
			edge.Secret{"Tags": []any{"a", "b"}, "Inner": map[string]any{"region": "us"}, "None": nil, "clé": "日本語\u2028<&>",
				"Keys": map[string]any{"🔑 key\n": "v"}}},
		{"empty struct", struct{}{}, edge.Secret{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := edge.SecretOf(tt.v)
			require.NoError(t, err)
			assert.Equal(t, tt.want.Reveal(), got.Reveal())
			assertNoNativeNumbers(t, got)
		})
	}
}

// assertNoNativeNumbers checks that every number in v is a json.Number,
// as a Read returns them.
func assertNoNativeNumbers(t *testing.T, v any) {
	t.Helper()
	switch v := v.(type) {
	case edge.Secret:
		for _, e := range v {
			assertNoNativeNumbers(t, e)
		}
	case map[string]any:
		for _, e := range v {
			assertNoNativeNumbers(t, e)
		}
	case []any:
		for _, e := range v {
			assertNoNativeNumbers(t, e)
		}
	case nil, string, bool, json.Number:
	default:
		t.Errorf("value of Go type %T, not as a Read returns it", v)
	}
}

func TestSecretOfRefuses(t *testing.T) {
	t.Parallel()
	var nilPtr *dbConfig
	var nilMap map[string]string
	type withChan struct{ C chan int }
	type withFloat struct{ F float64 }
	type withString struct{ S string }
	type withFailing struct{ F failing }
	tests := []struct {
		name string
		v    any
		msg  string // a part of the error's text
	}{
		{"nil", nil, "value is nil"},
		{"nil pointer", nilPtr, "value is nil"},
		{"nil map", nilMap, "value is nil"},
		{"nil Secret", edge.Secret(nil), "value is nil"},
		{"a string", secretText, "value of Go type string encodes to a JSON string, not to a JSON object"},
		{"a number", 42, "value of Go type int encodes to a JSON number"},
		{"a bool", true, "encodes to a JSON bool"},
		{"a slice", []string{secretText}, "value of Go type []string encodes to a JSON array"},
		{"a MarshalJSON that writes an array", shaped(`["` + secretText + `"]`), "value of Go type edge_test.shaped encodes to a JSON array"},
		{"a channel", withChan{make(chan int)}, "value holds a chan int, which is not JSON-encodable"},
		{"a func", map[string]any{"f": func() {}}, "value holds a func(), which is not JSON-encodable"},
		{"NaN", withFloat{math.NaN()}, "NaN, ±Inf or a cycle"},
		{"+Inf", withFloat{math.Inf(1)}, "NaN, ±Inf or a cycle"},
		{"a failing MarshalJSON", withFailing{}, "edge_test.failing whose MarshalJSON or MarshalText method failed"},
		{"a MarshalJSON that writes invalid JSON", map[string]any{"x": shaped(`{"` + secretText)}, "edge_test.shaped whose MarshalJSON"},
		{"a time out of RFC 3339's range", struct{ T time.Time }{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, "time.Time whose MarshalJSON"},
		{"invalid UTF-8", withString{secretText + "\xff"}, "invalid UTF-8"},
		{"an unpaired surrogate escape", map[string]any{"r": json.RawMessage(`"\ud800` + secretText + `"`)}, "unpaired UTF-16 surrogate"},
		{"map keys whose MarshalText collide", map[textKey]string{1: secretText, 2: secretText}, "same key twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := edge.SecretOf(tt.v)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.ErrorIs(t, err, edge.ErrBadEntry)
			var e *edge.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, "encode", e.Op)
			assert.Contains(t, err.Error(), tt.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "edge: encode: bad entry: "), err.Error())
			assertQuotesNothing(t, err)
		})
	}
}

// assertQuotesNothing checks that err, and every error it wraps, quotes
// none of the values the tests plant.
func assertQuotesNothing(t *testing.T, err error) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, v := range []string{secretText, "300", "1.5", "2024-13", "\xff"} {
			assert.NotContains(t, e.Error(), v)
		}
		assert.NotContains(t, fmt.Sprintf("%#v", e), secretText)
	}
}

// settings is a struct to decode secrets into.
type settings struct {
	Name    string            `json:"name"`
	Port    int               `json:"port"`
	Max     int64             `json:"max"`
	Umax    uint64            `json:"umax"`
	Ratio   float64           `json:"ratio"`
	Small   int8              `json:"small"`
	Tags    []string          `json:"tags"`
	Limits  map[string]int    `json:"limits"`
	Inner   Base              `json:"inner"`
	Ptr     *int64            `json:"ptr"`
	When    time.Time         `json:"when"`
	Blob    []byte            `json:"blob"`
	Quoted  uint64            `json:"quoted,string"`
	Up      upper             `json:"up"`
	Pair    pair              `json:"pair"`
	Any     any               `json:"any"`
	AnyMap  map[string]any    `json:"any_map"`
	Strings map[string]string `json:"strings"`
	Fail    *failing          `json:"fail"`
}

func TestSecretDecode(t *testing.T) {
	t.Parallel()
	maxInt := int64(math.MaxInt64)
	when := time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.UTC)
	tests := []struct {
		name string
		s    edge.Secret
		want settings
	}{
		{"values as a Read returns them",
			edge.Secret{"name": "svc", "port": json.Number("5432"), "max": json.Number("9223372036854775807"),
				"umax": json.Number("18446744073709551615"), "ratio": json.Number("0.1"), "small": json.Number("-128"),
				"tags": []any{"a", "b"}, "limits": map[string]any{"x": json.Number("1")},
				"inner": map[string]any{"region": "eu"}, "ptr": json.Number("9223372036854775807"),
				"when": "2024-02-29T23:59:59.123456789Z", "blob": "AAH+/w==", "quoted": "18446744073709551615",
				"up": "ABC", "pair": map[string]any{"first": json.Number("1"), "second": json.Number("2")},
				"any": json.Number("1e21"), "any_map": map[string]any{"n": json.Number("1.0"), "l": []any{json.Number("2")}}},
			settings{Name: "svc", Port: 5432, Max: math.MaxInt64, Umax: math.MaxUint64, Ratio: 0.1, Small: -128,
				Tags: []string{"a", "b"}, Limits: map[string]int{"x": 1}, Inner: Base{"eu"}, Ptr: &maxInt,
				When: when, Blob: []byte{0, 1, 0xfe, 0xff}, Quoted: math.MaxUint64, Up: "abc", Pair: pair{1, 2},
				Any: json.Number("1e21"), AnyMap: map[string]any{"n": json.Number("1.0"), "l": []any{json.Number("2")}}}},
		{"values as a program writes them",
			edge.Secret{"name": "svc", "port": 5432, "max": int64(math.MaxInt64), "umax": uint64(math.MaxUint64),
				"ratio": 0.1, "small": int8(-128), "tags": []string{"a", "b"}, "limits": map[string]int{"x": 1},
				"inner": Base{"eu"}, "ptr": &maxInt, "when": when, "blob": []byte{0, 1, 0xfe, 0xff},
				"quoted": "18446744073709551615", "up": upper("abc"), "pair": pair{1, 2},
				"any": 7, "any_map": map[string]any{"n": 1.5}},
			settings{Name: "svc", Port: 5432, Max: math.MaxInt64, Umax: math.MaxUint64, Ratio: 0.1, Small: -128,
				Tags: []string{"a", "b"}, Limits: map[string]int{"x": 1}, Inner: Base{"eu"}, Ptr: &maxInt,
				When: when, Blob: []byte{0, 1, 0xfe, 0xff}, Quoted: math.MaxUint64, Up: "abc", Pair: pair{1, 2},
				Any: json.Number("7"), AnyMap: map[string]any{"n": json.Number("1.5")}}},
		{"json.RawMessage entries",
			edge.Secret{"tags": json.RawMessage(`["x"]`), "inner": json.RawMessage(`{"region":"ap"}`), "max": json.RawMessage(`9223372036854775807`)},
			settings{Tags: []string{"x"}, Inner: Base{"ap"}, Max: math.MaxInt64}},
		{"keys match case-insensitively, unknown keys are ignored, null leaves a zero",
			edge.Secret{"NAME": "svc", "Port": json.Number("1"), "unknown": "x", "ptr": nil, "fail": nil},
			settings{Name: "svc", Port: 1}},
		{"empty secret", edge.Secret{}, settings{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got settings
			require.NoError(t, tt.s.Decode(&got))
			assert.Equal(t, tt.want, got)
		})
	}

	t.Run("into a map or a Secret", func(t *testing.T) {
		s := edge.Secret{"n": int64(math.MaxInt64), "f": 0.1}
		var m map[string]any
		require.NoError(t, s.Decode(&m))
		assert.Equal(t, map[string]any{"n": json.Number("9223372036854775807"), "f": json.Number("0.1")}, m)
		var ints map[string]float64
		require.NoError(t, s.Decode(&ints))
		assert.Equal(t, map[string]float64{"n": 9223372036854775807, "f": 0.1}, ints)
	})
	t.Run("fields not in the secret keep their values", func(t *testing.T) {
		got := settings{Name: "kept", Port: 1}
		require.NoError(t, edge.Secret{"port": 2}.Decode(&got))
		assert.Equal(t, settings{Name: "kept", Port: 2}, got)
	})
}

func TestSecretDecodeRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		s      edge.Secret
		target any
		msg    string // a part of the error's text
	}{
		{"a string for an int", edge.Secret{"port": secretText}, &settings{},
			"field port: a JSON string does not decode into Go type int"},
		{"a number out of range", edge.Secret{"small": 300}, &settings{},
			"field small: a JSON number that Go type int8 cannot hold (out of range, or not an integer)"},
		{"a fraction for an int", edge.Secret{"port": 1.5}, &settings{},
			"field port: a JSON number that Go type int cannot hold"},
		{"1e21 for an int64", edge.Secret{"max": json.Number("1e21")}, &settings{},
			"field max: a JSON number that Go type int64 cannot hold"},
		{"an object for a slice", edge.Secret{"tags": map[string]any{"k": secretText}}, &settings{},
			"field tags: a JSON object does not decode into Go type []string"},
		{"a nested field", edge.Secret{"inner": map[string]any{"region": 300}}, &settings{},
			"field inner.region: a JSON number does not decode into Go type string"},
		{"a field of an embedded struct", edge.Secret{"region": 300}, &tagged{},
			"field Base.region: a JSON number does not decode into Go type string"},
		{"a map value", edge.Secret{"limits": map[string]any{secretText: secretText}}, &settings{},
			"field limits: a JSON string does not decode into Go type int"},
		{"an object for an int", edge.Secret{"a": secretText}, new(int),
			"a JSON object does not decode into Go type int"},
		{"a string that is not a time", edge.Secret{"when": "2024-13-01T00:00:00Z " + secretText}, &settings{},
			"a string that is not an RFC 3339 time does not decode into a time.Time, in edge_test.settings"},
		{"bad base64", edge.Secret{"blob": secretText + "!"}, &settings{},
			"a string that is not standard base64 does not decode into a []byte, in edge_test.settings"},
		{"a number for a TextUnmarshaler", edge.Secret{"up": 1}, &settings{},
			"field up: a JSON number does not decode into Go type edge_test.upper"},
		{"a ,string field holding a word", edge.Secret{"quoted": secretText}, &settings{},
			"a field of Go type uint64 with the ,string option holds a value that is not a JSON string spelling one"},
		{"a ,string field holding a number", edge.Secret{"quoted": 300}, &settings{},
			"with the ,string option"},
		{"a failing UnmarshalJSON", edge.Secret{"fail": map[string]any{"k": secretText}}, &settings{},
			"an UnmarshalJSON or UnmarshalText method refused it"},
		{"a nil Secret", nil, &settings{}, "secret value is nil"},
		{"a value encoding/json refuses", edge.Secret{"port": math.NaN()}, &settings{}, "NaN, ±Inf or a cycle"},
		{"invalid UTF-8", edge.Secret{"name": secretText + "\xff"}, &settings{}, "invalid UTF-8"},
		{"not a pointer", edge.Secret{"port": 1}, settings{}, "decode target (Go type edge_test.settings) is not a non-nil pointer"},
		{"a nil pointer", edge.Secret{"port": 1}, (*settings)(nil), "decode target (Go type *edge_test.settings) is not a non-nil pointer"},
		{"nil", edge.Secret{"port": 1}, nil, "decode target (Go type nil) is not a non-nil pointer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, decode := range []func(any) error{tt.s.Decode, tt.s.DecodeStrict} {
				err := decode(tt.target)
				require.Error(t, err)
				assert.ErrorIs(t, err, edge.ErrBadEntry)
				assert.NotErrorIs(t, err, edge.ErrUndecodable)
				var e *edge.Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, "decode", e.Op)
				assert.Contains(t, err.Error(), tt.msg)
				assert.True(t, strings.HasPrefix(err.Error(), "edge: decode: bad entry: "), err.Error())
				assertQuotesNothing(t, err)
			}
		})
	}
}

func TestSecretDecodeStrict(t *testing.T) {
	t.Parallel()
	type inner struct {
		A int `json:"a"`
	}
	type outer struct {
		Base
		Inner inner            `json:"inner"`
		Free  map[string]any   `json:"free"`
		List  []inner          `json:"list"`
		Ptr   *inner           `json:"ptr"`
		Map   map[string]inner `json:"map"`
	}
	tests := []struct {
		name string
		s    edge.Secret
		msg  string // empty: no error
	}{
		{"known keys", edge.Secret{"region": "eu", "inner": map[string]any{"a": 1}, "list": []any{map[string]any{"a": 2}}}, ""},
		{"keys match case-insensitively", edge.Secret{"REGION": "eu", "Inner": map[string]any{"A": 1}}, ""},
		{"a map takes any key", edge.Secret{"free": map[string]any{"anything": 1}, "map": map[string]any{"k": map[string]any{"a": 1}}}, ""},
		{"unknown top-level key", edge.Secret{"region": "eu", "password": secretText},
			"key password matches no field of edge_test.outer or of a struct in it"},
		{"unknown nested key", edge.Secret{"inner": map[string]any{"b": secretText}}, "key b matches no field"},
		{"unknown key in a slice element", edge.Secret{"list": []any{map[string]any{"zz": 1}}}, "key zz matches no field"},
		{"unknown key behind a pointer", edge.Secret{"ptr": map[string]any{"x.y": 1}}, "key x.y matches no field"},
		{"unknown key in a map value", edge.Secret{"map": map[string]any{"k": map[string]any{"q": 1}}}, "key q matches no field"},
		{"a key that is not plain is quoted", edge.Secret{"pass word\n": 1}, `key "pass word\n" matches no field`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lax, strict outer
			require.NoError(t, tt.s.Decode(&lax), "Decode ignores unknown keys")
			err := tt.s.DecodeStrict(&strict)
			if tt.msg == "" {
				require.NoError(t, err)
				assert.Equal(t, lax, strict)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, edge.ErrBadEntry)
			assert.Contains(t, err.Error(), tt.msg)
			assertQuotesNothing(t, err)
		})
	}
}

// everything holds a field of each kind SecretOf and Decode convert.
type everything struct {
	Embedded
	I       int
	I8      int8
	I16     int16
	I32     int32
	I64     int64
	U       uint
	U8      uint8
	U16     uint16
	U32     uint32
	U64     uint64
	F32     float32
	F64     float64
	B       bool
	S       string
	Bytes   []byte
	T       time.Time
	D       time.Duration
	Ptr     *int64
	StrPtr  *string
	Ints    []int64
	Floats  map[string]float64
	ByInt   map[int64]string
	Arr     [3]uint16
	Nested  Base
	NestPtr *Base
	Nesteds []Base
	AsStr   int64  `json:"as_str,string"`
	Omit    string `json:"omit,omitempty"`
	Skip    string `json:"-"`
	Up      upper
	Pair    pair
	Addr    netip.Addr
}

// Embedded is embedded in everything.
type Embedded struct {
	E  uint64 `json:"e"`
	E2 string
}

func TestTypedRoundTrip(t *testing.T) {
	t.Parallel()
	maxInt := int64(math.MaxInt64)
	empty := ""
	tests := []struct {
		name string
		v    everything
	}{
		{"zero", everything{}},
		{"maxima", everything{
			Embedded: Embedded{math.MaxUint64, "e"},
			I:        math.MaxInt, I8: math.MaxInt8, I16: math.MaxInt16, I32: math.MaxInt32, I64: math.MaxInt64,
			U: math.MaxUint, U8: math.MaxUint8, U16: math.MaxUint16, U32: math.MaxUint32, U64: math.MaxUint64,
			F32: math.MaxFloat32, F64: math.MaxFloat64, D: math.MaxInt64, Ptr: &maxInt,
			Ints: []int64{math.MaxInt64}, Floats: map[string]float64{"max": math.MaxFloat64}, ByInt: map[int64]string{math.MaxInt64: "max"},
			Arr: [3]uint16{math.MaxUint16}, AsStr: math.MaxInt64,
		}},
		{"minima", everything{
			I: math.MinInt, I8: math.MinInt8, I16: math.MinInt16, I32: math.MinInt32, I64: math.MinInt64,
			F32: -math.MaxFloat32, F64: -math.MaxFloat64, D: math.MinInt64,
			Ints: []int64{math.MinInt64}, ByInt: map[int64]string{math.MinInt64: "min"}, AsStr: math.MinInt64,
			T: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		}},
		{"awkward floats", everything{
			F32: 0.1, F64: 0.1,
			Floats: map[string]float64{"1e308": 1e308, "5e-324": math.SmallestNonzeroFloat64, "1e21": 1e21, "2^53+1": 1 << 53, "1/3": 1.0 / 3},
		}},
		{"bytes, times, unicode and empty values", everything{
			S:       "日本語 🔑 \u2028\u2029 \x00 <&> \"\\ \ufffd",
			Bytes:   []byte{0, 1, 0xfe, 0xff},
			T:       time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
			StrPtr:  &empty,
			Ints:    []int64{},
			Floats:  map[string]float64{},
			NestPtr: &Base{"日本"},
			Nesteds: []Base{{"a"}, {}},
			Omit:    "set",
			Up:      "lower",
			Pair:    pair{-1, 1},
			Addr:    netip.MustParseAddr("2001:db8::1"),
		}},
		{"a time with an offset", everything{T: time.Date(2024, 2, 29, 12, 0, 0, 0, time.FixedZone("", 5*3600+30*60))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := edge.SecretOf(tt.v)
			require.NoError(t, err)
			var got everything
			require.NoError(t, s.DecodeStrict(&got))
			assertSameEverything(t, tt.v, got)
		})
	}
}

// assertSameEverything checks that got is want, comparing their times
// with Equal (a decoded time's location is UTC or a fixed zone).
func assertSameEverything(t *testing.T, want, got everything) {
	t.Helper()
	assert.True(t, want.T.Equal(got.T), "time %v, want %v", got.T, want.T)
	assert.Equal(t, want.T.Format(time.RFC3339Nano), got.T.Format(time.RFC3339Nano))
	want.T, got.T = time.Time{}, time.Time{}
	assert.Equal(t, want, got)
}

// TestTypedRoundTripRandom checks Decode(SecretOf(v)) == v for a few
// hundred random values, from a fixed seed.
func TestTypedRoundTripRandom(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 2024))
	for i := range 300 {
		v := randomEverything(r)
		s, err := edge.SecretOf(v)
		require.NoError(t, err, "value %d", i)
		assertNoNativeNumbers(t, s)
		var got everything
		require.NoError(t, s.DecodeStrict(&got), "value %d", i)
		assertSameEverything(t, v, got)
		if t.Failed() {
			t.Fatalf("value %d does not round-trip", i)
		}
	}
}

func randomEverything(r *rand.Rand) everything {
	maybe := func() bool { return r.IntN(3) > 0 }
	var v everything
	v.E, v.E2 = randomUint64(r), randomString(r)
	v.I, v.I8, v.I16, v.I32, v.I64 = int(randomUint64(r)), int8(r.Uint32()), int16(r.Uint32()), int32(r.Uint32()), int64(randomUint64(r))
	v.U, v.U8, v.U16, v.U32, v.U64 = uint(randomUint64(r)), uint8(r.Uint32()), uint16(r.Uint32()), r.Uint32(), randomUint64(r)
	v.F32, v.F64 = float32(randomFloat(r, true)), randomFloat(r, false)
	v.B, v.S, v.D = r.IntN(2) == 0, randomString(r), time.Duration(randomUint64(r))
	if maybe() {
		v.Bytes = make([]byte, r.IntN(40))
		for j := range v.Bytes {
			v.Bytes[j] = byte(r.Uint32())
		}
	}
	// Any time from year 1 to 9999, to the nanosecond.
	const first, last = -62135596800, 253402300799
	v.T = time.Unix(first+r.Int64N(last-first+1), r.Int64N(1e9)).UTC()
	if maybe() {
		n := int64(randomUint64(r))
		v.Ptr = &n
	}
	if maybe() {
		s := randomString(r)
		v.StrPtr = &s
	}
	if maybe() {
		v.Ints = make([]int64, r.IntN(5))
		for j := range v.Ints {
			v.Ints[j] = int64(randomUint64(r))
		}
	}
	if maybe() {
		v.Floats = map[string]float64{}
		for range r.IntN(5) {
			v.Floats[randomString(r)] = randomFloat(r, false)
		}
		v.ByInt = map[int64]string{}
		for range r.IntN(5) {
			v.ByInt[int64(randomUint64(r))] = randomString(r)
		}
	}
	v.Arr = [3]uint16{uint16(r.Uint32()), uint16(r.Uint32()), uint16(r.Uint32())}
	v.Nested = Base{randomString(r)}
	if maybe() {
		v.NestPtr = &Base{randomString(r)}
		v.Nesteds = []Base{{randomString(r)}, {randomString(r)}}
	}
	v.AsStr, v.Omit = int64(randomUint64(r)), randomString(r)
	v.Up = upper(fmt.Sprintf("up-%d", r.IntN(1000))) // ASCII: Unicode case mapping does not round-trip
	v.Pair = pair{int(randomUint64(r)), int(randomUint64(r))}
	if maybe() {
		var a [16]byte
		for j := range a {
			a[j] = byte(r.Uint32())
		}
		v.Addr = netip.AddrFrom16(a)
	}
	return v
}

// randomUint64 is a uniform 64-bit value half of the time, and otherwise
// a small one or one next to an extreme, where spellings go wrong.
func randomUint64(r *rand.Rand) uint64 {
	switch r.IntN(4) {
	case 0:
		return uint64(r.IntN(1000))
	case 1:
		return math.MaxUint64 - uint64(r.IntN(3)) // also MaxInt64 and MinInt64's neighbours, as signed
	case 2:
		return 1<<63 + uint64(r.IntN(3)) - 1
	}
	return r.Uint64()
}

// randomFloat is any finite float64 (or float32), a fraction or an
// integer beyond 2^53.
func randomFloat(r *rand.Rand, single bool) float64 {
	switch r.IntN(3) {
	case 0:
		return float64(r.IntN(1000)) / 10
	case 1:
		return float64(int64(randomUint64(r)))
	}
	for {
		var f float64
		if single {
			f = float64(math.Float32frombits(r.Uint32()))
		} else {
			f = math.Float64frombits(r.Uint64())
		}
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f
		}
	}
}

// randomString is up to 12 code points: ASCII, characters JSON escapes,
// and any Unicode scalar value.
func randomString(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(13) {
		switch r.IntN(3) {
		case 0:
			b.WriteByte(byte(r.IntN(128)))
		case 1:
			b.WriteString([]string{"<", ">", "&", `"`, `\`, "\u2028", "\u2029", "\ufffd", "\x00", "\x7f"}[r.IntN(10)])
		default:
			c := r.Int32N(0x110000)
			if 0xd800 <= c && c <= 0xdfff {
				c = 0x1f511
			}
			b.WriteRune(c)
		}
	}
	return b.String()
}

// TestTypedThroughVault stores a struct as a secret and decodes it back,
// through the real Vault: a value that needs the exact-JSON envelope
// (int64 and uint64 maxima) and one stored field by field.
func TestTypedThroughVault(t *testing.T) {
	t.Parallel()
	vault := edgetest.Start(t)
	ctx := context.Background()
	enveloped := dbConfig{Host: "db.internal", Port: 5432, User: "svc", Password: secretText, MaxConns: math.MaxInt64, TLS: true}
	plain := dbConfig{Host: "db.internal", Port: 5432, User: "svc", Password: secretText, MaxConns: 20}
	forEachScope(t, func(t *testing.T, sess *edge.Session, ops scopes.Ops) {
		for _, tt := range []struct {
			name string
			v    dbConfig
		}{{"enveloped", enveloped}, {"plain", plain}} {
			s, err := edge.SecretOf(tt.v)
			require.NoError(t, err)
			require.NoError(t, ops.Create(ctx, "db-"+tt.name, s))
			read, err := ops.Read(ctx, "db-"+tt.name)
			require.NoError(t, err)
			var got dbConfig
			require.NoError(t, read.DecodeStrict(&got))
			assert.Equal(t, tt.v, got)
		}

		// Every field kind, through the envelope, then updated.
		r := rand.New(rand.NewPCG(1, 2))
		for i := range 3 {
			v := randomEverything(r)
			s, err := edge.SecretOf(v)
			require.NoError(t, err)
			if i == 0 {
				require.NoError(t, ops.Create(ctx, "everything", s))
			} else {
				require.NoError(t, ops.Update(ctx, "everything", s))
			}
			read, err := ops.Read(ctx, "everything")
			require.NoError(t, err)
			var got everything
			require.NoError(t, read.DecodeStrict(&got))
			assertSameEverything(t, v, got)
		}
	})

	t.Run("org member reads an org secret written from a struct", func(t *testing.T) {
		admin, member := vault.NewUser(t), vault.NewUser(t)
		org := vault.NewOrg(t, admin)
		vault.AddMember(t, org, member)
		s, err := edge.SecretOf(enveloped)
		require.NoError(t, err)
		require.NoError(t, vault.Session(t, admin, org).Secrets.CreateOrgSecret(ctx, "team-db", s))
		read, err := vault.Session(t, member, org).Secrets.ReadOrgSecret(ctx, "team-db")
		require.NoError(t, err)
		assert.Equal(t, json.Number("9223372036854775807"), read["max_conns"])
		var got dbConfig
		require.NoError(t, read.Decode(&got))
		assert.Equal(t, enveloped, got)
		assert.Equal(t, int64(math.MaxInt64), got.MaxConns)
	})
}
