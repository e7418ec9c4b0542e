package kvjson

import (
	"io"
	"unicode/utf8"
)

// The API package edge calls. What is validated where:
//
//   - Store (a write) does every check: the value is not nil, encoding/json
//     encodes it, it takes at most MaxValueSize bytes as stored, it is
//     nested at most MaxDepth levels, and it reads back from Vault exactly
//     as written (see inspect: no key twice, no unpaired surrogate escape,
//     no \ufffd escape, no invalid UTF-8). A caller may send what Store
//     returns as KV v2's "data" unchanged, and may compare it byte for byte
//     with what a later read of the same value stores (the encoding is
//     deterministic: json.Marshal's, map keys sorted).
//   - Check does the same checks but the size on JSON the caller encoded
//     itself.
//   - The decoders (DecodeObject, DecodeKVResponse, DecodeListResponse)
//     accept anything: they never panic, and their results are exactly
//     those of encoding/json with UseNumber (objects as map[string]any,
//     arrays as []any, numbers as json.Number spelled as sent). A value
//     they return is a fresh map owning all its memory, which Store
//     accepts and which reads back unchanged.
//
// No error of this package quotes the value, the JSON text or a body: an
// error says what is wrong, by kind, size or position, never with the
// content, which is a secret. Errors about what Vault holds are
// Undecodable (matching ErrUndecodable); the other errors are plain and
// package edge reports them with its own sentinels (ErrBadEntry for a
// value refused by Store or Check).

// MaxDepth is the deepest value accepted, in nesting levels (the
// top-level object is level 1): encoding/json's decoders, Vault's and
// this package's, refuse deeper JSON.
const MaxDepth = maxDepth

// ExactKey is the one field of the exact-JSON envelope: {"_edge_json":
// "<the value's exact JSON text>"}.
const ExactKey = exactKey

// Store returns what a write stores in KV v2 for the object s: its JSON
// encoding (json.Marshal's, byte for byte), or the exact-JSON envelope
// holding it when Vault would not return it exactly (a number Vault's
// float64 round trip respells, nesting deeper than 100 levels, an object
// or array of more than 1,000 entries, a top-level key ExactKey). It
// returns an error, which never quotes the value, if s is nil, cannot be
// stored unchanged, or takes more than MaxValueSize bytes as stored.
//
// M is the caller's object type (edge.Secret): a value of type M nested
// in s is written as a map[string]any, as json.Marshal writes it, by the
// fast encoder. M must not have a MarshalJSON or MarshalText method.
func Store[M ~map[string]any](s M) ([]byte, error) {
	return kvValue(s)
}

// Check returns an error if b, the output of json.Marshal (valid,
// compact JSON), holds invalid UTF-8 or would not read back from Vault as
// written (see Store), and nil otherwise. It does not check the size. The
// error never quotes b.
func Check(b []byte) error {
	if !utf8.Valid(b) {
		return errInvalidUTF8
	}
	_, err := inspect(b)
	return err
}

// DecodeObject decodes raw, which must be exactly one JSON object and
// white space, with numbers as json.Number. It does not open the
// exact-JSON envelope. Its error never quotes raw.
func DecodeObject(raw []byte) (map[string]any, error) {
	return decodeObject(raw)
}

// DecodeKVResponse returns the secret value in r, the body of a KV v2
// read (or of its unwrapped copy), with the exact-JSON envelope opened. A
// body holding no value, or a value that is not one JSON object, is an
// Undecodable error; a body that is not a JSON object of KV v2's shape is
// a plain error. A read error of r ends the decoding with an error too:
// the caller, who owns r, tells it apart. No error quotes the body.
func DecodeKVResponse(r io.Reader) (map[string]any, error) {
	return decodeKVResponse(r)
}

// DecodeListResponse returns the secret names in r, the body of a KV v2
// list: the strings of data.keys that are valid names (see package
// names), sorted; never nil on success. A body that is not a JSON object
// is an error, which does not quote it.
func DecodeListResponse(r io.Reader) ([]string, error) {
	return decodeListResponse(r)
}
