package kvjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The codecs compared by TestCompareCodecs and BenchmarkCompare (issue 22):
// the hot path of a write (Store) and of a read (DecodeKVResponse) done
// three ways, each with every check of this package's contract (api.go)
// the library can do:
//
//   - handwritten: this package's Store and DecodeKVResponse;
//   - encoding-json: encoding/json (v1): json.Marshal, then the checks and
//     the envelope decision in one pass of a json.Decoder's tokens; a read
//     with a json.Decoder and UseNumber, as the hand-written decoder's
//     fallback does;
//   - json-experiment: github.com/go-json-experiment/json (encoding/json/v2):
//     json.Marshal with the options that write encoding/json's bytes,
//     which refuses invalid UTF-8, duplicate names and nesting deeper than
//     10,000 levels itself, then the envelope decision in one pass of a
//     jsontext.Decoder; a read with a jsontext.Decoder building the value
//     from its tokens (numbers as json.Number from the token's text),
//     allowing duplicate names and invalid UTF-8 as encoding/json does
//     (the decoders' contract: encoding/json's results);
//   - json-experiment-strict: the same, but a read with jsontext's
//     defaults, which refuse duplicate names and invalid UTF-8 (stricter
//     than the contract; its Store is json-experiment's).
//
// Nothing here is used outside tests: the comparison decides whether the
// library replaces the hand-written code (BENCHMARKS.md, "Codec").

// codec is one implementation of the hot path.
type codec struct {
	name   string
	store  func(Secret) ([]byte, error)
	decode func(io.Reader) (map[string]any, error)
}

var codecs = []codec{
	{"handwritten", Store[Secret], DecodeKVResponse},
	{"encoding-json", storeV1, decodeKVResponseV1},
	{"json-experiment", storeV2, decodeKVResponseV2},
	{"json-experiment-strict", storeV2, decodeKVResponseV2Strict},
}

var (
	errV1Nil      = errors.New("secret value is nil")
	errV1Size     = errors.New("secret value takes more than MaxValueSize bytes")
	errV1Dup      = errors.New("secret value holds an object with the same key twice")
	errV1Deep     = errors.New("secret value is nested too deep")
	errV1Shape    = errors.New("vault returned a body that is not a JSON object of the KV version 2 shape")
	errV1Trailing = errors.New("vault returned a body with data after its JSON object")
)

// keepsSpelling reports whether the number n reads back from Vault's
// float64 round trip spelled as it is, with format spelling a float64
// as the library writes it (both write encoding/json's spelling). The
// shortcut for short integers is vaultKeeps's, shared so that no codec
// gains by it.
func keepsSpelling(n string, format func(float64) string) bool {
	digits := strings.TrimPrefix(n, "-")
	if len(digits) <= 15 && allDigits([]byte(digits)) {
		return true
	}
	f, err := strconv.ParseFloat(n, 64)
	if err != nil {
		return false
	}
	return format(f) == n
}

// shape tracks what the envelope decision needs of one open object or
// array: its kind and how many tokens it has held.
type shape struct {
	object bool
	tokens int
}

// envelopeFor reports whether a value needs the envelope by the
// contract (an object or array of more than envelopeEntries entries, a
// top-level key exactKey) on reading a token inside the open containers
// stack (a name, key, when name), before it is counted.
func envelopeFor(stack []shape, name bool, key string) bool {
	top := stack[len(stack)-1]
	entries := top.tokens + 1 // the entry this token is in
	if top.object {
		entries = top.tokens/2 + 1
	}
	return entries > envelopeEntries || (name && len(stack) == 1 && key == exactKey)
}

// storeV1 is Store with encoding/json: json.Marshal, then the checks in
// one pass of a json.Decoder's tokens (duplicate keys, compared after
// unescaping; nesting; numbers; entries; the top-level key). What
// encoding/json cannot see: an unpaired surrogate escape (from a
// json.RawMessage), which its tokens replace with U+FFFD; and invalid
// UTF-8 in a string, which json.Marshal replaces with the escape \ufffd,
// so that this refuses that escape as the hand-written code does.
func storeV1(s Secret) ([]byte, error) {
	if s == nil {
		return nil, errV1Nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxValueSize {
		return nil, errV1Size
	}
	if !utf8.Valid(b) || bytes.Contains(b, []byte(`\ufffd`)) {
		return nil, errInvalidUTF8
	}
	envelope, err := checkV1(b)
	if err != nil {
		return nil, err
	}
	if envelope {
		if b, err = json.Marshal(map[string]string{exactKey: string(b)}); err != nil {
			return nil, err
		}
		if len(b) > MaxValueSize {
			return nil, errV1Size
		}
	}
	return b, nil
}

func v1Float(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// checkV1 returns whether b needs the envelope, or an error for a key
// twice or nesting deeper than maxDepth, from encoding/json's tokens.
func checkV1(b []byte) (envelope bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var stack []shape
	var keys []map[string]struct{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return envelope, nil
		}
		if err != nil {
			return false, err
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack, keys = stack[:len(stack)-1], keys[:len(keys)-1]
			continue
		}
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			name := top.object && top.tokens%2 == 0
			if name {
				k := tok.(string)
				if _, dup := keys[len(keys)-1][k]; dup {
					return false, errV1Dup
				}
				keys[len(keys)-1][k] = struct{}{}
			}
			k, _ := tok.(string)
			envelope = envelope || envelopeFor(stack, name, k)
			top.tokens++
		}
		switch tok := tok.(type) {
		case json.Delim:
			if len(stack) == maxDepth {
				return false, errV1Deep
			}
			stack = append(stack, shape{object: tok == '{'})
			keys = append(keys, nil)
			if tok == '{' {
				keys[len(keys)-1] = map[string]struct{}{}
			}
			envelope = envelope || len(stack) > envelopeDepth
		case json.Number:
			envelope = envelope || !keepsSpelling(string(tok), v1Float)
		}
	}
}

// kvResponseV1 is the body of a KV v2 read, decoded by encoding/json in
// one pass (numbers as json.Number with UseNumber).
type kvResponseV1 struct {
	Data *struct {
		Data map[string]any `json:"data"`
	} `json:"data"`
}

// decodeKVResponseV1 is DecodeKVResponse with encoding/json alone.
func decodeKVResponseV1(r io.Reader) (map[string]any, error) {
	var body kvResponseV1
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		return nil, errV1Shape
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errV1Trailing
	}
	if body.Data == nil || body.Data.Data == nil {
		return nil, Undecodable("vault returned no secret value")
	}
	v := body.Data.Data
	exact, ok := v[exactKey].(string)
	if !ok || len(v) != 1 {
		return v, nil
	}
	dec = json.NewDecoder(strings.NewReader(exact))
	dec.UseNumber()
	var inner map[string]any
	if err := dec.Decode(&inner); err != nil || inner == nil {
		return nil, Undecodable("vault returned an exact-JSON envelope that does not hold one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, Undecodable("vault returned an exact-JSON envelope that does not hold one JSON object")
	}
	return inner, nil
}

// storeV2Options write encoding/json's bytes: map keys sorted, <, >, &,
// U+2028 and U+2029 escaped, nil maps and slices as null, a json.Number
// as its text (json.Marshal's; jsontext checks its syntax). Invalid
// UTF-8, duplicate names and nesting deeper than 10,000 levels are
// refused by default.
var storeV2Options = jsonv2.JoinOptions(
	jsonv2.Deterministic(true),
	jsonv2.FormatNilMapAsNull(true),
	jsonv2.FormatNilSliceAsNull(true),
	jsontext.EscapeForHTML(true),
	jsontext.EscapeForJS(true),
	jsonv2.WithMarshalers(jsonv2.MarshalToFunc(func(enc *jsontext.Encoder, n json.Number) error {
		if n == "" {
			n = "0"
		}
		return enc.WriteValue(jsontext.Value(n))
	})),
)

// scanV2Options are those of the envelope pass over what json.Marshal
// has just checked.
var scanV2Options = jsonv2.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

// storeV2 is Store with go-json-experiment: its json.Marshal does the
// checks, a jsontext.Decoder pass over the result the envelope decision.
func storeV2(s Secret) ([]byte, error) {
	if s == nil {
		return nil, errV1Nil
	}
	b, err := jsonv2.Marshal(s, storeV2Options)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxValueSize {
		return nil, errV1Size
	}
	envelope, err := envelopeV2(b)
	if err != nil {
		return nil, err
	}
	if envelope {
		if b, err = jsonv2.Marshal(map[string]string{exactKey: string(b)}, storeV2Options); err != nil {
			return nil, err
		}
		if len(b) > MaxValueSize {
			return nil, errV1Size
		}
	}
	return b, nil
}

var decoderPool = sync.Pool{New: func() any { return new(jsontext.Decoder) }}

func v2Float(f float64) string { return jsontext.Float(f).String() }

// envelopeV2 returns whether b needs the envelope, from jsontext's tokens.
func envelopeV2(b []byte) (envelope bool, err error) {
	dec := decoderPool.Get().(*jsontext.Decoder)
	defer decoderPool.Put(dec)
	dec.Reset(bytes.NewBuffer(b), scanV2Options)
	var buf [16]shape
	stack := buf[:0]
	for {
		tok, err := dec.ReadToken()
		if err == io.EOF {
			return envelope, nil
		}
		if err != nil {
			return false, err
		}
		kind := tok.Kind()
		if kind == '}' || kind == ']' {
			stack = stack[:len(stack)-1]
			continue
		}
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			name := top.object && top.tokens%2 == 0
			key := ""
			if name && len(stack) == 1 {
				key = tok.String()
			}
			envelope = envelope || envelopeFor(stack, name, key)
			top.tokens++
		}
		switch kind {
		case '{', '[':
			stack = append(stack, shape{object: kind == '{'})
			envelope = envelope || len(stack) > envelopeDepth
		case '0':
			envelope = envelope || !keepsSpelling(tok.String(), v2Float)
		}
	}
}

// lenientV2Options decode as encoding/json does: the last of two equal
// names kept, invalid UTF-8 replaced with U+FFFD.
var lenientV2Options = jsonv2.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

// decodeKVResponseV2 is DecodeKVResponse with go-json-experiment's
// jsontext.Decoder, with encoding/json's leniency.
func decodeKVResponseV2(r io.Reader) (map[string]any, error) {
	return decodeKVResponseV2With(r, lenientV2Options)
}

// decodeKVResponseV2Strict is decodeKVResponseV2 refusing duplicate
// names and invalid UTF-8, jsontext's defaults.
func decodeKVResponseV2Strict(r io.Reader) (map[string]any, error) {
	return decodeKVResponseV2With(r)
}

func decodeKVResponseV2With(r io.Reader, opts ...jsontext.Options) (map[string]any, error) {
	dec := decoderPool.Get().(*jsontext.Decoder)
	defer decoderPool.Put(dec)
	dec.Reset(r, opts...)
	var value any
	err := membersV2(dec, func(name string) error {
		if !strings.EqualFold(name, "data") {
			return dec.SkipValue()
		}
		return membersV2(dec, func(name string) error {
			if !strings.EqualFold(name, "data") {
				return dec.SkipValue()
			}
			v, err := valueV2(dec)
			value = v
			return err
		})
	})
	if err != nil {
		return nil, errV1Shape
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, errV1Trailing
	}
	if value == nil {
		return nil, Undecodable("vault returned no secret value")
	}
	v, ok := value.(map[string]any)
	if !ok {
		return nil, Undecodable("vault returned a secret value that is not one JSON object")
	}
	exact, ok := v[exactKey].(string)
	if !ok || len(v) != 1 {
		return v, nil
	}
	dec.Reset(strings.NewReader(exact), opts...)
	inner, err := valueV2(dec)
	m, ok := inner.(map[string]any)
	if err != nil || !ok {
		return nil, Undecodable("vault returned an exact-JSON envelope that does not hold one JSON object")
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, Undecodable("vault returned an exact-JSON envelope that does not hold one JSON object")
	}
	return m, nil
}

// membersV2 reads a JSON object or null, calling member with each name;
// member reads the value.
func membersV2(dec *jsontext.Decoder, member func(name string) error) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case 'n':
		return nil
	case '{':
	default:
		return fmt.Errorf("a %v, not an object", tok.Kind())
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return err
		}
		if err := member(name.String()); err != nil {
			return err
		}
	}
	_, err = dec.ReadToken()
	return err
}

// valueV2 reads one JSON value as encoding/json with UseNumber decodes it
// into an any.
func valueV2(dec *jsontext.Decoder) (any, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '{':
		m := map[string]any{}
		for dec.PeekKind() != '}' {
			name, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			key := name.String() // before the next call voids name
			v, err := valueV2(dec)
			if err != nil {
				return nil, err
			}
			m[key] = v
		}
		_, err := dec.ReadToken()
		return m, err
	case '[':
		a := []any{}
		for dec.PeekKind() != ']' {
			v, err := valueV2(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.ReadToken()
		return a, err
	case '"':
		return tok.String(), nil
	case '0':
		return json.Number(tok.String()), nil
	case 't', 'f':
		return tok.Bool(), nil
	default:
		return nil, nil
	}
}
