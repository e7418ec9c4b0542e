package kvjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// The fuzz targets below (and FuzzFastDecode and FuzzFastEncode in
// fast_test.go) run their seeds (f.Add and testdata/fuzz) with every go
// test; fuzz one with
//
//	go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime 60s ./internal/kvjson

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
