package errfmt

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

var (
	errGeneral = errors.New("general")
	errKind    = fmt.Errorf("specific: %w", errGeneral)
)

func TestWriteTail(t *testing.T) {
	for _, tt := range []struct {
		kind, cause error
		want        string
	}{
		{nil, nil, ""},
		{errGeneral, nil, ": general"},
		{nil, errors.New("a\n\tb"), ": a b"},
		{errGeneral, errors.New("cause"), ": general: cause"},
	} {
		var b strings.Builder
		WriteTail(&b, tt.kind, tt.cause)
		if b.String() != tt.want {
			t.Errorf("WriteTail(%v, %v) = %q, want %q", tt.kind, tt.cause, b.String(), tt.want)
		}
	}
}

func TestIs(t *testing.T) {
	if Is(nil, nil) || Is(nil, errGeneral) {
		t.Error("a nil kind matches nothing")
	}
	if !Is(errGeneral, errGeneral) || !Is(errKind, errGeneral) || !Is(errKind, errKind) {
		t.Error("a kind matches itself and what it wraps")
	}
	if Is(errGeneral, errKind) {
		t.Error("a general kind matches no more specific one")
	}
}

func TestQuoteUnwrap(t *testing.T) {
	if got := Quote("acme", true); got != `"acme"` {
		t.Errorf("Quote = %s", got)
	}
	if got := Quote("hvs.secret", false); got != Invalid {
		t.Errorf("Quote of an invalid name = %s", got)
	}
	cause := errors.New("cause")
	if Unwrap(errGeneral, cause) != cause || Unwrap(errGeneral, nil) != errGeneral || Unwrap(nil, nil) != nil {
		t.Error("Unwrap: the cause, else the kind")
	}
}
