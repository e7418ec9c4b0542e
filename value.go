package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Secret is a secret's value: a JSON object.
//
// Values written may hold anything encoding/json encodes. Values read come
// back as encoding/json decodes them with UseNumber: objects as
// map[string]any, arrays as []any, strings, bools, nil, and numbers as
// json.Number, which keeps every digit Vault stored (9223372036854775807
// and 0.1 come back exactly; call Int64 or Float64 on them as needed).
type Secret map[string]any

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
	if hasReplacedUTF8(b) {
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

// decodeSecret decodes a JSON object into a Secret, keeping numbers exact.
// A JSON null decodes to a nil Secret.
func decodeSecret(raw json.RawMessage) (Secret, error) {
	var s Secret
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&s); err != nil {
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

// errNoValue is decodeKVResponse's answer to a response without a value.
var errNoValue = errors.New("vault returned no secret value")

// decodeKVResponse returns the secret value in the body of a KV v2 read,
// or errNoValue if it has none (a deleted version), or an error that does
// not quote the body.
func decodeKVResponse(r io.Reader) (Secret, error) {
	var body kvResponse
	if err := json.NewDecoder(r).Decode(&body); err != nil {
		return nil, errors.New("vault returned a body that is not JSON")
	}
	if body.Data == nil || len(body.Data.Data) == 0 || string(body.Data.Data) == "null" {
		return nil, errNoValue
	}
	return decodeSecret(body.Data.Data)
}

// decodeKind returns the kind and cause of a decodeKVResponse error: no
// value means ErrNotFound.
func decodeKind(err error) (kind, cause error) {
	if errors.Is(err, errNoValue) {
		return ErrNotFound, nil
	}
	return nil, err
}
