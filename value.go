package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Secret is a secret's value: a JSON object.
//
// Values written may hold anything encoding/json encodes. Values read come
// back as encoding/json decodes them with UseNumber: objects as
// map[string]any, arrays as []any, strings, bools, nil, and numbers as
// json.Number, so that 9223372036854775807 and 0.1 come back exactly (call
// Int64 or Float64 on them as needed).
//
// Vault's KV v2 engine returns the numbers it stores as 64-bit floats, so
// it would return 9223372036854775807 as 9223372036854776000. A value with
// a number that a float64 does not hold exactly is therefore stored as its
// exact JSON text in one string field, {"_edge_json": "..."}, which this
// SDK decodes transparently; every other value is stored field by field,
// as any Vault client expects.
type Secret map[string]any

// exactKey is the one field of the envelope that stores a value's exact
// JSON text. A value whose own top-level keys include it is stored in the
// envelope too, so that reading is never ambiguous.
const exactKey = "_edge_json"

// kvValue returns what a write stores in KV v2 for s: its JSON encoding
// (see encodeSecret), in the exact-JSON envelope when Vault would not
// return it exactly (see kvData).
func kvValue(s Secret) ([]byte, error) {
	encoded, err := encodeSecret(s)
	if err != nil {
		return nil, err
	}
	return kvData(encoded), nil
}

// kvData returns the JSON object to store in KV v2 for the encoded value:
// the value itself, or the envelope when Vault would not return it exactly.
func kvData(encoded []byte) []byte {
	if !needsEnvelope(encoded) {
		return encoded
	}
	b, _ := json.Marshal(map[string]string{exactKey: string(encoded)}) // a string always encodes
	return b
}

// needsEnvelope reports whether the JSON object b holds a number that
// Vault's float64 decoding would change, or the top-level key exactKey.
func needsEnvelope(b []byte) bool {
	if !mayNeedEnvelope(b) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	depth := 0
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return false // io.EOF: b was encoded by encoding/json, so it is valid
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
		case string:
			if depth == 1 && expectKey && t == exactKey {
				return true
			}
		case json.Number:
			if !float64Exact(string(t)) {
				return true
			}
		}
		// Top-level keys and values alternate; Token reports no colons.
		if depth == 1 {
			if _, isDelim := tok.(json.Delim); isDelim {
				expectKey = true
			} else {
				expectKey = !expectKey
			}
		}
	}
}

// mayNeedEnvelope is needsEnvelope's fast path: it reports false only if
// b cannot need the envelope, because every run of digits in it is
// shorter than 16 (below 2^53) and none is followed by a fraction or an
// exponent, and it does not contain exactKey.
func mayNeedEnvelope(b []byte) bool {
	if bytes.Contains(b, []byte(exactKey)) {
		return true
	}
	run := 0
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			run++
			if run > 15 {
				return true
			}
			continue
		case run > 0 && (c == '.' || c == 'e' || c == 'E'):
			return true
		}
		run = 0
	}
	return false
}

// float64Exact reports whether the JSON number n has the same value after
// a trip through float64, as Vault's KV v2 engine makes it take.
func float64Exact(n string) bool {
	if len(n) <= 15 && !strings.ContainsAny(n, ".eE") {
		return true // an integer below 10^15 < 2^53
	}
	f, err := strconv.ParseFloat(n, 64)
	if err != nil || math.IsInf(f, 0) {
		return false
	}
	back := strconv.FormatFloat(f, 'g', -1, 64)
	if back == n {
		return true
	}
	want, ok1 := new(big.Rat).SetString(n)
	got, ok2 := new(big.Rat).SetString(back)
	return ok1 && ok2 && want.Cmp(got) == 0
}

// encodeSecret returns the JSON encoding of s, or an error explaining why
// s cannot be stored unchanged: s is nil, holds a value encoding/json
// refuses (a func, a channel, NaN, ±Inf, a cycle), or holds invalid UTF-8
// in a key or string, which encoding/json would silently replace. The
// error never quotes the value.
func encodeSecret(s Secret) ([]byte, error) {
	if s == nil {
		return nil, errors.New("secret value is nil")
	}
	b, err := json.Marshal(s)
	if err != nil {
		var ute *json.UnsupportedTypeError
		var uve *json.UnsupportedValueError
		switch {
		case errors.As(err, &ute):
			return nil, fmt.Errorf("secret value holds a %s, which is not JSON-encodable", ute.Type)
		case errors.As(err, &uve):
			// uve.Str may quote the value (a float): leave it out.
			return nil, errors.New("secret value holds a value that is not JSON-encodable (NaN, ±Inf or a cycle)")
		}
		return nil, errors.New("secret value is not JSON-encodable")
	}
	// json.RawMessage and MarshalJSON methods pass their bytes through
	// unchecked; everything else is replaced with the \ufffd escape.
	if !utf8.Valid(b) || hasReplacedUTF8(b) {
		return nil, errors.New("secret value holds invalid UTF-8 in a key or string")
	}
	return b, nil
}

// hasReplacedUTF8 reports whether the output of json.Marshal contains the
// escape \ufffd. encoding/json writes that escape only for invalid UTF-8
// it replaced: a real U+FFFD is written as itself, and a literal backslash
// before "ufffd" is escaped as \\.
func hasReplacedUTF8(b []byte) bool {
	for i := bytes.IndexByte(b, '\\'); i >= 0 && i+1 < len(b); {
		if b[i+1] == 'u' && bytes.HasPrefix(b[i+2:], []byte("fffd")) {
			return true
		}
		// Skip this escape (two bytes for \\ and friends, \uXXXX is
		// harmless to re-scan from its 'u').
		next := bytes.IndexByte(b[i+2:], '\\')
		if next < 0 {
			return false
		}
		i += 2 + next
	}
	return false
}

// decodeSecret decodes the JSON object stored in KV v2 into a Secret,
// keeping numbers exact and opening the exact-JSON envelope.
func decodeSecret(raw []byte) (Secret, error) {
	s, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	if exact, ok := s[exactKey].(string); ok && len(s) == 1 {
		return decodeObject([]byte(exact))
	}
	return s, nil
}

// decodeObject decodes a JSON object, with numbers as json.Number.
func decodeObject(raw []byte) (Secret, error) {
	var s Secret
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&s); err != nil || s == nil {
		return nil, errors.New("vault returned a secret that is not a JSON object")
	}
	return s, nil
}

// kvResponse is the body of a KV v2 read (and of its unwrapped copy);
// data.data stays raw so that decodeSecret can keep numbers exact.
type kvResponse struct {
	Data *struct {
		Data json.RawMessage `json:"data"`
	} `json:"data"`
}

// decodeKVResponse returns the secret value in the body of a KV v2 read,
// or an error that does not quote the body. (Vault answers a missing or
// deleted secret with a 404, before any body is decoded.)
func decodeKVResponse(r io.Reader) (Secret, error) {
	var body kvResponse
	if err := json.NewDecoder(r).Decode(&body); err != nil {
		return nil, errors.New("vault returned a body that is not JSON")
	}
	if body.Data == nil || len(body.Data.Data) == 0 || string(body.Data.Data) == "null" {
		return nil, errors.New("vault returned no secret value")
	}
	return decodeSecret(body.Data.Data)
}
