package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
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
const MaxValueSize = 1_000_000

// Limits on the shape of a value, in nesting levels (the top-level object
// is level 1) and entries of one object or array.
const (
	// maxDepth is the deepest value accepted: encoding/json's decoders,
	// Vault's and this SDK's, refuse deeper JSON.
	maxDepth = 10_000
	// envelopeDepth and envelopeEntries bound what is stored field by
	// field: a deeper or larger value goes in the envelope, where recent
	// Vault versions' JSON limits (500 levels, 10,000 entries by default)
	// see one string.
	envelopeDepth   = 100
	envelopeEntries = 1_000
)

// exactKey is the one field of the envelope that stores a value's exact
// JSON text. A value whose own top-level keys include it is stored in the
// envelope too, so that reading is never ambiguous.
const exactKey = "_edge_json"

// kvValue returns what a write stores in KV v2 for s: its JSON encoding
// (see encodeSecret), in the exact-JSON envelope when Vault would not
// return it exactly, or an error if s cannot be stored unchanged or takes
// more than MaxValueSize bytes. The error never quotes the value.
func kvValue(s Secret) ([]byte, error) {
	encoded, envelope, err := encode(s)
	if err != nil {
		return nil, err
	}
	stored := encoded
	if envelope {
		stored, _ = json.Marshal(map[string]string{exactKey: string(encoded)}) // a valid UTF-8 string always encodes
	}
	if len(stored) > MaxValueSize {
		return nil, fmt.Errorf("secret value takes %d bytes of JSON in the exact-JSON envelope it needs, more than MaxValueSize (%d)", len(stored), MaxValueSize)
	}
	return stored, nil
}

// encodeSecret returns the JSON encoding of s, or an error explaining why
// s cannot be stored unchanged (see encode). The error never quotes the
// value.
func encodeSecret(s Secret) ([]byte, error) {
	b, _, err := encode(s)
	return b, err
}

// encode returns the JSON encoding of s and whether it must be stored in
// the exact-JSON envelope, or an error explaining why s cannot be stored
// unchanged: s is nil; it holds a value encoding/json refuses (a func, a
// channel, NaN, ±Inf, a cycle); its encoding is larger than MaxValueSize
// or nested deeper than maxDepth; or its encoding would decode to
// something else (see inspect). The error never quotes the value.
func encode(s Secret) (b []byte, envelope bool, err error) {
	if s == nil {
		return nil, false, errors.New("secret value is nil")
	}
	b, err = json.Marshal(s)
	if err != nil {
		var ute *json.UnsupportedTypeError
		var uve *json.UnsupportedValueError
		switch {
		case errors.As(err, &ute):
			return nil, false, fmt.Errorf("secret value holds a %s, which is not JSON-encodable", ute.Type)
		case errors.As(err, &uve):
			// uve.Str may quote the value (a float): leave it out.
			return nil, false, errors.New("secret value holds a value that is not JSON-encodable (NaN, ±Inf or a cycle)")
		}
		return nil, false, errors.New("secret value is not JSON-encodable")
	}
	if len(b) > MaxValueSize {
		// The envelope would be larger still.
		return nil, false, fmt.Errorf("secret value takes %d bytes of JSON, more than MaxValueSize (%d)", len(b), MaxValueSize)
	}
	// json.RawMessage and MarshalJSON outputs pass through unchecked;
	// everything else is replaced with the \ufffd escape (see inspect).
	if !utf8.Valid(b) {
		return nil, false, errInvalidUTF8
	}
	envelope, err = inspect(b)
	if err != nil {
		return nil, false, err
	}
	return b, envelope, nil
}

var (
	errInvalidUTF8 = errors.New("secret value holds invalid UTF-8 in a key or string")
	errSurrogate   = errors.New("secret value holds an unpaired UTF-16 surrogate escape (from a json.RawMessage or a MarshalJSON method), which JSON decoders replace with U+FFFD")
	errDuplicate   = errors.New("secret value holds an object with the same key twice (map keys whose MarshalText results collide, or a json.RawMessage or MarshalJSON output), which JSON decoders would keep only once")
	errTooDeep     = fmt.Errorf("secret value is nested more than %d levels deep", maxDepth)
	errMalformed   = errors.New("secret value's JSON encoding is malformed") // encoding/json never writes it
)

// inspect checks b, a JSON object as json.Marshal writes it (valid UTF-8,
// valid and compact JSON), for what would not read back unchanged from
// Vault's KV v2 engine, which decodes what it stores and encodes it again
// with encoding/json. It returns an error for what the SDK refuses to
// store, because no way of storing it keeps it:
//
//   - an object with a key twice: every decoder keeps one;
//   - an unpaired surrogate escape: decoders replace it with U+FFFD;
//   - the escape \ufffd: json.Marshal writes it in place of invalid UTF-8
//     (a real U+FFFD is written as itself, so only a json.RawMessage or a
//     MarshalJSON output that spells U+FFFD this way is refused wrongly);
//   - nesting deeper than maxDepth: decoders refuse it.
//
// It reports envelope when b must be stored as its exact text: it holds a
// number whose spelling Vault's float64 round trip changes (see
// vaultKeeps), it is nested deeper than envelopeDepth or has an object or
// array of more than envelopeEntries entries, or one of its top-level keys
// is exactKey.
//
// inspect is the fast path of every write, so it makes one pass over b
// and allocates nothing for values of maps, slices and scalars: only for
// an object whose keys do not come in increasing order (json.Marshal
// sorts a map's keys, not a struct's fields or a MarshalJSON output's)
// and for keys holding escapes.
func inspect(b []byte) (envelope bool, err error) {
	var stack [16]frame
	frames := stack[:0] // the open objects and arrays, outermost first
	expectKey := false  // the next string is an object key
	for i := 0; i < len(b); {
		switch c := b[i]; c {
		case '{', '[':
			if len(frames) == maxDepth {
				return false, errTooDeep
			}
			if len(frames) == envelopeDepth {
				envelope = true
			}
			frames = append(frames, frame{object: c == '{', start: i})
			expectKey = c == '{'
			i++
		case '}', ']':
			if len(frames) == 0 {
				return false, errMalformed
			}
			frames = frames[:len(frames)-1]
			expectKey = false
			i++
		case ',':
			if len(frames) == 0 {
				return false, errMalformed
			}
			f := &frames[len(frames)-1]
			f.commas++
			if f.commas >= envelopeEntries {
				envelope = true
			}
			expectKey = f.object
			i++
		case ':':
			i++
		case '"':
			end, escaped, err := stringEnd(b, i)
			if err != nil {
				return false, err
			}
			if expectKey {
				k, err := key(b[i:end], escaped)
				if err != nil {
					return false, err
				}
				if len(frames) == 1 && string(k) == exactKey {
					envelope = true
				}
				if err := frames[len(frames)-1].add(b, i, k); err != nil {
					return false, err
				}
				expectKey = false
			}
			i = end
		case 't', 'n':
			i += len("true")
		case 'f':
			i += len("false")
		default:
			j := i
			for j < len(b) && numberByte(b[j]) {
				j++
			}
			if j == i {
				return false, errMalformed
			}
			if !vaultKeeps(b[i:j]) {
				envelope = true
			}
			i = j
		}
	}
	if len(frames) != 0 {
		return false, errMalformed
	}
	return envelope, nil
}

// frame is an open object or array.
type frame struct {
	object bool
	start  int                 // index of its '{' or '['
	commas int                 // entries so far, minus one
	last   []byte              // the object's last key, while keys increase
	seen   map[string]struct{} // the object's keys, once they stop increasing
}

// add records the key k, which starts at b[at], of the object f, and
// refuses a key f already has.
func (f *frame) add(b []byte, at int, k []byte) error {
	if f.seen == nil {
		if f.last == nil || bytes.Compare(f.last, k) < 0 {
			// Increasing so far, as json.Marshal writes a map:
			// no key can be twice.
			f.last = k
			return nil
		}
		// A struct's fields, a MarshalJSON output: from now on,
		// look every key up.
		f.seen = map[string]struct{}{}
		if err := objectKeys(b[f.start:at], f.seen); err != nil {
			return err
		}
	}
	if _, dup := f.seen[string(k)]; dup {
		return errDuplicate
	}
	f.seen[string(k)] = struct{}{}
	return nil
}

// objectKeys adds to seen the keys of the object that starts obj, up to
// the end of obj. inspect has checked obj.
func objectKeys(obj []byte, seen map[string]struct{}) error {
	depth := 0
	expectKey := false
	for i := 0; i < len(obj); i++ {
		switch obj[i] {
		case '{', '[':
			depth++
			expectKey = depth == 1
		case '}', ']':
			depth--
		case ',':
			expectKey = depth == 1
		case '"':
			end, escaped, err := stringEnd(obj, i)
			if err != nil {
				return err
			}
			if expectKey {
				k, err := key(obj[i:end], escaped)
				if err != nil {
					return err
				}
				seen[string(k)] = struct{}{}
				expectKey = false
			}
			i = end - 1
		}
	}
	return nil
}

func numberByte(c byte) bool {
	return '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// stringEnd returns the index just past the JSON string that starts at
// b[i], and whether it holds escapes, or an error for an escape that does
// not read back as written (see inspect).
func stringEnd(b []byte, i int) (end int, escaped bool, err error) {
	quote := -1 // index of the next '"' from j on, once known
	for j := i + 1; ; {
		if quote < j {
			q := bytes.IndexByte(b[j:], '"')
			if q < 0 {
				return 0, false, errMalformed
			}
			quote = j + q
		}
		e := bytes.IndexByte(b[j:quote], '\\')
		if e < 0 {
			return quote + 1, escaped, nil
		}
		escaped = true
		j += e
		if j+1 >= len(b) {
			return 0, false, errMalformed
		}
		if b[j+1] != 'u' {
			j += 2 // \" \\ \/ \b \f \n \r \t
			continue
		}
		r, ok := hex4(b, j+2)
		switch {
		case !ok:
			return 0, false, errMalformed
		case r == utf8.RuneError:
			return 0, false, errInvalidUTF8
		case 0xdc00 <= r && r <= 0xdfff:
			return 0, false, errSurrogate
		case 0xd800 <= r && r <= 0xdbff:
			// Only a low surrogate escape may follow.
			if j+7 >= len(b) || b[j+6] != '\\' || b[j+7] != 'u' {
				return 0, false, errSurrogate
			}
			if lo, ok := hex4(b, j+8); !ok || lo < 0xdc00 || lo > 0xdfff {
				return 0, false, errSurrogate
			}
			j += 12
		default:
			j += 6
		}
	}
}

// hex4 returns the value of the four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// key returns the object key quoted in q (with its quotes), decoded: "a"
// and "\u0061" are the same key, as decoders see them.
func key(q []byte, escaped bool) ([]byte, error) {
	if !escaped {
		return q[1 : len(q)-1], nil
	}
	var k string
	if err := json.Unmarshal(q, &k); err != nil {
		return nil, errMalformed
	}
	return []byte(k), nil
}

// vaultKeeps reports whether the JSON number n reads back from Vault's
// KV v2 engine spelled as it is: Vault decodes what it stores into
// float64 and encodes it again with encoding/json.
func vaultKeeps(n []byte) bool {
	digits := n
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) <= 15 && allDigits(digits) {
		return true // an integer below 10^15 < 2^53: float64 holds it, and prints it the same
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return false // out of range: Vault could not even decode it
	}
	var buf [32]byte
	return bytes.Equal(appendVaultFloat(buf[:0], f), n)
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// appendVaultFloat appends f as encoding/json encodes a float64 (and so
// as Vault returns it): the shortest decimal that reads back as f, in 'f'
// format for exponents from -6 to 20 and in 'e' format, with at least two
// exponent digits only when positive, otherwise.
func appendVaultFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// decodeSecret decodes the JSON object stored in KV v2 into a Secret,
// keeping numbers exact and opening the exact-JSON envelope. An error
// about what Vault holds matches ErrUndecodable and never quotes it.
func decodeSecret(raw []byte) (Secret, error) {
	s, err := decodeObject(raw)
	if err != nil {
		return nil, undecodable("vault returned a secret value that is not one JSON object")
	}
	// The envelope is exactly one key. A value whose top-level keys
	// include exactKey is never stored field by field by this SDK, so
	// any other shape is a value of its own.
	exact, ok := s[exactKey].(string)
	if !ok || len(s) != 1 {
		return s, nil
	}
	v, err := decodeObject([]byte(exact))
	if err != nil {
		return nil, undecodable("vault returned an exact-JSON envelope (" + exactKey + ") that does not hold one JSON object")
	}
	return v, nil
}

// undecodable is an error about a value Vault holds that this SDK cannot
// decode. It matches ErrUndecodable, and its message says what is wrong
// without repeating ErrUndecodable's, so that an *Error of that Kind
// reads "...: stored value cannot be decoded: vault returned ...".
type undecodable string

func (e undecodable) Error() string { return string(e) }

// Is reports whether target is ErrUndecodable.
func (e undecodable) Is(target error) bool { return target == ErrUndecodable }

// decodeObject decodes exactly one JSON object, with numbers as
// json.Number: anything else (another JSON value, invalid JSON, data
// after the object, nesting deeper than encoding/json decodes) is an
// error.
func decodeObject(raw []byte) (Secret, error) {
	var s Secret
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&s); err != nil || s == nil {
		return nil, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
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
// or an error that does not quote the body. An answer holding no value,
// or one the SDK cannot decode, is an error matching ErrUndecodable.
// (Vault answers a missing or deleted secret with a 404, before any body
// is decoded.)
func decodeKVResponse(r io.Reader) (Secret, error) {
	var body kvResponse
	dec := json.NewDecoder(r)
	if err := dec.Decode(&body); err != nil {
		return nil, errors.New("vault returned a body that is not a JSON object of the KV version 2 shape")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("vault returned a body with data after its JSON object")
	}
	if body.Data == nil || len(body.Data.Data) == 0 || string(body.Data.Data) == "null" {
		return nil, undecodable("vault returned no secret value")
	}
	return decodeSecret(body.Data.Data)
}
