package edge

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/edgesdk/edge/internal/names"
)

// Format implements fmt.Formatter so that printing a Secret never shows
// its values: every verb (%v, %+v, %#v, %s, %q, %x, %d, ...) prints its
// keys, sorted, each with <redacted> in place of its value, as in
//
//	edge.Secret{password:<redacted>, user:<redacted>}
//
// A key that is not made of ASCII letters, digits, '-', '_' and '.' is
// printed quoted, with Go escapes. fmt calls Format for a Secret wherever
// it can call methods: as an argument, behind a pointer, as an element of
// a slice, array or map, and in an exported struct field. It cannot in an
// unexported struct field, nor inside a struct or array printed with a
// verb that does not apply to it (fmt.Sprintf("%p", aStruct) prints
// "%!p(...)" without calling methods): there fmt prints the plain map, and
// so every value. Keep a Secret in an exported field, or give the struct
// a Format or String method of its own, before printing it. Reveal gives
// the values for printing on purpose.
//
// The JSON encoding of a Secret is its values, unchanged (writes use it):
// a logger that encodes with encoding/json (slog's JSONHandler for a
// Secret nested in another value, zap.Any, logrus's JSONFormatter) prints
// them.
func (s Secret) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, s.redacted())
}

// GoString returns s as Format prints it, without its values.
func (s Secret) GoString() string { return s.redacted() }

// LogValue implements slog.LogValuer: log/slog shows s as Format prints
// it, its keys without its values.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.redacted()) }

// Reveal returns s as a plain map, which fmt and log/slog print in full:
// the way to print a secret's values on purpose. It is s itself, not a
// copy. (Reading values needs no Reveal: s["password"] is the value.)
func (s Secret) Reveal() map[string]any { return s }

// redacted returns s's keys, sorted, with every value replaced. It does
// not call fmt on s, which would call Format again.
func (s Secret) redacted() string {
	if s == nil {
		return "edge.Secret(nil)"
	}
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString("edge.Secret{")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		if plainKey(k) {
			b.WriteString(k)
		} else {
			b.WriteString(strconv.QuoteToASCII(k))
		}
		b.WriteString(":<redacted>")
	}
	b.WriteByte('}')
	return b.String()
}

// plainKey reports whether k prints unquoted: ASCII letters, digits,
// '-', '_' and '.', nothing that could be mistaken for the printed form's
// punctuation or forge a line of a log.
func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !names.NameByte(c) && c != '.' {
			return false
		}
	}
	return true
}
