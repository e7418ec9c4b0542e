package kvjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"
)

// fastDecodeSeeds are JSON texts at the edges of what the fast decoder
// must decode exactly as encoding/json does, or leave to it.
var fastDecodeSeeds = []string{
	`{}`, ` {} `, "\t{\n}\r\n", `{"a":1}`, `{"a":1,"a":2}`, `{"a":{"a":[]},"b":[{}],"c":[[]]}`,
	`{"n":-0,"m":0.5e-7,"o":1E+21,"p":12345678901234567890123,"q":-1.0}`,
	`{"n":01}`, `{"n":1.}`, `{"n":-}`, `{"n":1e}`, `{"n":.5}`, `{"n":+1}`, `{"n":1x}`,
	`{"t":true,"f":false,"z":null}`, `{"t":tru}`, `{"t":truex}`, `{"z":nul}`, `{"f":False}`,
	`{"s":"plain","e":"\"\\\/\b\f\n\r\t","u":"\u00e9\u20ac\uFFFD\u0000"}`,
	`{"pair":"\ud83d\ude00","lone":"\ud800","low":"\udc00","two":"\ud800\ud800","bad":"\ud800\u0041","end":"\ud800\\"}`,
	`{"bytes":"é€😀","invalid":"` + "\xff\xfe\xc3" + `","surrogate-utf8":"` + "\xed\xa0\x80" + `"}`,
	`{"` + "k\xffey" + `":1}`, `{"k\u0065y":1,"key":2}`, `{"ctl":"` + "\x01" + `"}`, `{"esc":"\x"}`, `{"esc":"\u12"}`,
	`{"a":1,}`, `{"a":1 "b":2}`, `{"a" 1}`, `{a:1}`, `{"a":1}}`, `{"a":1} {}`, `{"a":1} x`, `[1]`, `"x"`, `null`, ``, ` `,
	`{"_edge_json":"{\"n\":1.0}"}`, `{"_edge_json":" {\"n\":1} \n"}`, `{"_edge_json":"hello"}`, `{"_edge_json":"{} x"}`,
	`{"_edge_json":5}`, `{"_edge_json":"{\"_edge_json\":\"x\"}"}`, `{"_edge_json":"x","b":1}`,
	strings.Repeat(`[`, maxDepth-1) + strings.Repeat(`]`, maxDepth-1),
	`{"a":` + strings.Repeat(`[`, maxDepth-1) + strings.Repeat(`]`, maxDepth-1) + `}`,
	`{"a":` + strings.Repeat(`[`, maxDepth) + strings.Repeat(`]`, maxDepth) + `}`,
}

// fastBodies returns Vault answers holding value (a JSON text), and
// answers at the edges of the body's shape.
func fastBodies(value []byte) [][]byte {
	v := string(value)
	return [][]byte{
		value,
		[]byte(`{"data":{"data":` + v + `}}`),
		[]byte(`{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":` + v + `,"metadata":{"created_time":"2025-01-02T03:04:05Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":3}},"wrap_info":null,"warnings":null,"auth":null}` + "\n"),
		[]byte(`{"data":{"metadata":{"x":[1,{"y":"\u00e9"}]},"data":` + v + `}}`),
		[]byte(`{"Data":{"data":` + v + `}}`),
		[]byte(`{"data":{"DATA":` + v + `}}`),
		[]byte(`{"data":{"data":` + v + `},"DaTa":{"data":{}}}`),
		[]byte(`{"data":{"data":{}},"data":{"data":` + v + `}}`),
		[]byte(`{"data":{"data":` + v + `,"data":{}}}`),
		[]byte(`{"d\u0061ta":{"data":` + v + `}}`),
		[]byte(`{"data":null,"data":{"data":` + v + `}}`),
		[]byte(`{"data":{"data":` + v + `}} `),
		[]byte(`{"data":{"data":` + v + `}}}`),
		[]byte(`{"data":{"data":` + v + `}`),
	}
}

// deepBody is an answer whose metadata is nested as deep as
// encoding/json decodes.
var deepBody = []byte(`{"data":{"data":{"a":1}},"x":` + strings.Repeat(`[`, maxDepth-1) + strings.Repeat(`]`, maxDepth-1) + `}`)

// checkFastDecode checks that the fast decoder agrees with encoding/json
// on value, as an object and inside Vault answers: whatever it decodes,
// encoding/json decodes to the same, and decodeObject and
// decodeKVResponse answer exactly as encoding/json alone does.
func checkFastDecode(t *testing.T, value []byte) {
	t.Helper()
	want, wantErr := decodeObjectJSON(value)
	if got, ok := fastObject(value); ok {
		require.NoError(t, wantErr, "fastObject decoded what encoding/json refuses: %q", value)
		require.Equal(t, want, got, "%q", value)
	}
	got, err := decodeObject(value)
	require.Equal(t, want, got)
	require.Equal(t, wantErr, err)

	for _, body := range fastBodies(value) {
		want, wantErr := decodeKVResponseJSON(bytes.NewReader(body))
		if got, ok := fastKVResponse(body); ok {
			require.NoError(t, wantErr, "fastKVResponse decoded what encoding/json refuses: %q", body)
			require.Equal(t, want, got, "%q", body)
		}
		got, err := decodeKVResponse(bytes.NewReader(body))
		require.Equal(t, want, got, "%q", body)
		require.Equal(t, wantErr, err, "%q", body)
	}
}

// listBodies returns Vault list answers whose data.keys is keys (a
// JSON text), and answers at the edges of the body's shape.
func listBodies(keys string) []string {
	return []string{
		keys,
		`{"data":{"keys":` + keys + `}}`,
		`{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,"data":{"keys":` + keys + `},"wrap_info":null,"warnings":null,"auth":null}` + "\n",
		`{"data":{"keys":` + keys + `}} trailing`,
		`{"Data":{"keys":` + keys + `}}`,
		`{"data":{"Keys":` + keys + `}}`,
		`{"data":{"k\u0065ys":` + keys + `}}`,
		`{"data":{"keys":` + keys + `,"keys":["z"]}}`,
		`{"data":{"keys":["z"]},"data":{"keys":` + keys + `}}`,
		`{"data":null}`, `{"data":{}}`, `null`, `[]`, ``,
	}
}

// checkFastList checks that decodeListResponse answers as encoding/json
// alone does, and that fastListResponse decodes nothing else.
func checkFastList(t *testing.T, keys string) {
	t.Helper()
	for _, body := range listBodies(keys) {
		want, wantErr := decodeListResponseJSON(strings.NewReader(body))
		if got, ok := fastListResponse([]byte(body)); ok {
			require.NoError(t, wantErr, "fastListResponse decoded what encoding/json refuses: %q", body)
			slices.Sort(got)
			require.Equal(t, want, got, "%q", body)
		}
		got, err := decodeListResponse(strings.NewReader(body))
		require.Equal(t, want, got, "%q", body)
		require.Equal(t, wantErr, err, "%q", body)
	}
}

func TestFastList(t *testing.T) {
	for _, keys := range []string{
		`[]`, `["a","b","c"]`, `["c","a","b"]`, `["a","folder/","b"]`, `["a",1,null,{"x":"y"},["z"],"b"]`,
		`["\u0061","a b","é","` + strings.Repeat("x", MaxNameLength+1) + `","ok"]`, `["a",]`, `["a"`, `"a"`, `{"a":1}`, `null`,
	} {
		checkFastList(t, keys)
	}
	names := make([]string, 10_000)
	for i := range names {
		names[i] = `"n` + strconv.Itoa(i) + `"`
	}
	checkFastList(t, "["+strings.Join(names, ",")+"]")
}

func TestFastDecodeSeeds(t *testing.T) {
	for _, s := range fastDecodeSeeds {
		checkFastDecode(t, []byte(s))
	}
	for _, body := range [][]byte{deepBody, deepBody[:len(deepBody)-2], append(bytes.Clone(deepBody[:len(deepBody)-1]), "]}"...)} {
		want, wantErr := decodeKVResponseJSON(bytes.NewReader(body))
		got, err := decodeKVResponse(bytes.NewReader(body))
		require.Equal(t, want, got)
		require.Equal(t, wantErr, err)
	}
	// Vault's answers and the benchmarks' values take the fast path.
	for _, size := range []int{1_000, 10_000, 500_000} {
		stored, err := kvValue(BenchValue(size))
		require.NoError(t, err)
		_, ok := fastKVResponse(kvReadBody(stored))
		require.True(t, ok)
		stored, err = kvValue(benchEnvelopeValue(size))
		require.NoError(t, err)
		_, ok = fastKVResponse(kvReadBody(stored))
		require.True(t, ok)
		checkFastDecode(t, stored)
	}
}

// TestFastDecodeRandom decodes random values of every JSON kind, keys
// and strings with escapes, surrogates, invalid UTF-8 and non-ASCII
// letters, written the way Vault writes and with white space.
func TestFastDecodeRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		var b bytes.Buffer
		randomJSONObject(rnd, &b, 0)
		value := b.Bytes()
		checkFastDecode(t, value)
		_, ok := fastObject(value)
		require.True(t, ok, "%q", value)
	}
}

var randomStrings = []string{
	``, `a`, `key`, `é`, `€uro`, `😀`, `\"`, `\\`, `\/`, `\b\f\n\r\t`, `\u0041`, `\u00e9`, `\ufffd`, `\ud83d\ude00`,
	`\ud800`, `\udfff`, `\ud800x`, `\ud800\u0041`, `\ud800\ud800\udc00`, "\xff", "\xc3", "a\xe2\x82", "\xed\xa0\x80", `_edge_json`,
}

func randomJSONString(rnd *rand.Rand, b *bytes.Buffer) {
	b.WriteByte('"')
	for range rnd.IntN(4) {
		b.WriteString(randomStrings[rnd.IntN(len(randomStrings))])
	}
	b.WriteByte('"')
}

func randomSpace(rnd *rand.Rand, b *bytes.Buffer) {
	if rnd.IntN(4) == 0 {
		b.WriteString([]string{" ", "\n", "\t", "\r\n  "}[rnd.IntN(4)])
	}
}

func randomJSONObject(rnd *rand.Rand, b *bytes.Buffer, depth int) {
	b.WriteByte('{')
	n := rnd.IntN(5)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		randomSpace(rnd, b)
		randomJSONString(rnd, b)
		randomSpace(rnd, b)
		b.WriteByte(':')
		randomSpace(rnd, b)
		randomJSONValue(rnd, b, depth+1)
		randomSpace(rnd, b)
	}
	b.WriteByte('}')
}

func randomJSONValue(rnd *rand.Rand, b *bytes.Buffer, depth int) {
	k := rnd.IntN(9)
	if depth > 4 && k < 2 {
		k += 2
	}
	switch k {
	case 0:
		randomJSONObject(rnd, b, depth)
	case 1:
		b.WriteByte('[')
		for i := range rnd.IntN(4) {
			if i > 0 {
				b.WriteByte(',')
			}
			randomSpace(rnd, b)
			randomJSONValue(rnd, b, depth+1)
		}
		b.WriteByte(']')
	case 2, 3:
		randomJSONString(rnd, b)
	case 4:
		b.WriteString([]string{"true", "false", "null"}[rnd.IntN(3)])
	default:
		if rnd.IntN(4) == 0 {
			b.WriteString(strconv.Itoa(rnd.IntN(2000) - 1000))
			break
		}
		b.WriteString([]string{"0", "-0", "1.5", "1e21", "9223372036854775807", "-12.5E-3", "0.1", "1.0"}[rnd.IntN(8)])
	}
}

// FuzzFastDecode: the fast decoder decodes nothing encoding/json
// refuses, and nothing to another value; decodeObject and
// decodeKVResponse answer as encoding/json alone does. Fuzz it with
//
//	go test -run '^$' -fuzz '^FuzzFastDecode$' -fuzztime 60s .
func FuzzFastDecode(f *testing.F) {
	for _, s := range slices.Concat(fastDecodeSeeds, fastDecodeEdges) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		checkFastDecode(t, value)
		checkFastList(t, string(value))
	})
}

// TestFastDecodeSkipsOnlyValidJSON: what the fast decoder walks over
// without decoding (the answer's metadata) is checked as encoding/json
// checks it.
func TestFastDecodeSkipsOnlyValidJSON(t *testing.T) {
	for _, meta := range []string{`{}`, `[1,"a",{"b":null}]`, `tru`, `[1,]`, `{"a"}`, `"` + "\x01" + `"`, `01`, `"\q"`, `[`} {
		body := []byte(`{"data":{"data":{"a":1},"metadata":` + meta + `}}`)
		_, wantErr := decodeKVResponseJSON(bytes.NewReader(body))
		_, ok := fastKVResponse(body)
		require.Equal(t, wantErr == nil, ok, "%s", meta)
	}
}

// checkFastEncode checks that marshal writes s exactly as json.Marshal
// does, or fails as it does.
func checkFastEncode(t *testing.T, s Secret) {
	t.Helper()
	want, wantErr := json.Marshal(s)
	got, err := marshal(object(s)) // a nested object takes the fast path, as a nested edge.Secret does
	require.Equal(t, wantErr, err)
	require.Equal(t, string(want), string(got))
}

var encodeStrings = []string{
	"", "a", "key", "<a href=\"x\">&amp;</a>", "tab\tnew\nline\r\b\f\x00\x01\x1f\x7f", `back\slash "quoted"`, "é€😀",
	"\u2028\u2029", "\xff", "a\xc3", "\xed\xa0\x80", "\ufffd", "_edge_json", strings.Repeat("long ", 40),
}

func randomValue(rnd *rand.Rand, depth int) any {
	k := rnd.IntN(20)
	if depth > 3 && k >= 14 {
		k = rnd.IntN(14)
	}
	switch k {
	case 0:
		return nil
	case 1, 2:
		return encodeStrings[rnd.IntN(len(encodeStrings))]
	case 3:
		return rnd.IntN(2) == 0
	case 4:
		return json.Number([]string{"0", "-1", "1.5e300", "9223372036854775807", "", "01", "1.", "x", "-0.0E+1"}[rnd.IntN(9)])
	case 5:
		return []float64{0, math.Copysign(0, -1), 1, -2.5, 1e-7, 1e21, 1e20, 123456789.125, 1e-320, math.MaxFloat64, math.NaN(), math.Inf(1)}[rnd.IntN(12)]
	case 6:
		return rnd.IntN(2000) - 1000
	case 7:
		return []any{int64(math.MinInt64), int32(-5), uint(7), uint64(math.MaxUint64)}[rnd.IntN(4)]
	case 8:
		return []any{float32(0.1), []byte("bytes"), struct{ A int }{1}, time.Duration(5), json.RawMessage(`{"raw":1}`), int8(3)}[rnd.IntN(6)]
	case 9:
		return []string{"a", "<b>"}
	case 10:
		return map[string]string{"z": "1", "a": "\x00"}
	case 11:
		return []string(nil)
	case 12:
		return map[string]any(nil)
	case 13:
		return []any(nil)
	case 14, 15:
		n := rnd.IntN(5)
		a := make([]any, n)
		for i := range a {
			a[i] = randomValue(rnd, depth+1)
		}
		return a
	case 16:
		return object(randomMap(rnd, depth+1))
	default:
		return randomMap(rnd, depth+1)
	}
}

func randomMap(rnd *rand.Rand, depth int) map[string]any {
	m := map[string]any{}
	for range rnd.IntN(6) {
		m[encodeStrings[rnd.IntN(len(encodeStrings))]+strconv.Itoa(rnd.IntN(3))] = randomValue(rnd, depth)
	}
	return m
}

func TestFastEncodeRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		checkFastEncode(t, Secret(randomMap(rnd, 0)))
	}
	deep := map[string]any{"x": 1}
	for range appendJSONDepth + 5 {
		deep = map[string]any{"d": []any{deep}}
	}
	checkFastEncode(t, Secret(deep))
	for _, size := range []int{100, 10_000, 1_000_000} {
		checkFastEncode(t, BenchValue(size))
	}
}

// FuzzFastEncode: marshal writes what json.Marshal writes, for strings,
// keys and numbers of every kind.
func FuzzFastEncode(f *testing.F) {
	for _, s := range encodeStrings {
		f.Add(s, s, 1.5, int64(-3), "1e3")
	}
	f.Fuzz(func(t *testing.T, key, value string, x float64, n int64, number string) {
		checkFastEncode(t, Secret{
			key: value, "x": x, "n": n, "num": json.Number(number),
			"nested": map[string]any{value: []any{key, x, map[string]string{key: value}}, "s": []string{value}},
		})
	})
}

// fastDecodeEdges are more JSON texts at the edges of encoding/json's
// grammar and unquoting; the FuzzFastDecode seeds include them.
var fastDecodeEdges = []string{
	// Escapes: truncated, unknown, \' (unquote takes it, the scanner does not).
	`{"a":"\u00"}`, `{"a":"\uZZZZ"}`, `{"a":"\u00e"}`, `{"a":"\'"}`, `{"a":"\a"}`, `{"a":"\U0041"}`, `{"a":"\`, `{"a":"\u`, `{"a":"\u0041`,
	`{"a":"\u0000\u001f\u007f\u0080\u07ff\u0800\uffff\uFEFF"}`,
	// Surrogate escapes: pairs, lone, reversed, at the end, followed by
	// a bad escape or a non-surrogate escape.
	`{"a":"\ud83d\ude00","b":"\uD83D\uDE00","c":"\ude00\ud83d","d":"\ud83d","e":"x\udbff\udfff"}`,
	`{"a":"\ud83d\ud83d\ude00","b":"\ud83d\u","c":"\ud83d\uzzzz","d":"\ud83d\n","e":"\ud83d\\ude00","f":"\ud83dx\ude00"}`,
	`{"a":"\udbff","b":"\udc00\udc00","c":"\ud800\ufffd","d":"\ud800\u0000"}`,
	// Raw bytes: control characters are invalid, DEL is not; invalid
	// UTF-8 of every kind (overlong, truncated, beyond U+10FFFF,
	// surrogates, lone continuation bytes), U+FFFD, U+2028 and a BOM.
	"{\"a\":\"\x7f\"}", "{\"a\":\"\x1f\"}", "{\"a\":\"\t\"}", "{\"a\":\"\n\"}", "{\"a\":\"\x00\"}",
	"{\"a\":\"\xc0\x80\",\"b\":\"\xe0\x80\x80\",\"c\":\"\xf0\x9f\x98\",\"d\":\"\xf4\x90\x80\x80\",\"e\":\"\xed\xbf\xbf\",\"f\":\"\x80\",\"g\":\"x\xf0\"}",
	"{\"a\":\"\xef\xbf\xbd\u2028\u2029\",\"b\":\"\xef\xbb\xbf\",\"c\":\"plain ascii that is longer than eight bytes\xff and more\"}",
	"\xef\xbb\xbf{}", "{\"\xff\":1,\"\xfe\":2}", "{\"\xff\":1,\"\\ufffd\":2}", "{\"\\ufffd\":1,\"\xff\":2}",
	// Keys equal once unquoted: the last wins.
	`{"a":1,"\u0061":2}`, `{"\u00e9":1,"é":2}`, `{"":1,"":2}`, `{"a":{"x":1},"a":null}`, `{"a":[1],"a":{"b":2}}`, `{"a":null,"a":[]}`,
	`{"_edge_json":"{}","\u005fedge_json":"{\"a\":1}"}`,
	// Numbers.
	`{"a":-0,"b":-0.0,"c":0e0,"d":0E+0,"e":-1e-0,"f":1e999999999,"g":-1.5E-999999999,"h":123456789012345678901234567890.123456789e-30}`,
	`{"a":-}`, `{"a":--1}`, `{"a":-a}`, `{"a":00}`, `{"a":-01}`, `{"a":1.e1}`, `{"a":.1}`, `{"a":1e+}`, `{"a":1e-}`, `{"a":1.5e}`,
	`{"a":0x10}`, `{"a":Infinity}`, `{"a":NaN}`, `{"a":1_000}`, `{"a":+0}`, `{"a":1.5.5}`, `{"a":1e5e5}`, `{"a":1,"b":2.}`, `{"a":[1e]}`, `{"a":[-]}`,
	`{"a":` + strings.Repeat("9", 1000) + `}`,
	// White space JSON does not know, literals.
	"{\f}", "{\v}", "{\u00a0}", "{\"a\":1}\f", "{\"a\":1}\x00", `{"a":nulll}`, `{"a":True}`, `{"a":nul}`, `{"a":t}`, `{"a":truefalse}`, `{"a":[true,false,null]}`,
	// Structure.
	`{"a":}`, `{"a"::1}`, `{,}`, `{"a":1,,"b":2}`, `{"a":[1,,2]}`, `{"a":[,1]}`, `{"a":[1 2]}`, `{"a":{"b"}}`, `{"a":1`, `{"a`, `{"a":"b`, `{"a":[}`, `{"a":{]}`,
	`{}{}`, `{}]`, `{}}`, `{} {`, `{"a":[[]],"b":{},"c":[{}],"d":[[],{}]}`, `{"":""}`, ` { "a" : [ 1 , { } ] , "b" : "c" } `,
	// Depth: as deep as encoding/json decodes, and one level more.
	strings.Repeat(`{"a":`, maxDepth-1) + `{}` + strings.Repeat(`}`, maxDepth-1),
	strings.Repeat(`{"a":`, maxDepth) + `{}` + strings.Repeat(`}`, maxDepth),
	`{"a":` + strings.Repeat(`[{"b":`, maxDepth/2-1) + `1` + strings.Repeat(`}]`, maxDepth/2-1) + `}`,
	`{"a":` + strings.Repeat(`[{"b":`, maxDepth/2) + `1` + strings.Repeat(`}]`, maxDepth/2) + `}`,
	// The envelope.
	`{"_edge_json":"{\"a\":\"\\u00e9\\ud800\"}"}`, `{"_edge_json":"null"}`, `{"_edge_json":"[]"}`, `{"_edge_json":"{}"}`, `{"_edge_json":""}`,
	`{"_edge_json":"{\"_edge_json\":\"{}\"}"}`, `{"_edge_json":null}`, `{"_edge_\u006Ason":"{\"a\":1}"}`, `{"_edge_json":"{\"a\":1} {}"}`,
	`{"_edge_json":"{\"a\":1}","_edge_json":"{\"b\":2}"}`, `{"_EDGE_JSON":"{\"a\":1}"}`,
	`{"_edge_json":"` + strings.Repeat(`{\"a\":`, maxDepth) + `{}` + strings.Repeat(`}`, maxDepth) + `"}`,
}

// TestFastDecodeEdges: decodeObject and decodeKVResponse answer as
// encoding/json alone does at the edges of the grammar, and valid JSON
// takes the fast path.
func TestFastDecodeEdges(t *testing.T) {
	for _, s := range fastDecodeEdges {
		checkFastDecode(t, []byte(s))
		if _, err := decodeObjectJSON([]byte(s)); err == nil && !strings.HasPrefix(s, strings.Repeat(`{"a":`, 100)) {
			_, ok := fastObject([]byte(s))
			require.True(t, ok, "valid JSON left to encoding/json: %q", s)
		}
	}
}

// TestFastKVResponseEdges: decodeKVResponse answers as encoding/json
// alone does for bodies of every shape, case-insensitive field names,
// merged members and the envelope included.
func TestFastKVResponseEdges(t *testing.T) {
	for _, body := range []string{
		``, ` `, `null`, `[]`, `"x"`, `1`, `{}`, `{"data":null}`, `{"data":{}}`, `{"data":5}`, `{"data":[]}`, `{"data":"x"}`,
		`{"data":{"data":null}}`, `{"data":{"data":[]}}`, `{"data":{"data":"x"}}`, `{"data":{"data":1}}`, `{"data":{"data":{}}}`,
		`{"data":{"data":{"a":1}}} x`, `{"data":{"data":{"a":1}}}{"data":{"data":{"b":1}}}`, `{"data":{"data":{"a":1}}}` + "\n\t\r ",
		// A second "data" merges into the first, or sets it to nil.
		`{"data":{"data":{"a":1}},"data":{"metadata":{}}}`, `{"data":{"data":{"a":1}},"data":null}`, `{"data":{"data":{"a":1},"data":null}}`,
		`{"data":{"data":{"a":1},"Data":null}}`, `{"data":{"data":{"a":1}},"DATA":null}`, `{"DATA":{"data":{"b":2}},"data":{"data":{"a":1}}}`,
		`{"dAtA":{"DaTa":{"a":1}}}`, `{"dat\u0061":{"data":{"a":1}}}`, `{"data":{"dat\u0061":{"a":1}}}`, `{"d\u0041ta":{"data":{"a":1}}}`,
		// Other members are only checked.
		`{"data":{"data":{"a":1},"metadata":{"version":1e999999,"x":"\ud800"}},"warnings":["\u00e9"]}`,
		`{"data":{"data":{"a":1},"metadata":{"version":01}}}`, `{"data":{"data":{"a":1}},"x":"` + "\x01" + `"}`,
		`{"data":{"data":{"a":1}},"x":[1,2,]}`, `{"re\u0071uest_id":"r","data":{"data":{"a":1}}}`, `{"\u212Aeys":1,"data":{"data":{"a":1}}}`,
		// The envelope.
		`{"data":{"data":{"_edge_json":"{\"n\":1.0}"}}}`, `{"data":{"data":{"_edge_json":"{\"n\":1.0}","m":1}}}`,
		`{"data":{"data":{"_edge_json":"[1]"}}}`, `{"data":{"data":{"_edge_json":"{\"n\":1.0"}}}`, `{"data":{"data":{"_edge_json":7}}}`,
		`{"data":{"data":{"_edge_\u006Ason":"{\"n\":1.0}"}}}`, `{"data":{"data":{"_edge_json":"{\"_edge_json\":\"{}\"}"}}}`,
		// Depth counts from the body.
		`{"data":{"data":` + strings.Repeat(`{"a":`, maxDepth-3) + `{}` + strings.Repeat(`}`, maxDepth-3) + `}}`,
		`{"data":{"data":` + strings.Repeat(`{"a":`, maxDepth-2) + `{}` + strings.Repeat(`}`, maxDepth-2) + `}}`,
		`{"data":{"data":{"_edge_json":"` + strings.Repeat(`{\"a\":`, maxDepth-1) + `{}` + strings.Repeat(`}`, maxDepth-1) + `"}}}`,
	} {
		checkKVBody(t, []byte(body))
	}
}

// checkKVBody checks decodeKVResponse and fastKVResponse against
// encoding/json alone on body, read at once and (if small) a byte at a
// time.
func checkKVBody(t *testing.T, body []byte) {
	t.Helper()
	want, wantErr := decodeKVResponseJSON(bytes.NewReader(body))
	if got, ok := fastKVResponse(body); ok {
		require.NoError(t, wantErr, "fastKVResponse decoded what encoding/json refuses: %.200q", body)
		require.Equal(t, want, got, "%.200q", body)
	}
	got, err := decodeKVResponse(bytes.NewReader(body))
	require.Equal(t, want, got, "%.200q", body)
	require.Equal(t, wantErr, err, "%.200q", body)
	if len(body) < 1<<16 {
		got, err = decodeKVResponse(iotest.OneByteReader(bytes.NewReader(body)))
		require.Equal(t, want, got, "%.200q", body)
		require.Equal(t, wantErr, err, "%.200q", body)
	}
}

// TestFastKVResponseLarge: bodies around fastBodyLimit, read into the
// buffer or streamed past it, decode as encoding/json decodes them.
func TestFastKVResponseLarge(t *testing.T) {
	t.Parallel()
	value := `{"a":"x","n":1.0,"s":"\u00e9\ud800"}`
	for _, size := range []int{fastBodyLimit - 1, fastBodyLimit, fastBodyLimit + 1, fastBodyLimit + 2, 3 * fastBodyLimit} {
		for _, tail := range []string{`}`, `}x`, `,}`} {
			t.Run(fmt.Sprintf("%d%s", size, tail), func(t *testing.T) {
				t.Parallel() // megabytes of JSON each: the package's slowest test under -race
				head := `{"data":{"data":` + value + `},"pad":"`
				pad := size - len(head) - len(`"`) - len(tail)
				body := []byte(head + strings.Repeat("p", pad) + `"` + tail)
				require.Len(t, body, size)
				checkKVBody(t, body)
				// And a value that is itself large, after the limit.
				body = []byte(`{"pad":"` + strings.Repeat("p", pad) + `","data":{"data":` + value + `}` + tail)
				checkKVBody(t, body)
			})
		}
	}
}

// errReader returns its data, then err forever, as an HTTP body does
// once its connection failed. With dataWithErr, the last data comes
// with the error.
type errReader struct {
	data        []byte
	err         error
	dataWithErr bool
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 && r.dataWithErr {
		return n, r.err
	}
	return n, nil
}

// TestFastKVResponseReadError: a body cut short by a read error, before
// or after its JSON is complete, below or above fastBodyLimit, is an
// error, as with encoding/json alone.
func TestFastKVResponseReadError(t *testing.T) {
	cut := errors.New("connection reset")
	small := []byte(`{"data":{"data":{"a":1}}}`)
	large := []byte(`{"data":{"data":{"a":1}},"pad":"` + strings.Repeat("p", fastBodyLimit) + `"}`)
	for _, body := range [][]byte{small, large} {
		for _, n := range []int{0, 1, len(body) / 2, len(body) - 1, len(body)} {
			for _, withErr := range []bool{false, true} {
				want, wantErr := decodeKVResponseJSON(&errReader{data: body[:n], err: cut, dataWithErr: withErr})
				got, err := decodeKVResponse(&errReader{data: body[:n], err: cut, dataWithErr: withErr})
				require.Error(t, err)
				require.Nil(t, got)
				require.Equal(t, want, got)
				require.Equal(t, wantErr, err)
			}
		}
	}
}

// TestFastDecodeOwnsItsResults: what decodeKVResponse returns does not
// refer to the pooled buffer the body was read into.
func TestFastDecodeOwnsItsResults(t *testing.T) {
	body := []byte(`{"data":{"data":{"plain":"abcdefghijklmnop","esc":"a\u00e9\n","num":12345.678,"k\u00e9y":["x",{"y":"z"}],"e":{"_edge_json":"x"}}}}`)
	want, err := decodeKVResponseJSON(bytes.NewReader(body))
	require.NoError(t, err)
	got, err := decodeKVResponse(bytes.NewReader(body))
	require.NoError(t, err)
	require.Equal(t, want, got)
	names, err := decodeListResponse(strings.NewReader(`{"data":{"keys":["abcdefghijklmnop","qrstuvwxyz"]}}`))
	require.NoError(t, err)
	// Scribble over every pooled buffer there is to get.
	var taken []*readBuffer
	for range 8 {
		rb := bodyPool.Get().(*readBuffer)
		full := rb.buf.AvailableBuffer()
		full = full[:cap(full)]
		for i := range full {
			full[i] = 'X'
		}
		taken = append(taken, rb)
	}
	for _, rb := range taken {
		rb.release()
	}
	require.Equal(t, want, got)
	require.Equal(t, []string{"abcdefghijklmnop", "qrstuvwxyz"}, names)

	// The same for marshal and its pooled buffer.
	s := Secret{"a": "abcdefghijklmnop"}
	b, err := marshal(s)
	require.NoError(t, err)
	_, err = marshal(Secret{"a": strings.Repeat("Y", 100)})
	require.NoError(t, err)
	require.Equal(t, `{"a":"abcdefghijklmnop"}`, string(b))
}

func TestFastListEdges(t *testing.T) {
	for _, keys := range []string{
		`["K", "Keys", "\u212Aeys"]`, `["a\ud800","\u0061","` + "\xff" + `","a/","","."]`, `[` + strings.Repeat(`[`, 50) + strings.Repeat(`]`, 50) + `,"a"]`,
		`[1e999999,"a"]`, `["a",01]`, `["a"]]`, `[` + strings.Repeat(`[`, maxDepth) + strings.Repeat(`]`, maxDepth) + `]`,
	} {
		checkFastList(t, keys)
	}
	for _, body := range []string{
		`{"data":{"Keys":["a"],"keys":["b"]}}`, "{\"data\":{\"\u212Aeys\":[\"a\"]}}", `{"data":{"keys":["a"]},"Data":{"keys":["b"]}}`,
		`{"data":{"keys":["a"]},"DATA":null}`, `{"data":{"keys":["a"]}}{"data":{"keys":["b"]}}`, `{"data":{"keys":["a"]}`,
	} {
		want, wantErr := decodeListResponseJSON(strings.NewReader(body))
		if got, ok := fastListResponse([]byte(body)); ok {
			require.NoError(t, wantErr, "%q", body)
			slices.Sort(got)
			require.Equal(t, want, got, "%q", body)
		}
		got, err := decodeListResponse(strings.NewReader(body))
		require.Equal(t, want, got, "%q", body)
		require.Equal(t, wantErr, err, "%q", body)
	}
}

// Types appendJSON must leave to json.Marshal: their own MarshalJSON or
// MarshalText, or kinds it does not write.
type (
	marshalerMap    map[string]any
	marshalerString string
	textString      string
	plainMap        map[string]any
	plainFloat      float64
)

func (marshalerMap) MarshalJSON() ([]byte, error)    { return []byte(`{"custom":true}`), nil }
func (marshalerString) MarshalJSON() ([]byte, error) { return []byte(`"custom"`), nil }
func (t textString) MarshalText() ([]byte, error)    { return []byte("text:" + string(t)), nil }

// TestFastEncodeEdges: marshal writes what json.Marshal writes, or
// fails as it does, at the edges of strings, numbers, nil and types.
func TestFastEncodeEdges(t *testing.T) {
	var ascii strings.Builder
	for c := range 0x80 {
		ascii.WriteByte(byte(c))
	}
	strs := []string{
		ascii.String(), "\u2028", "\u2029", "\u2027\u202a", "\xe2\x80", "\xe2\x80\xa8x", "\xe2\x80\xa9", "<>&", "\x7f",
		"\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xef\xbf\xbd", "\xf0\x9f\x98", "\xf0\x9f\x98\x80", "\x80", "é", "\xc3",
	}
	// Every special byte at every position around the 8-byte blocks.
	for pos := range 18 {
		for _, c := range []string{"\"", "\\", "<", ">", "&", "\x00", "\x1f", "\n", "\x80", "\xff", "é", "\u2028"} {
			strs = append(strs, strings.Repeat("a", pos)+c+strings.Repeat("b", 17-pos))
		}
	}
	var values []Secret
	for _, s := range strs {
		values = append(values, Secret{s: s, "l": []any{s}, "ss": []string{s}, "ms": map[string]string{s: s}})
	}
	floats := []float64{
		0, math.Copysign(0, -1), 1e-6, math.Nextafter(1e-6, 0), -1e-6, 1e21, math.Nextafter(1e21, 0), -1e21, 1e20, 1e-7, 1.5e-10,
		123e-20, 5e-324, -5e-324, math.MaxFloat64, -math.MaxFloat64, 0.1 + 0.2, 1 << 53, 1<<53 + 2, 1e100, 1e-100, 12345678.9,
	}
	for _, f := range floats {
		values = append(values, Secret{"f": f, "l": []any{f}})
	}
	for _, n := range []string{"", "0", "-0", "01", "1.", ".1", "1e", "1e+", "1E-5", "-", "+1", " 1", "1 ", "0x1", "NaN", "1e5.0", "١", "-0.0e-0", "1.5e+300", strings.Repeat("9", 400)} {
		values = append(values, Secret{"n": json.Number(n)})
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		values = append(values, Secret{"a": 1, "z": []any{bad}}, Secret{"b": bad})
	}
	cyclic := Secret{"a": 1}
	cyclic["self"] = cyclic
	cyclicSlice := []any{1, nil}
	cyclicSlice[1] = cyclicSlice
	twice := map[string]any{}
	twice["a"], twice["b"] = twice, twice
	values = append(values,
		Secret{}, Secret{"a": nil}, Secret{"a": map[string]any(nil), "b": []any(nil), "c": []string(nil), "d": map[string]string(nil), "e": object(nil)},
		Secret{"a": map[string]any{}, "b": []any{}, "c": []string{}, "d": map[string]string{}, "e": Secret{}},
		Secret{"a": int64(math.MinInt64), "b": int64(math.MaxInt64), "c": uint64(math.MaxUint64), "d": int32(math.MinInt32), "e": uint(0), "f": -1},
		Secret{"\xff": 1, "\ufffd": 2, "\xfe": 3, "<script>": 4, "\u2028": 5, "": 6, "a\x00": 7, "a": 8},
		Secret{"a": marshalerMap{"x": 1}, "b": []any{marshalerString("x")}, "c": textString("t"), "d": plainMap{"x": 1}, "e": plainFloat(1.5)},
		Secret{"a": map[string]any{"m": marshalerMap{}}}, Secret{"t": map[textString]int{"b": 1, "a": 2}}, Secret{"i": map[int]string{10: "a", 9: "b"}},
		Secret{"f32": float32(0.1), "i8": int8(-3), "u8": uint8(3), "b": []byte("bytes\xff"), "raw": json.RawMessage(` {"r" : 1} `), "arr": [2]string{"<", ">"}},
		Secret{"p": new(string), "err": errors.New("x"), "s": struct{ A string }{"<"}},
		Secret{"c": cyclic}, Secret{"c": cyclicSlice}, Secret{"t": twice},
		Secret{"f": func() {}}, Secret{"ch": make(chan int)}, Secret{"a": []any{1, func() {}}},
	)
	for depth := appendJSONDepth - 2; depth <= appendJSONDepth+2; depth++ {
		var v any = map[string]string{"<": ">"}
		for i := range depth {
			if i%2 == 0 {
				v = []any{v}
			} else {
				v = map[string]any{"d": v}
			}
		}
		values = append(values, Secret{"v": v})
	}
	for _, s := range values {
		checkFastEncode(t, s)
	}
	// What has its own encoding never takes the fast path.
	for _, v := range []any{marshalerMap{}, marshalerString(""), textString(""), plainMap{}, plainFloat(0), float32(0), int8(0), []byte{}, json.RawMessage(`1`)} {
		_, ok := appendJSON[object](nil, v, 0)
		require.False(t, ok, "%T", v)
	}
}

// TestKVValueEnvelope: the envelope kvValue writes is what json.Marshal
// writes for it.
func TestKVValueEnvelope(t *testing.T) {
	for _, s := range []Secret{
		{"n": json.Number("1.0"), "s": "<a href=\"x\">&amp;</a>\u2028\\/\n\x00é😀"},
		{exactKey: "x", "k<": "\\\"\\"}, {"n": json.Number("1e400")},
	} {
		encoded, envelope, err := encode(s)
		require.NoError(t, err)
		require.True(t, envelope)
		want, err := json.Marshal(map[string]string{exactKey: string(encoded)})
		require.NoError(t, err)
		got, err := kvValue(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
		back, err := decodeKVResponse(bytes.NewReader(kvReadBody(got)))
		require.NoError(t, err)
		wantBack, err := decodeObjectJSON(encoded)
		require.NoError(t, err)
		require.Equal(t, wantBack, back)
	}
}
