package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// The fuzz targets below run their seeds (f.Add and testdata/fuzz) with
// every go test; fuzz one with
//
//	go test -run '^$' -fuzz '^FuzzName$' -fuzztime 60s .

// FuzzName: every name either is refused, with an error that quotes at
// most a short prefix of it, or is exactly one literal path segment below
// its scope.
func FuzzName(f *testing.F) {
	for _, s := range []string{"my-secret", "A_b-9", "", ".", "..", "a/b", "%2e%2e", "a\x00", "ab\ncd", "é", "'", `"`, strings.Repeat("x", MaxNameLength+1), "hvs.CAESIJ0123456789"} {
		f.Add(s)
	}
	const base = "edge/users/0b1c-ent"
	sc := newScope("user", "secret", base)
	f.Fuzz(func(t *testing.T, name string) {
		err := checkName(name)
		require.Equal(t, err == nil, ValidName(name))
		if err != nil {
			checkMessage(t, err.Error(), name, nameMessages)
			require.ErrorIs(t, sc.check("read", name), ErrBadEntry)
			return
		}
		require.NoError(t, sc.check("read", name))
		for _, scope := range []string{sc.data, sc.meta} {
			p := scope + "/" + name
			require.Equal(t, p, path.Clean(p), "cleaning changes nothing")
			require.Equal(t, p, (&url.URL{Path: p}).EscapedPath(), "escaping changes nothing")
			require.Equal(t, name, url.PathEscape(name))
			require.Equal(t, scope, path.Dir(p), "one segment below the scope")
			require.Equal(t, name, path.Base(p))
			require.Equal(t, strings.Count(scope, "/")+1, strings.Count(p, "/"))
		}
	})
}

// FuzzPath: every mount or prefix either is refused, with an error that
// quotes at most a short prefix of it, or is a clean, relative path of
// valid names, at most MaxPathLength bytes, that escaping leaves as is.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"secret", "kv/team-a", "", "/", "/secret", "secret/", "a//b", "a/../b", "a/./b", "a b", "a%2fb", strings.Repeat("a/", 128) + "a", "hvs.CAESIJ/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := checkPath(p)
		require.Equal(t, err == nil, ValidPath(p))
		require.Equal(t, err == nil, CheckPath(p) == nil)
		if err != nil {
			checkMessage(t, err.Error(), p, pathMessages)
			return
		}
		require.LessOrEqual(t, len(p), MaxPathLength)
		require.False(t, path.IsAbs(p))
		require.Equal(t, p, path.Clean(p))
		require.Equal(t, p, (&url.URL{Path: p}).EscapedPath())
		for _, seg := range strings.Split(p, "/") {
			require.True(t, ValidName(seg), "segment %q", seg)
		}
		// As both mount and prefix, the scope is the path it says.
		sc := newScope("org", p, p+"/orgs/acme")
		require.Equal(t, sc.data, path.Clean(sc.data))
		require.Equal(t, strings.Count(p, "/")*2+4, strings.Count(sc.data, "/"))
	})
}

// The error messages of checkName and checkPath, with the parts that
// vary captured: an optional quoted prefix, the length, the bad byte and
// its offset.
var (
	describedByte = `('(?:\\x[0-9a-f]{2}|\\.|[ -~])'|0x[0-9a-f]{2} \(not ASCII\))`
	excerpted     = `(?:("[ -~]*")\.\.\. )?\((\d+) bytes\)`
	nameMessages  = []*regexp.Regexp{
		regexp.MustCompile(`^name is empty$`),
		regexp.MustCompile(`^name is (\d+) bytes long, more than 256$`),
		regexp.MustCompile(`^name ` + excerpted + ` has ` + describedByte + ` at byte (\d+): only ASCII letters, digits, '-' and '_' are allowed$`),
	}
	pathMessages = []*regexp.Regexp{
		regexp.MustCompile(`^path is empty$`),
		regexp.MustCompile(`^path is (\d+) bytes long, more than 256$`),
		regexp.MustCompile(`^path ` + excerpted + ` has ` + describedByte + ` at byte (\d+): only '/'-separated ASCII letters, digits, '-' and '_' are allowed$`),
		regexp.MustCompile(`^path ` + excerpted + ` has an empty segment: '/' at byte (\d+) starts, ends or doubles it$`),
	}
)

// checkMessage checks that msg, the error for the invalid s, is one of
// the messages, and that the prefix of s it quotes, if any, is short,
// printable and not all of s, and that the numbers it gives are right.
func checkMessage(t *testing.T, msg, s string, messages []*regexp.Regexp) {
	t.Helper()
	var m []string
	for _, re := range messages {
		if m = re.FindStringSubmatch(msg); m != nil {
			break
		}
	}
	require.NotNil(t, m, "unexpected message %q", msg)
	switch len(m) {
	case 1: // empty
		require.Empty(t, s)
	case 2: // too long
		require.Equal(t, strconv.Itoa(len(s)), m[1])
		require.Greater(t, len(s), 256)
	default: // an excerpt
		if m[1] != "" {
			prefix, err := strconv.Unquote(m[1])
			require.NoError(t, err)
			require.LessOrEqual(t, len(prefix), excerptLength)
			require.Less(t, len(prefix), len(s), "never all of it")
			require.True(t, strings.HasPrefix(s, prefix))
		}
		require.Equal(t, strconv.Itoa(len(s)), m[2])
		at, err := strconv.Atoi(m[len(m)-1])
		require.NoError(t, err)
		require.Less(t, at, len(s))
		if len(m) == 5 { // a bad byte
			require.Equal(t, describeByte(s[at]), m[3])
			require.False(t, nameByte(s[at]))
		} else {
			require.Equal(t, byte('/'), s[at])
		}
	}
}

// FuzzValueRoundTrip: every value either is refused by kvValue, for a
// reason, or reads back from (simulated) Vault exactly as written.
// The fuzz input is used twice: decoded as a JSON object with UseNumber,
// which must read back identical, numbers spelled the same; and as a
// json.RawMessage inside a value, which must read back as what the input
// means, or be refused because it holds a duplicate key or what decoders
// would replace.
func FuzzValueRoundTrip(f *testing.F) {
	for _, s := range []string{
		`{"a":"b","n":1}`, `{"n":1.0}`, `{"n":1e21}`, `{"n":9007199254740993}`, `{"n":-0}`, `{"n":1e400}`,
		`{"_edge_json":"{}"}`, `{"a":{"a":{"a":[1,[2,[3]]]}}}`, `{"s":"\ud83d\udd11\u2028\u0000"}`,
		`{"a":1,"a":2}`, `"\ud800"`, `"\udc00\ud800"`, `"\ufffd"`, "\"\xff\"", `[1,2.50,"x"]`, `{"b":1,"a":{"c":1,"c":2}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := decodeObject(data); err == nil {
			stored, err := kvValue(s)
			if err != nil {
				encoded, _ := json.Marshal(s)
				require.Greater(t, 2*len(encoded)+16, MaxValueSize, "refused a value decoded from JSON: %v", err)
			} else {
				require.Equal(t, s, readThroughVault(t, stored))
			}
		}

		value := Secret{"raw": json.RawMessage(data)}
		stored, err := kvValue(value)
		var want any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		decodeErr := dec.Decode(&want)
		if decodeErr == nil {
			if _, err := dec.Token(); err != io.EOF {
				decodeErr = errors.New("trailing data")
			}
		}
		faithful := decodeErr == nil && utf8.Valid(data) && !hasDuplicateKey(data) &&
			countReplacement(want) == bytes.Count(data, []byte("\uFFFD"))
		if err != nil {
			if faithful && len(data) < 2*maxDepth {
				require.NoError(t, err, "refused a faithful JSON value")
			}
			return
		}
		require.True(t, faithful, "accepted a JSON value that decodes to something else")
		back := readThroughVault(t, stored)
		require.Equal(t, Secret{"raw": want}, back)
	})
}

// readThroughVault sends stored through the simulated Vault and decodes
// what a read returns.
func readThroughVault(t *testing.T, stored []byte) Secret {
	t.Helper()
	data, err := simulateVault(stored)
	require.NoError(t, err)
	back, err := decodeKVResponse(bytes.NewReader(vaultReadBody(data)))
	require.NoError(t, err)
	return back
}

// hasDuplicateKey reports whether some object in the JSON text b has a
// key twice, compared decoded. It is independent of inspect.
func hasDuplicateKey(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type open struct {
		keys      map[string]bool // nil for an array
		expectKey bool
	}
	var stack []*open
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			top := stack[n-1]
			if top.expectKey {
				if k, ok := tok.(string); ok {
					if top.keys[k] {
						return true
					}
					top.keys[k] = true
					top.expectKey = false
					continue
				}
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &open{keys: map[string]bool{}, expectKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &open{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].expectKey = true
		}
	}
}

// countReplacement returns how many U+FFFD the keys and strings in v
// hold.
func countReplacement(v any) int {
	switch v := v.(type) {
	case string:
		return strings.Count(v, "\uFFFD")
	case []any:
		n := 0
		for _, e := range v {
			n += countReplacement(e)
		}
		return n
	case map[string]any:
		n := 0
		for k, e := range v {
			n += strings.Count(k, "\uFFFD") + countReplacement(e)
		}
		return n
	}
	return 0
}

// FuzzDecode: any bytes from Vault decode to a value or to an error that
// quotes nothing of them, and never panic; a stored value's decoding
// failure wraps ErrUndecodable; and whatever decodes can be written back
// unchanged.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"a":1}`, `{"_edge_json":"{\"n\":1.0}"}`, `{"_edge_json":"hello"}`, `{"_edge_json":"{} x"}`, `{"_edge_json":5}`,
		`[1]`, `null`, `{"a":1} x`, ``, `{"data":{"data":{"a":1}}}`, `{"data":{"data":null}}`, `{"data":"x"}`,
	} {
		f.Add([]byte(s))
	}
	messages := map[string]bool{
		"vault returned a secret value that is not one JSON object":                             true,
		"vault returned an exact-JSON envelope (_edge_json) that does not hold one JSON object": true,
		"vault returned no secret value":                                                        true,
		"vault returned a body that is not a JSON object of the KV version 2 shape":             true,
		"vault returned a body with data after its JSON object":                                 true,
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeSecret(data)
		if err != nil {
			require.ErrorIs(t, err, ErrUndecodable)
			require.True(t, messages[err.Error()], "unexpected message %q", err.Error())
			require.Nil(t, s)
		} else {
			require.NotNil(t, s)
			stored, err := kvValue(s)
			require.NoError(t, err, "a value read cannot be written back")
			require.Equal(t, s, readThroughVault(t, stored))
		}

		for _, body := range [][]byte{data, []byte(`{"data":{"data":` + string(data) + `}}`)} {
			v, err := decodeKVResponse(bytes.NewReader(body))
			if err != nil {
				require.True(t, messages[err.Error()], "unexpected message %q", err.Error())
				require.Nil(t, v)
			} else {
				require.NotNil(t, v)
			}
		}
	})
}
