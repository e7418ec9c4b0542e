package edge

import (
	"errors"
	"io"

	"github.com/edgesdk/edge/internal/kvjson"
)

// Secret is a secret's value: a JSON object.
//
// Values written may hold anything encoding/json encodes, up to
// MaxValueSize bytes of JSON and 10,000 levels of nesting. A value that
// would not read back as written is refused with ErrBadEntry before any
// request: one encoding/json refuses (a func, a channel, NaN, ±Inf, a
// cycle), invalid UTF-8 in a key or string, an unpaired UTF-16 surrogate
// escape such as \ud800 in a json.RawMessage or MarshalJSON output, and
// an object with the same key twice (map keys whose MarshalText results
// collide, or a json.RawMessage or MarshalJSON output).
//
// Values read come back as encoding/json decodes them with UseNumber:
// objects as map[string]any, arrays as []any, strings, bools, nil, and
// numbers as json.Number, spelled exactly as they were written, so that
// 9223372036854775807, 1e21 and 1.0 come back as written (call Int64 or
// Float64 on them as needed).
//
// Vault's KV v2 engine returns the numbers it stores as 64-bit floats, in
// encoding/json's spelling: it would return 9223372036854775807 as
// 9223372036854776000, 1000000000000000000000 as 1e+21 and 1.0 as 1. A
// value with a number whose spelling that would change is therefore stored
// as its exact JSON text in one string field, {"_edge_json": "..."}, which
// this SDK decodes transparently; so is a value nested more than 100
// levels deep or holding an object or array of more than 1,000 entries
// (Vault 1.16.25, 1.18.14, 1.19.9, 1.20.3, 1.21.0 and later refuse, by
// default, JSON nested deeper than 500 levels or with more than 10,000
// entries in an object or array, and operators may lower these limits),
// and a value whose own top-level keys include "_edge_json". Every other
// value is stored field by field, as any Vault client expects.
//
// Printing a Secret with fmt or log/slog shows its keys, never its
// values; see Format and Reveal. Its JSON encoding (json.Marshal) is its
// values, unchanged.
type Secret map[string]any

// MaxValueSize is the largest secret value accepted, in bytes of JSON as
// stored in KV v2: the value's JSON encoding, or its exact-JSON envelope
// when it needs one (a value of mostly '"' and '\' characters can take
// twice its encoded size in the envelope). Create and Update refuse a
// larger value with ErrBadEntry before any request.
//
// Vault stores each version of a KV v2 secret as one storage entry, and
// its integrated storage (Raft) refuses entries over 1 MiB (1,048,576
// bytes, max_entry_size) by default; MaxValueSize leaves 48,576 bytes of
// that for the version's metadata, the entry's key and the encryption
// overhead. It is also below the 1 MiB that recent Vault versions accept
// by default for one JSON string (max_json_string_value_length), which
// the envelope is, and far below Vault's default limit on a request
// (max_request_size, 32 MiB).
const MaxValueSize = kvjson.MaxValueSize

// The codec of values is package internal/kvjson; these are its calls
// from package edge, which map its errors onto this package's kinds: a
// value kvValue refuses is ErrBadEntry (the caller's *Error says so), an
// answer the decoders cannot decode is ErrUndecodable (undecodable). No
// error of the codec quotes a value.

// kvValue returns what a write stores in KV v2 for s, or an error, which
// never quotes the value, if s cannot be stored unchanged or takes more
// than MaxValueSize bytes (see kvjson.Store).
func kvValue(s Secret) ([]byte, error) {
	return kvjson.Store(s)
}

// decodeObject decodes exactly one JSON object, with numbers as
// json.Number (see kvjson.DecodeObject).
func decodeObject(raw []byte) (Secret, error) {
	m, err := kvjson.DecodeObject(raw)
	return Secret(m), err
}

// decodeKVResponse returns the secret value in the body of a KV v2 read,
// or an error that does not quote the body; an answer holding no value,
// or one the SDK cannot decode, matches ErrUndecodable (see
// kvjson.DecodeKVResponse).
func decodeKVResponse(r io.Reader) (Secret, error) {
	m, err := kvjson.DecodeKVResponse(r)
	if err != nil {
		return nil, fromCodec(err)
	}
	return Secret(m), nil
}

// decodeListResponse returns the valid secret names in the body of a KV
// v2 list, sorted (see kvjson.DecodeListResponse).
func decodeListResponse(r io.Reader) ([]string, error) {
	return kvjson.DecodeListResponse(r)
}

// fromCodec maps an error of the codec onto this package's: a
// kvjson.Undecodable becomes an undecodable, which matches
// ErrUndecodable, with the same message.
func fromCodec(err error) error {
	var u kvjson.Undecodable
	if errors.As(err, &u) {
		return undecodable(u)
	}
	return err
}

// undecodable is an error about a value Vault holds that this SDK cannot
// decode. It matches ErrUndecodable, and its message says what is wrong
// without repeating ErrUndecodable's, so that an *Error of that Kind
// reads "...: stored value cannot be decoded: vault returned ...".
type undecodable string

func (e undecodable) Error() string { return string(e) }

// Is reports whether target is ErrUndecodable.
func (e undecodable) Is(target error) bool { return target == ErrUndecodable }
