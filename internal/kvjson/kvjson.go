// Package kvjson is the one-pass JSON codec of secret values as KV v2
// stores them: encoding (with a hand-written encoder for the usual types),
// the checks that a value reads back from Vault exactly as written, the
// exact-JSON envelope, the size limit, and decoding of Vault's answers
// (with a one-pass decoder, checked against encoding/json). It imports
// nothing from vault/api: package edge calls it through the functions in
// api.go, whose doc comments state what is validated where and what a
// caller may assume.
package kvjson

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	namerules "github.com/edgesdk/edge/internal/names"
)

// MaxValueSize is the largest secret value Store accepts, in bytes of
// JSON as stored in KV v2: the value's JSON encoding, or its exact-JSON
// envelope when it needs one. It is edge.MaxValueSize, whose doc comment
// says why it is 1,000,000 (Vault's 1 MiB storage entries and JSON
// strings).
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
func kvValue[M ~map[string]any](s M) ([]byte, error) {
	encoded, envelope, err := encode(s)
	if err != nil {
		return nil, err
	}
	stored := encoded
	if envelope {
		// json.Marshal(map[string]string{exactKey: string(encoded)}),
		// without copying encoded into a string first.
		stored = make([]byte, 0, len(encoded)+len(encoded)/8+len(exactKey)+8)
		stored = append(stored, `{"`+exactKey+`":`...)
		stored = append(appendJSONString(stored, encoded), '}')
	}
	if len(stored) > MaxValueSize {
		return nil, fmt.Errorf("secret value takes %d bytes of JSON in the exact-JSON envelope it needs, more than MaxValueSize (%d)", len(stored), MaxValueSize)
	}
	return stored, nil
}

// encodeSecret returns the JSON encoding of s, or an error explaining why
// s cannot be stored unchanged (see encode). The error never quotes the
// value.
func encodeSecret[M ~map[string]any](s M) ([]byte, error) {
	b, _, err := encode(s)
	return b, err
}

// encode returns the JSON encoding of s and whether it must be stored in
// the exact-JSON envelope, or an error explaining why s cannot be stored
// unchanged: s is nil; it holds a value encoding/json refuses (a func, a
// channel, NaN, ±Inf, a cycle); its encoding is larger than MaxValueSize
// or nested deeper than maxDepth; or its encoding would decode to
// something else (see inspect). The error never quotes the value.
func encode[M ~map[string]any](s M) (b []byte, envelope bool, err error) {
	if s == nil {
		return nil, false, errors.New("secret value is nil")
	}
	b, err = marshal(s)
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
func decodeSecret(raw []byte) (map[string]any, error) {
	s, err := decodeObject(raw)
	if err != nil {
		return nil, Undecodable("vault returned a secret value that is not one JSON object")
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
		return nil, Undecodable("vault returned an exact-JSON envelope (" + exactKey + ") that does not hold one JSON object")
	}
	return v, nil
}

// Undecodable is an error about a value Vault holds that this SDK cannot
// decode. It matches ErrUndecodable, and its message says what is wrong
// without repeating ErrUndecodable's, so that an *Error of that Kind
// reads "...: stored value cannot be decoded: vault returned ...".
type Undecodable string

func (e Undecodable) Error() string { return string(e) }

// Is reports whether target is ErrUndecodable.
func (e Undecodable) Is(target error) bool { return target == ErrUndecodable }

// ErrUndecodable matches every Undecodable error. Package edge maps
// Undecodable errors onto its own sentinel, edge.ErrUndecodable.
var ErrUndecodable = errors.New("stored value cannot be decoded")

// decodeObject decodes exactly one JSON object, with numbers as
// json.Number: anything else (another JSON value, invalid JSON, data
// after the object, nesting deeper than encoding/json decodes) is an
// error.
func decodeObject(raw []byte) (map[string]any, error) {
	if s, ok := fastObject(raw); ok {
		return s, nil
	}
	return decodeObjectJSON(raw)
}

// decodeObjectJSON is decodeObject with encoding/json alone: what
// fastObject must match, and the answer (or the error) whenever
// fastObject is not sure.
func decodeObjectJSON(raw []byte) (map[string]any, error) {
	var s map[string]any
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
//
// It reads the body into a pooled buffer and decodes it in one pass
// (fastKVResponse); a body fastKVResponse is not sure of, or one larger
// than fastBodyLimit, goes to encoding/json (decodeKVResponseJSON),
// whose answer or error stands. Either way the result is the same.
func decodeKVResponse(r io.Reader) (map[string]any, error) {
	return decodeBody(r, fastKVResponse, decodeKVResponseJSON)
}

// decodeBody reads the body r into a pooled buffer and decodes it with
// fast; a body fast is not sure of goes to slow, whose answer or error
// stands, and so does one larger than fastBodyLimit or cut short (the
// caller sees the read error): what was read, then the rest, as a
// stream.
func decodeBody[T any](r io.Reader, fast func([]byte) (T, bool), slow func(io.Reader) (T, error)) (T, error) {
	rb := bodyPool.Get().(*readBuffer)
	defer rb.release()
	rb.limited = io.LimitedReader{R: r, N: fastBodyLimit + 1}
	_, err := rb.buf.ReadFrom(&rb.limited)
	rb.limited.R = nil
	if err == nil && rb.buf.Len() <= fastBodyLimit {
		if v, ok := fast(rb.buf.Bytes()); ok {
			return v, nil
		}
		return slow(bytes.NewReader(rb.buf.Bytes()))
	}
	return slow(io.MultiReader(bytes.NewReader(rb.buf.Bytes()), r))
}

// fastBodyLimit is the largest body decodeKVResponse (and
// decodeListResponse) reads into a buffer for the fast decoder: a value of MaxValueSize bytes as stored, in Vault's
// answer, takes a little more than MaxValueSize.
const fastBodyLimit = 2 << 20

// readBuffer is a pooled buffer for a response body.
type readBuffer struct {
	buf     bytes.Buffer
	limited io.LimitedReader
}

var bodyPool = sync.Pool{New: func() any { return new(readBuffer) }}

// release returns rb to the pool, unless it grew beyond what a body of
// fastBodyLimit bytes needs. Nothing decoded refers to its bytes.
func (rb *readBuffer) release() {
	if rb.buf.Cap() > 2*fastBodyLimit {
		return
	}
	rb.buf.Reset()
	bodyPool.Put(rb)
}

// decodeKVResponseJSON is decodeKVResponse with encoding/json alone:
// what fastKVResponse must match, and the answer (or the error) whenever
// fastKVResponse is not sure.
func decodeKVResponseJSON(r io.Reader) (map[string]any, error) {
	var body kvResponse
	dec := json.NewDecoder(r)
	if err := dec.Decode(&body); err != nil {
		return nil, errors.New("vault returned a body that is not a JSON object of the KV version 2 shape")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("vault returned a body with data after its JSON object")
	}
	if body.Data == nil || len(body.Data.Data) == 0 || string(body.Data.Data) == "null" {
		return nil, Undecodable("vault returned no secret value")
	}
	return decodeSecret(body.Data.Data)
}

// The fast decoder below reads the JSON Vault returns in one pass over a
// byte slice, allocating only what it returns. Its results are exactly
// those of encoding/json's Decoder with UseNumber (objects as
// map[string]any, arrays as []any, numbers as json.Number, strings
// unquoted with invalid UTF-8 and lone surrogate escapes replaced by
// U+FFFD, the last of two equal keys kept, at most maxDepth levels), and
// it reports ok false for anything it is not sure of, invalid JSON
// included: the caller then asks encoding/json, whose answer or error
// stands. encoding/json scans every value twice and the SDK decoded the
// value twice more (once as a json.RawMessage inside the body, once into
// the Secret); this is about ten times faster (BENCHMARKS.md).
// FuzzFastDecode checks it against encoding/json.

// fastJSON is the state of one decoding.
type fastJSON struct {
	b     []byte
	i     int // next byte
	depth int // open objects and arrays, as encoding/json counts them
}

// fastObject decodes raw, which must hold exactly one JSON object and
// white space, as decodeObjectJSON does.
func fastObject(raw []byte) (map[string]any, bool) {
	d := fastJSON{b: raw}
	d.space()
	m, ok := d.object()
	if !ok {
		return nil, false
	}
	d.space()
	if d.i != len(raw) {
		return nil, false
	}
	return m, true
}

// dataKey is the name of the members that lead to a KV v2 value:
// {"data": {"data": <value>}}.
var dataKey = []byte("data")

// keysKey is the name of the member of a list's "data" that holds the
// names.
var keysKey = []byte("keys")

// member reads the object at d.b[d.i], skipping its members but the one
// named name, which value decodes, and reports whether it was there. It
// is not sure (ok false), and leaves the body to encoding/json, for a key
// with escapes, a second member named name, and with fold another
// spelling of name, which encoding/json's case-insensitive match of a
// struct field would take or merge.
func (d *fastJSON) member(name []byte, fold bool, value func() bool) (found, ok bool) {
	ok = d.members(func(key []byte, escaped bool) bool {
		switch {
		case escaped || fold && !bytes.Equal(key, name) && bytes.EqualFold(key, name):
			return false
		case !bytes.Equal(key, name):
			return d.skip()
		case found:
			return false
		}
		found = true
		return value()
	})
	return found, ok
}

// fastKVResponse decodes body, a KV v2 read's answer, as
// decodeKVResponseJSON does when it succeeds. encoding/json matches
// struct fields case-insensitively and merges a member given twice, so a
// body with two "data" members, or one spelled otherwise, is left to it.
func fastKVResponse(body []byte) (map[string]any, bool) {
	d := fastJSON{b: body}
	d.space()
	var value map[string]any
	var seenValue bool
	_, ok := d.member(dataKey, true, func() bool {
		var ok bool
		seenValue, ok = d.member(dataKey, true, func() bool {
			var ok bool
			value, ok = d.object()
			return ok
		})
		return ok
	})
	if !ok || !seenValue {
		return nil, false
	}
	d.space()
	if d.i != len(body) {
		return nil, false
	}
	// The exact-JSON envelope, as decodeSecret opens it.
	s := value
	exact, isString := s[exactKey].(string)
	if !isString || len(s) != 1 {
		return s, true
	}
	return fastObject([]byte(exact))
}

// space skips white space.
func (d *fastJSON) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// enter opens an object or array at d.b[d.i].
func (d *fastJSON) enter() bool {
	d.i++
	d.depth++
	return d.depth <= maxDepth
}

// next is called after a member or element: it skips the ',' before
// the next one and reports more, or the closing byte and reports done.
func (d *fastJSON) next(closing byte) (more, ok bool) {
	d.space()
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case ',':
			d.i++
			d.space()
			return true, true
		case closing:
			d.i++
			d.depth--
			return false, true
		}
	}
	return false, false
}

// colon skips the ':' after a key and the white space around it.
func (d *fastJSON) colon() bool {
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != ':' {
		return false
	}
	d.i++
	d.space()
	return true
}

// members walks the object at d.b[d.i] without decoding it: f gets each
// key as written (without its quotes; escaped if it holds an escape)
// with d.i at its value, which f must consume.
func (d *fastJSON) members(f func(key []byte, escaped bool) bool) bool {
	if d.i >= len(d.b) || d.b[d.i] != '{' || !d.enter() {
		return false
	}
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		d.depth--
		return true
	}
	for {
		start := d.i + 1
		end, escaped, ok := d.stringEnd()
		if !ok || !d.colon() || !f(d.b[start:end-1], escaped) {
			return false
		}
		more, ok := d.next('}')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// elements walks the array at d.b[d.i] without decoding it: f is called
// with d.i at each element, which it must consume.
func (d *fastJSON) elements(f func() bool) bool {
	if d.i >= len(d.b) || d.b[d.i] != '[' || !d.enter() {
		return false
	}
	d.space()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		d.depth--
		return true
	}
	for {
		if !f() {
			return false
		}
		more, ok := d.next(']')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// object decodes the object at d.b[d.i].
func (d *fastJSON) object() (map[string]any, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '{' || !d.enter() {
		return nil, false
	}
	m := map[string]any{}
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		d.depth--
		return m, true
	}
	for {
		k, ok := d.string()
		if !ok || !d.colon() {
			return nil, false
		}
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		m[k] = v
		more, ok := d.next('}')
		if !ok {
			return nil, false
		}
		if !more {
			return m, true
		}
	}
}

// array decodes the array at d.b[d.i].
func (d *fastJSON) array() ([]any, bool) {
	if !d.enter() {
		return nil, false
	}
	a := []any{}
	d.space()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		d.depth--
		return a, true
	}
	for {
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		a = append(a, v)
		more, ok := d.next(']')
		if !ok {
			return nil, false
		}
		if !more {
			return a, true
		}
	}
}

// value decodes the value at d.b[d.i].
func (d *fastJSON) value() (any, bool) {
	if d.i >= len(d.b) {
		return nil, false
	}
	switch c := d.b[d.i]; c {
	case '{':
		m, ok := d.object()
		return m, ok
	case '[':
		a, ok := d.array()
		return a, ok
	case '"':
		s, ok := d.string()
		return s, ok
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		start := d.i
		if !d.number() {
			return nil, false
		}
		return json.Number(d.b[start:d.i]), true
	}
}

// skip checks the value at d.b[d.i] and moves past it, decoding nothing.
func (d *fastJSON) skip() bool {
	if d.i >= len(d.b) {
		return false
	}
	switch d.b[d.i] {
	case '{':
		return d.members(func([]byte, bool) bool { return d.skip() })
	case '[':
		return d.elements(d.skip)
	case '"':
		_, _, ok := d.stringEnd()
		return ok
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	default:
		return d.number()
	}
}

// literal moves past lit if d.b holds it at d.i. What follows it is
// checked by the caller, as for every value.
func (d *fastJSON) literal(lit string) bool {
	if len(d.b)-d.i < len(lit) || string(d.b[d.i:d.i+len(lit)]) != lit {
		return false
	}
	d.i += len(lit)
	return true
}

// number moves past the JSON number at d.b[d.i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *fastJSON) number() bool {
	b, i := d.b, d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return false
		}
		i = j
	}
	d.i = i
	return true
}

// digits returns the index of the first byte from b[i] on that is not a
// decimal digit.
func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// string decodes the string at d.b[d.i].
func (d *fastJSON) string() (string, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", false
	}
	start := d.i + 1
	if j := plainRun(d.b, start); j < len(d.b) && d.b[j] == '"' {
		d.i = j + 1
		return string(d.b[start:j]), true
	}
	end, _, ok := d.stringEnd()
	if !ok {
		return "", false
	}
	return unquote(d.b[start : end-1]), true
}

// plainRun returns the index of the first byte of b from b[i] on that is
// '"', '\\', a control character or not ASCII, or len(b): the bytes
// before it stand for themselves inside a JSON string. It looks at eight
// bytes at a time.
func plainRun(b []byte, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (ones * '"')
		bs := x ^ (ones * '\\')
		// A high bit for every byte that is zero in q or bs, below 0x20
		// in x, or 0x80 and above in x (the classic bit tricks; exact
		// for whether some byte is, which is all this asks).
		if ((q-ones)&^q|(bs-ones)&^bs|(x-ones*' ')&^x|x)&highs != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < ' ' || c >= utf8.RuneSelf {
			return i
		}
	}
	return i
}

// stringEnd moves past the string at d.b[d.i], checking it as
// encoding/json's scanner does (no control characters, only its escapes),
// and returns the index after its closing quote and whether it holds an
// escape.
func (d *fastJSON) stringEnd() (end int, escaped, ok bool) {
	b := d.b
	if d.i >= len(b) || b[d.i] != '"' {
		return 0, false, false
	}
	for j := d.i + 1; j < len(b); {
		j = plainRun(b, j)
		if j == len(b) {
			break
		}
		switch c := b[j]; {
		case c == '"':
			d.i = j + 1
			return j + 1, escaped, true
		case c < ' ':
			return 0, false, false
		case c == '\\':
			escaped = true
			if j+1 >= len(b) {
				return 0, false, false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if _, ok := hex4(b, j+2); !ok {
					return 0, false, false
				}
				j += 6
			default:
				return 0, false, false
			}
		default:
			j++
		}
	}
	return 0, false, false
}

// unquote returns the contents of a JSON string (without its quotes)
// that stringEnd checked, as encoding/json unquotes it: escapes
// replaced, a surrogate escape not followed by its pair replaced with
// U+FFFD, and every byte of invalid UTF-8 too.
func unquote(s []byte) string {
	b := make([]byte, 0, len(s)+utf8.UTFMax)
	for r := 0; r < len(s); {
		if j := plainRun(s, r); j > r {
			b = append(b, s[r:j]...)
			r = j
			continue
		}
		switch c := s[r]; {
		case c == '\\':
			switch e := s[r+1]; e {
			case 'u':
				rr, _ := hex4(s, r+2)
				r += 6
				if utf16.IsSurrogate(rr) {
					lo := rune(-1) // the next escape, if there is one
					if r+1 < len(s) && s[r] == '\\' && s[r+1] == 'u' {
						if v, ok := hex4(s, r+2); ok {
							lo = v
						}
					}
					if dec := utf16.DecodeRune(rr, lo); dec != unicode.ReplacementChar {
						rr = dec // a pair: consumed
						r += 6
					} else {
						rr = unicode.ReplacementChar
					}
				}
				b = utf8.AppendRune(b, rr)
			case 'b':
				b = append(b, '\b')
				r += 2
			case 'f':
				b = append(b, '\f')
				r += 2
			case 'n':
				b = append(b, '\n')
				r += 2
			case 'r':
				b = append(b, '\r')
				r += 2
			case 't':
				b = append(b, '\t')
				r += 2
			default: // '"', '\\', '/'
				b = append(b, e)
				r += 2
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			b = utf8.AppendRune(b, rr)
			r += size
		}
	}
	return string(b)
}

// decodeListResponse returns the secret names in the body of a KV v2
// list (GET <mount>/metadata/<folder>?list=true): the strings of
// data.keys that are valid names, sorted. A key ending in '/' is a folder
// some other tool made below the scope: it is not a secret of ours. The
// error, for a body that is not a JSON object, does not quote the body.
//
// vault/api's Logical().List decodes the whole answer into
// map[string]any, each name boxed in an interface; this decodes the
// names alone, as decodeKVResponse decodes a value: in one pass from a
// pooled buffer (fastListResponse), or with encoding/json
// (decodeListResponseJSON) when fastListResponse is not sure, with the
// same result.
func decodeListResponse(r io.Reader) ([]string, error) {
	return decodeBody(r, func(body []byte) ([]string, bool) {
		names, ok := fastListResponse(body)
		if ok {
			sort.Strings(names) // Vault sorts them already: one pass
		}
		return names, ok
	}, decodeListResponseJSON)
}

// decodeListResponseJSON is decodeListResponse with encoding/json alone:
// data.keys is read from the body's first JSON value, "data" matched
// case-insensitively and decoded as a map[string]any with UseNumber, as
// vault/api decodes a secret's data (unlike vault/api, the body's other
// members are not checked against api.Secret's field types).
func decodeListResponseJSON(r io.Reader) ([]string, error) {
	var body struct {
		Data map[string]any `json:"data"`
	}
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		return nil, errors.New("vault returned a list that is not a JSON object")
	}
	keys, _ := body.Data["keys"].([]any)
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		if name, ok := k.(string); ok && namerules.Valid(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// fastListResponse decodes body, a KV v2 list's answer, as
// decodeListResponseJSON does when it succeeds, but for the sorting.
func fastListResponse(body []byte) ([]string, bool) {
	d := fastJSON{b: body}
	d.space()
	names := []string{}
	_, ok := d.member(dataKey, true, func() bool {
		_, ok := d.member(keysKey, false, func() bool {
			var ok bool
			names, ok = d.names()
			return ok
		})
		return ok
	})
	return names, ok
}

// names decodes the valid names among the strings of the array at
// d.b[d.i], counting its elements first to allocate the slice once.
func (d *fastJSON) names() ([]string, bool) {
	start, depth := d.i, d.depth
	n := 0
	if !d.elements(func() bool { n++; return d.skip() }) {
		return nil, false
	}
	d.i, d.depth = start, depth
	names := make([]string, 0, n)
	ok := d.elements(func() bool {
		if d.i < len(d.b) && d.b[d.i] != '"' {
			return d.skip()
		}
		name, ok := d.string()
		if ok && namerules.Valid(name) {
			names = append(names, name)
		}
		return ok
	})
	return names, ok
}

// marshal returns json.Marshal(s), writing it itself (appendJSON) when s
// holds only the types a secret value usually does, about three times
// faster than encoding/json's reflection, which writes the rest.
func marshal[M ~map[string]any](s M) ([]byte, error) {
	buf := encodePool.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= 2*MaxValueSize {
			encodePool.Put(buf)
		}
	}()
	b, ok := appendJSON[M]((*buf)[:0], s, 0)
	*buf = b[:0]
	if !ok {
		return json.Marshal(s)
	}
	return bytes.Clone(b), nil
}

var encodePool = sync.Pool{New: func() any { return new([]byte) }}

// appendJSONDepth bounds the nesting appendJSON writes: deeper values
// (and cycles) go to json.Marshal.
const appendJSONDepth = 64

// appendJSON appends v to b as json.Marshal writes it (map keys sorted,
// strings escaped with HTML escaping, invalid UTF-8 as \ufffd, floats as
// encoding/json formats them), for nil, string, bool, json.Number,
// float64, int, int32, int64, uint, uint64, M (the caller's object type,
// edge.Secret), map[string]any,
// map[string]string, []any and []string (exactly these types: a named
// type, which may have its own MarshalJSON or MarshalText, is not one of
// them), nested at most appendJSONDepth levels. It reports ok false for
// anything else, and for what json.Marshal refuses (NaN, ±Inf, an invalid
// json.Number): the caller then asks json.Marshal, and discards what
// appendJSON appended. FuzzFastEncode checks it against json.Marshal.
func appendJSON[M ~map[string]any](b []byte, v any, depth int) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		return appendJSONString(b, v), true
	case bool:
		return strconv.AppendBool(b, v), true
	case json.Number:
		if v == "" {
			return append(b, '0'), true
		}
		if !validNumber(string(v)) {
			return b, false
		}
		return append(b, v...), true
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return b, false
		}
		return appendVaultFloat(b, v), true
	case int:
		return strconv.AppendInt(b, int64(v), 10), true
	case int64:
		return strconv.AppendInt(b, v, 10), true
	case int32:
		return strconv.AppendInt(b, int64(v), 10), true
	case uint:
		return strconv.AppendUint(b, uint64(v), 10), true
	case uint64:
		return strconv.AppendUint(b, v, 10), true
	case M:
		return appendJSONObject[M](b, map[string]any(v), depth)
	case map[string]any:
		return appendJSONObject[M](b, v, depth)
	case map[string]string:
		if v == nil {
			return append(b, "null"...), true
		}
		if depth >= appendJSONDepth {
			return b, false
		}
		keys := sortedKeys(v)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, v[k])
		}
		return append(b, '}'), true
	case []any:
		if v == nil {
			return append(b, "null"...), true
		}
		if depth >= appendJSONDepth {
			return b, false
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendJSON[M](b, e, depth+1); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case []string:
		if v == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, e)
		}
		return append(b, ']'), true
	}
	return b, false
}

// appendJSONObject is appendJSON for a map[string]any (or an M) at
// the given depth.
func appendJSONObject[M ~map[string]any](b []byte, m map[string]any, depth int) ([]byte, bool) {
	if m == nil {
		return append(b, "null"...), true
	}
	if depth >= appendJSONDepth {
		return b, false
	}
	keys := sortedKeys(m)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		var ok bool
		if b, ok = appendJSON[M](b, m[k], depth+1); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// sortedKeys returns m's keys in increasing order, as json.Marshal
// writes them.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// appendJSONString appends s quoted as json.Marshal quotes it: '"' and
// '\\' escaped, control characters as \b \f \n \r \t or \u00XX, '<',
// '>' and '&' as \u003c \u003e \u0026, U+2028 and U+2029 as \u2028 and
// \u2029, and each byte of invalid UTF-8 as \ufffd.
func appendJSONString[S string | []byte](b []byte, s S) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		i = safeRun(s, i)
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)])) // no copy: it does not escape
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// safeRun returns the index of the first byte of s from s[i] on that
// json.Marshal does not copy as it is ('"', '\\', '<', '>', '&', a control
// character, or not ASCII), or len(s). It looks at eight bytes at a time.
func safeRun[S string | []byte](s S, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	zero := func(v uint64) uint64 { return (v - ones) &^ v }
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if (x|(x-ones*' ')&^x|zero(x^(ones*'"'))|zero(x^(ones*'\\'))|zero(x^(ones*'<'))|zero(x^(ones*'>'))|zero(x^(ones*'&')))&highs != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return i
		}
	}
	return i
}

// validNumber reports whether s is a JSON number, as json.Marshal checks
// a json.Number.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i++; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for ; j < len(s) && '0' <= s[j] && s[j] <= '9'; j++ {
		}
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for ; j < len(s) && '0' <= s[j] && s[j] <= '9'; j++ {
		}
		if j == i {
			return false
		}
		i = j
	}
	return i == len(s)
}
