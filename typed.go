package edge

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/edgesdk/edge/internal/kvjson"
)

// This file converts between a Secret and Go values (structs, maps), by
// way of encoding/json. The twelve operations stay as they are: they take
// and return a Secret, and SecretOf and Secret.Decode convert on either
// side of them.

// SecretOf returns the Secret that v encodes to: v is a struct, a pointer
// to a struct, a map with string (or integer, or encoding.TextMarshaler)
// keys, or any value whose JSON encoding is a JSON object. It encodes v
// with encoding/json, so json struct tags (renaming, omitempty, "-", the
// string option), embedded structs, and json.Marshaler and
// encoding.TextMarshaler implementations apply exactly as json.Marshal
// applies them; []byte becomes a base64 string and time.Time an RFC 3339
// string.
//
// The result holds values as a Read returns them: objects as
// map[string]any, arrays as []any, and numbers as json.Number, with every
// digit kept (an int64 9223372036854775807 and a uint64
// 18446744073709551615 are exact, never rounded through float64), so
// that Decode gives v back.
//
// SecretOf returns an *Error wrapping ErrBadEntry if v is nil (a nil
// pointer or map included), if its encoding is not a JSON object, or if v
// cannot be encoded unchanged: encoding/json refuses it (a func, a
// channel, NaN, ±Inf, a cycle, a failing MarshalJSON or MarshalText
// method), or it would decode to something else (invalid UTF-8 in a
// string, which encoding/json would replace with U+FFFD; an object with a
// key twice), as Create and Update refuse such values. The error never
// quotes the value. The size limit, MaxValueSize, is left to Create and
// Update.
//
// SecretOf and Decode are conversions only: the twelve operations stay as
// they are and take and return a Secret, so a typed value is stored with
// SecretOf and then Create or Update, and read with Read and then Decode.
func SecretOf(v any) (Secret, error) {
	b, err := encodeExact(v)
	if err != nil {
		return nil, typedError("encode", err)
	}
	if kind := jsonKind(b); kind != "object" {
		if kind == "null" {
			return nil, typedError("encode", errors.New("value is nil"))
		}
		return nil, typedError("encode", fmt.Errorf("value of Go type %s encodes to a JSON %s, not to a JSON object", typeName(v), kind))
	}
	s, err := decodeObject(b)
	if err != nil {
		// encodeExact checked b: encoding/json wrote a valid object.
		return nil, typedError("encode", fmt.Errorf("value of Go type %s does not encode to one JSON object", typeName(v)))
	}
	return s, nil
}

// Decode stores the values of s in the struct, map or other value v
// points to, as json.Unmarshal stores a JSON object: json struct tags,
// embedded structs, and json.Unmarshaler and encoding.TextUnmarshaler
// implementations apply; keys match field names exactly or, failing
// that, case-insensitively; keys that match no field are ignored (see
// DecodeStrict); fields that s does not set keep their values, so decode
// into a zero value.
//
// Numbers stay exact: a json.Number "9223372036854775807" fills an int64
// field with 9223372036854775807, and "0.1" a float64 field with 0.1. An
// interface field (any, map[string]any) receives numbers as json.Number,
// as a Read returns them. s may hold values as a Read returns them
// (json.Number, map[string]any, []any, json.RawMessage) or as a program
// writes them (int, float64, []string, nested structs, ...), so that
// Decode(SecretOf(x)) gives x back for every struct x that SecretOf
// accepts and whose fields are not interfaces.
//
// Decode returns an *Error wrapping ErrBadEntry if v is not a non-nil
// pointer, if s is nil or holds something encoding/json cannot encode
// unchanged (see SecretOf), or if a value of s does not fit the Go type it
// decodes into (a string for an int field, 300 for an int8, 1.5 for an
// int, a string that is not an RFC 3339 time for a time.Time, a value a
// field's UnmarshalJSON or UnmarshalText method refuses). The error names
// the field and its Go type when encoding/json tells them, and never
// quotes the value. After an error, v may have been partly filled in.
// Decode changes neither s nor what Vault holds: it is a conversion, as
// SecretOf is.
func (s Secret) Decode(v any) error {
	return s.decode(v, false)
}

// DecodeStrict is Decode, except that a key of s, or of an object nested
// in s, that matches no field of the struct it decodes into is an error
// wrapping ErrBadEntry, which names the key (keys are printed, as by
// Format; values never are). Use it to catch a misspelt key or a secret
// written for another struct.
func (s Secret) DecodeStrict(v any) error {
	return s.decode(v, true)
}

func (s Secret) decode(v any, strict bool) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return typedError("decode", fmt.Errorf("decode target (Go type %s) is not a non-nil pointer", typeName(v)))
	}
	if s == nil {
		return typedError("decode", errors.New("secret value is nil"))
	}
	b, err := encodeExact(s)
	if err != nil {
		return typedError("decode", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return typedError("decode", decodeFailure(err, rv.Type()))
	}
	return nil
}

// typedError is the *Error of a failed conversion: a bad entry, with no
// scope or name.
func typedError(op string, cause error) error {
	return &Error{Op: op, Kind: ErrBadEntry, Err: cause}
}

// encodeExact returns the JSON encoding of v, or an error that never
// quotes v if encoding/json refuses v or if the encoding would decode to
// something else than v (see inspect): invalid UTF-8, which
// json.Marshal replaces with \ufffd, an unpaired surrogate escape or an
// object with a key twice (from a json.RawMessage or a MarshalJSON
// output, or map keys whose MarshalText results collide), or nesting
// deeper than decoders accept.
func encodeExact(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, encodeFailure(err)
	}
	if err := kvjson.Check(b); err != nil {
		return nil, err
	}
	return b, nil
}

// encodeFailure describes an error of json.Marshal without its text,
// which may quote the value (a float, a MarshalJSON error or output).
func encodeFailure(err error) error {
	var ute *json.UnsupportedTypeError
	var uve *json.UnsupportedValueError
	var me *json.MarshalerError
	switch {
	case errors.As(err, &ute):
		return fmt.Errorf("value holds a %s, which is not JSON-encodable", ute.Type)
	case errors.As(err, &uve):
		return errors.New("value holds a value that is not JSON-encodable (NaN, ±Inf or a cycle)")
	case errors.As(err, &me):
		return fmt.Errorf("value holds a %s whose MarshalJSON or MarshalText method failed or returned invalid JSON", me.Type)
	}
	return errors.New("value is not JSON-encodable")
}

// decodeFailure describes an error of json.Decoder.Decode into a value of
// type target (a pointer) without quoting the value, which
// encoding/json's error texts may do: "cannot unmarshal number 300",
// "invalid use of ,string struct tag, trying to unmarshal \"...\"", a
// time.ParseError, or any error of an UnmarshalJSON or UnmarshalText
// method.
func decodeFailure(err error, target reflect.Type) error {
	var ute *json.UnmarshalTypeError
	var pe *time.ParseError
	var ce base64.CorruptInputError
	msg := err.Error()
	switch {
	case errors.As(err, &ute):
		// ute.Value is "number 300" for a number that does not fit a
		// numeric type: keep "number", drop the value.
		kind, literal, _ := strings.Cut(ute.Value, " ")
		what := fmt.Sprintf("a JSON %s does not decode into Go type %s", kind, ute.Type)
		if kind == "number" && literal != "" {
			what = fmt.Sprintf("a JSON number that Go type %s cannot hold (out of range, or not an integer)", ute.Type)
		}
		if path := fieldPath(target, ute.Field); path != "" {
			return fmt.Errorf("field %s: %s", quoteKey(path), what)
		}
		return errors.New(what)
	case errors.As(err, &ce):
		return fmt.Errorf("a string that is not standard base64 does not decode into a []byte, in %s", target.Elem())
	case errors.As(err, &pe):
		return fmt.Errorf("a string that is not an RFC 3339 time does not decode into a time.Time, in %s", target.Elem())
	case strings.HasPrefix(msg, `json: unknown field "`):
		if key, err := strconv.Unquote(strings.TrimPrefix(msg, "json: unknown field ")); err == nil {
			return fmt.Errorf("key %s matches no field of %s or of a struct in it", quoteKey(key), target.Elem())
		}
	case strings.HasPrefix(msg, "json: invalid use of ,string struct tag"):
		// "..., trying to unmarshal %q into %v": the type comes last.
		if i := strings.LastIndex(msg, " into "); i >= 0 {
			return fmt.Errorf("a field of Go type %s with the ,string option holds a value that is not a JSON string spelling one of that type, in %s", msg[i+len(" into "):], target.Elem())
		}
		return fmt.Errorf("a field with the ,string option holds a value that is not a JSON string spelling one of its type, in %s", target.Elem())
	case strings.HasPrefix(msg, "json: cannot set embedded pointer to unexported struct: "):
		return errors.New(strings.TrimPrefix(msg, "json: ")) // names a type only
	}
	return fmt.Errorf("secret value does not decode into %s: a value does not fit its field, or an UnmarshalJSON or UnmarshalText method refused it (the cause is not shown, as it may quote the value)", target.Elem())
}

// fieldPath returns the part of field, the dotted path that
// json.UnmarshalTypeError gives from target to the field that failed,
// made of names of struct fields of target's type: JSON field names and
// embedded structs' Go names. It stops at a map, whose keys come from the
// value (encoding/json leaves them out of the path, but its experimental
// version 2 puts them in), and at a name it does not find.
func fieldPath(target reflect.Type, field string) string {
	if field == "" {
		return ""
	}
	var path []string
	t := target
	for _, name := range strings.Split(field, ".") {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			break
		}
		f, ok := structField(t, name)
		if !ok {
			break
		}
		path = append(path, name)
		t = f.Type
	}
	return strings.Join(path, ".")
}

// structField returns the field of the struct type t that encoding/json
// names name in an error path: the name in its json tag, or else its Go
// name.
func structField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tagName, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tagName == name || f.Name == name && (tagName == "" || f.Anonymous) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// quoteKey returns k as Format prints a key: as it is when it is made of
// ASCII letters, digits, '-', '_' and '.', and quoted otherwise.
func quoteKey(k string) string {
	if plainKey(k) {
		return k
	}
	return strconv.QuoteToASCII(k)
}

// jsonKind names the JSON value that the compact encoding b starts with.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "value"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// typeName returns the name of v's Go type, or "nil" for a nil interface.
func typeName(v any) string {
	if v == nil {
		return "nil"
	}
	return reflect.TypeOf(v).String()
}
