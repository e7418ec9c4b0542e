package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/edgesdk/edge"
)

// Limits on what is read from a file or standard input.
const (
	// maxValueInput leaves room above edge.MaxValueSize for whitespace;
	// the SDK refuses a value over MaxValueSize as stored.
	maxValueInput = 4 << 20
	// maxTokenInput is far above any wrapping token, or wrap's JSON
	// output.
	maxTokenInput = 64 << 10
)

// input is where a command reads its value or token: a file, or
// standard input.
type input struct {
	stdin  io.Reader
	file   string    // --file; "" or "-": standard input
	stderr io.Writer // for the prompt when standard input is a terminal
}

// source names the input in messages.
func (in input) source() string {
	if in.file == "" || in.file == "-" {
		return "standard input"
	}
	return "file " + in.file
}

// read returns the whole input, at most max bytes, with an error that
// never quotes it.
func (in input) read(max int64, what string) ([]byte, error) {
	r := in.stdin
	if in.file != "" && in.file != "-" {
		f, err := os.Open(in.file)
		if err != nil {
			// Without the path, which a token typed after --file would
			// be: only the cause, which matches fs.ErrNotExist and the
			// like.
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("reading the %s: --file: %w", what, err)
		}
		defer f.Close()
		r = f
	} else if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintf(in.stderr, "reading the %s from standard input (end it with Ctrl-D)\n", what)
		}
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading the %s from %s: %w", what, in.source(), err)
	}
	if int64(len(b)) > max {
		return nil, inputErrorf("the %s on %s is larger than %d bytes; nothing was sent", what, in.source(), max)
	}
	return b, nil
}

// readValue reads a secret's value: one JSON object. Empty input,
// invalid JSON (or UTF-8), a JSON value that is not an object and an
// object that would not be stored unchanged (a key twice, an unpaired
// surrogate escape) are refused with exit code 5. The messages say where
// the input is wrong, never what it holds. Numbers keep their spelling:
// they become json.Numbers, which Create and Update store exactly.
func readValue(in input) (edge.Secret, error) {
	b, err := in.read(maxValueInput, "value")
	if err != nil {
		return nil, err
	}
	return parseValue(b, in.source())
}

// valueHint says what a value looks like, for the messages of refused
// input.
const valueHint = `a JSON object, such as {"password": "..."}`

func parseValue(b []byte, source string) (edge.Secret, error) {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 {
		return nil, inputErrorf("no value: %s is empty; give the value, %s, on standard input or with --file; nothing was sent", source, valueHint)
	}
	if !utf8.Valid(trimmed) {
		return nil, inputErrorf("the value on %s is not valid UTF-8 (byte %d); nothing was sent", source, invalidUTF8At(b))
	}
	if !json.Valid(trimmed) {
		return nil, inputErrorf("the value on %s is not valid JSON (%s); give %s; nothing was sent", source, syntaxErrorAt(b), valueHint)
	}
	if kind := jsonKind(trimmed[0]); kind != "object" {
		return nil, inputErrorf("the value on %s is a JSON %s, not a JSON object; give %s; nothing was sent", source, kind, valueHint)
	}
	s, err := edge.SecretOf(json.RawMessage(trimmed))
	if err != nil {
		// The SDK's cause says what is wrong, never quoting the value.
		cause := err.Error()
		var ee *edge.Error
		if errors.As(err, &ee) && ee.Err != nil {
			cause = ee.Err.Error()
		}
		return nil, inputErrorf("the value on %s cannot be stored as written: %s; nothing was sent", source, cause)
	}
	return s, nil
}

// syntaxErrorAt says where encoding/json finds b invalid, without its
// text, which quotes a character of the input.
func syntaxErrorAt(b []byte) string {
	var se *json.SyntaxError
	if err := json.Unmarshal(b, new(json.RawMessage)); errors.As(err, &se) {
		if se.Offset >= int64(len(b)) {
			return fmt.Sprintf("it ends early, at byte %d", len(b))
		}
		return fmt.Sprintf("syntax error at byte %d of %d", se.Offset, len(b))
	}
	return fmt.Sprintf("%d bytes", len(b))
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// jsonKind names the kind of the JSON value starting with c.
func jsonKind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// readToken reads a wrapping token: the token alone, or the JSON object
// wrap prints (its "token" field). Empty input and input that holds
// anything else are refused with exit code 7, without quoting it.
func readToken(in input) (string, error) {
	b, err := in.read(maxTokenInput, "wrapping token")
	if err != nil {
		return "", err
	}
	return parseToken(b, in.source())
}

func parseToken(b []byte, source string) (string, error) {
	text := strings.TrimSpace(string(b))
	switch {
	case text == "":
		return "", tokenErrorf("no wrapping token: %s is empty; give the token, or wrap's JSON output, on standard input or with --file", source)
	case strings.HasPrefix(text, "{"):
		var w struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal([]byte(text), &w); err != nil || strings.TrimSpace(w.Token) == "" {
			return "", tokenErrorf(`%s holds JSON, but not wrap's output with a "token" string`, source)
		}
		text = strings.TrimSpace(w.Token)
	}
	if len(strings.Fields(text)) != 1 {
		return "", tokenErrorf("%s holds more than one word; give the wrapping token alone, or wrap's JSON output", source)
	}
	// A wrapping token is printable ASCII. vault/api refuses any other
	// (a control byte, as a header value) with an error of its own,
	// before any request: the token is invalid, exit 7, not a failure.
	for i := 0; i < len(text); i++ {
		if text[i] < 0x21 || text[i] > 0x7e {
			return "", tokenErrorf("%s does not hold a wrapping token (byte %d is not printable ASCII)", source, i)
		}
	}
	return text, nil
}
